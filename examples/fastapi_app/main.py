"""The example FastAPI app: submits the seed's workflows through one shared `WaygridClient`.

Run it against a local dev server::

    waygrid dev                                   # in one terminal
    WAYGRID_BASE_URL=http://127.0.0.1:1337 uvicorn examples.fastapi_app.main:app
    curl -X POST localhost:8000/workflow/start -H 'content-type: application/json' -d '{"a": 1}'
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from waygrid import JoinStrategy, Node, RepeatPolicy, Spec, WaygridClient
from waygrid_fastapi import (
    WaygridDep,
    WaygridSettings,
    WaygridState,
    install_error_handlers,
    waygrid_lifespan,
)

__all__ = ["QUORUM_WORKFLOW", "START_WORKFLOW", "app", "create_app"]

# Specs are immutable values: build them once, not per request (the client also reuses the
# encoded JSON of a spec it has just sent).
START_WORKFLOW = Spec.single(
    entry_point=Node.standard("waygrid://processor/openai").on_success(
        Node.standard("waygrid://destination/webhook")
    ),
    repeat_policy=RepeatPolicy.NO_REPEAT,
)
"""The seed's FastAPI workflow: an OpenAI step, then a webhook."""

aggregate_results = (
    Node.standard("waygrid://processor/aggregate")
    .label("Aggregate Results")
    .on_success(Node.standard("waygrid://destination/webhook").label("Deliver Answer"))
)
handle_partial_results = Node.standard("waygrid://processor/partial-results").label(
    "Handle Partial Results"
)
join = (
    Node.join("waygrid://system/waystation")
    .join_id("multi-provider")
    .strategy(JoinStrategy.quorum(2))  # 2 of 3 required
    .timeout(timedelta(seconds=30))
    .on_success(aggregate_results)
    .on_timeout(handle_partial_results)
)
QUORUM_WORKFLOW = Spec.single(
    entry_point=Node.fork("waygrid://system/waystation")
    .join_id("multi-provider")
    .branches(
        {
            "provider-a": Node.standard("waygrid://destination/webhook").label("Provider A"),
            "provider-b": Node.standard("waygrid://destination/webhook").label("Provider B"),
            "provider-c": Node.standard("waygrid://destination/webhook").label("Provider C"),
        }
    )
    .joined_by(join),
    repeat_policy=RepeatPolicy.NO_REPEAT,
)
"""The seed's "Parallel Processing with Quorum": three providers, continue when two answer."""


def create_app(
    settings: WaygridSettings | None = None, *, client: WaygridClient | None = None
) -> FastAPI:
    """Build the example app.

    Args:
        settings: Where Waygrid is; by default read from ``WAYGRID_*`` variables at startup.
        client: A ready client to use instead (closed at shutdown all the same).

    Returns:
        The app, with one Waygrid client opened by its lifespan and the error handlers.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[WaygridState]:
        # Your own startup and shutdown work would go around this block.
        async with waygrid_lifespan(app, settings, client=client) as state:
            yield state

    app = FastAPI(title="Waygrid FastAPI example", lifespan=lifespan)
    install_error_handlers(app)

    @app.post("/workflow/start")
    async def start_workflow(data: dict[str, Any], waygrid: WaygridDep) -> dict[str, str]:
        """Start the OpenAI-then-webhook workflow with the request body as its payload."""
        result = await waygrid.submit(START_WORKFLOW, payload=data)
        return {"traversal_id": result.traversal_id, "status": "submitted"}

    @app.post("/workflow/quorum")
    async def start_quorum(data: dict[str, Any], waygrid: WaygridDep) -> dict[str, str]:
        """Ask three providers in parallel and continue when two have answered."""
        result = await waygrid.submit(QUORUM_WORKFLOW, payload=data)
        return {"traversal_id": result.traversal_id, "status": "submitted"}

    return app


app = create_app()
"""The app ``uvicorn examples.fastapi_app.main:app`` serves; configured by ``WAYGRID_*``."""
