"""Runnable examples of the Waygrid Python SDK."""
