"""The example project: one view that starts the seed's workflow through the Waygrid outbox."""
