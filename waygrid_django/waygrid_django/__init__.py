"""Django integration for the Waygrid Python SDK."""
