"""FastAPI integration for the Waygrid Python SDK."""
