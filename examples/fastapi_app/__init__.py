"""The seed's FastAPI example, written with `waygrid_fastapi`: one client per app."""
