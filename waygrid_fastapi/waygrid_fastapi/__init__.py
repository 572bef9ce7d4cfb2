"""FastAPI integration for the Waygrid Python SDK: one shared client, a dependency, error mapping.

Example:
    >>> from fastapi import FastAPI  # doctest: +SKIP
    >>> from waygrid_fastapi import WaygridDep, install_error_handlers, waygrid_lifespan
    >>> app = FastAPI(lifespan=waygrid_lifespan)
    >>> install_error_handlers(app)
    >>> @app.post("/workflow/start")
    ... async def start(data: dict[str, object], waygrid: WaygridDep) -> dict[str, str]:
    ...     result = await waygrid.submit(SPEC, payload=data)
    ...     return {"traversal_id": result.traversal_id, "status": "submitted"}
"""

from ._errors import install_error_handlers
from ._lifespan import WaygridDep, WaygridState, get_waygrid, waygrid_lifespan
from ._settings import WaygridSettings

__all__ = [
    "WaygridDep",
    "WaygridSettings",
    "WaygridState",
    "get_waygrid",
    "install_error_handlers",
    "waygrid_lifespan",
]
