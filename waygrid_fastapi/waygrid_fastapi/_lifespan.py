"""One `WaygridClient` per app: the lifespan that owns it and the dependency that finds it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Final, TypedDict

from fastapi import Depends
from starlette.applications import Starlette
from starlette.requests import HTTPConnection

from waygrid.client import WaygridClient

from ._settings import WaygridSettings

__all__ = ["WaygridDep", "WaygridState", "get_waygrid", "waygrid_lifespan"]

_STATE_KEY: Final = "waygrid"


class WaygridState(TypedDict):
    """The lifespan state `waygrid_lifespan` yields: ``{"waygrid": <the client>}``."""

    waygrid: WaygridClient


@asynccontextmanager
async def waygrid_lifespan(
    app: Starlette,
    settings: WaygridSettings | None = None,
    *,
    client: WaygridClient | None = None,
) -> AsyncIterator[WaygridState]:
    """Create one `WaygridClient` at startup, share it with every request, close it at shutdown.

    The client is stored in the lifespan state (``request.state.waygrid``) and on
    ``app.state.waygrid``, where `get_waygrid` finds it. Use it as the app's lifespan, or enter
    it inside your own lifespan (yielding its state along with yours is optional, since
    ``app.state`` is set either way).

    Args:
        app: The application (FastAPI passes it when this is the lifespan).
        settings: Where to connect; by default read from ``WAYGRID_*`` variables at startup.
        client: A ready client to share instead of building one from the settings (a client
            with a test transport, say). It is closed at shutdown all the same.

    Yields:
        The lifespan state: ``{"waygrid": client}``.

    Raises:
        WaygridError: The settings are missing or malformed (raised at startup, so the app
            refuses to start rather than failing on the first request).

    Example:
        >>> app = FastAPI(lifespan=waygrid_lifespan)  # doctest: +SKIP

        Inside your own lifespan::

            @asynccontextmanager
            async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, object]]:
                async with waygrid_lifespan(app, WaygridSettings(base_url=URL)) as state:
                    async with open_database() as db:
                        yield {**state, "db": db}
    """
    if client is None:
        client = (settings if settings is not None else WaygridSettings.from_env()).create_client()
    setattr(app.state, _STATE_KEY, client)
    try:
        async with client:
            yield {_STATE_KEY: client}
    finally:
        # Later requests (an app served again without its lifespan) get get_waygrid's clear
        # error instead of a client that was closed.
        if getattr(app.state, _STATE_KEY, None) is client:
            delattr(app.state, _STATE_KEY)


async def get_waygrid(connection: HTTPConnection) -> WaygridClient:
    """The app's shared `WaygridClient`, for ``Depends(get_waygrid)`` (or use `WaygridDep`).

    A coroutine on purpose: FastAPI runs plain functions in a thread pool, which would cost a
    thread hop per request for a dictionary lookup.

    Raises:
        RuntimeError: `waygrid_lifespan` did not run; the message says how to fix that.
    """
    client = getattr(connection.state, _STATE_KEY, None)
    if client is None:
        client = getattr(connection.app.state, _STATE_KEY, None)
    if not isinstance(client, WaygridClient):
        raise RuntimeError(
            "No Waygrid client: the waygrid lifespan did not run. Create the app with "
            "FastAPI(lifespan=waygrid_lifespan) or enter `async with waygrid_lifespan(app)` in "
            "your own lifespan. In tests, use the TestClient as a context manager "
            "(`with TestClient(app) as client:`) so that the lifespan runs, or replace the "
            "client with app.dependency_overrides[get_waygrid]."
        )
    return client


WaygridDep = Annotated[WaygridClient, Depends(get_waygrid)]
"""A route parameter typed ``client: WaygridDep`` receives the app's shared `WaygridClient`."""
