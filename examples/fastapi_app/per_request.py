"""The published page's FastAPI example, unchanged: a new client (and connection) per request.

Kept as the baseline that ``make bench`` compares `examples.fastapi_app.main` with. Do not copy
it: the dependency builds a client per request and ``async with client`` closes its connection
pool after one submit, so every request pays for a new TCP connection.
"""

from __future__ import annotations

import os

from fastapi import Depends, FastAPI

from waygrid import Node, RepeatPolicy, Spec, WaygridClient

app = FastAPI()


def get_waygrid_client() -> WaygridClient:
    return WaygridClient(
        base_url=os.environ["WAYGRID_BASE_URL"],
        # The one change from the page: os.environ["WAYGRID_API_KEY"] would fail against a dev
        # server without a key.
        api_key=os.environ.get("WAYGRID_API_KEY") or None,
    )


@app.post("/workflow/start")
async def start_workflow(
    data: dict,  # type: ignore[type-arg]  # as published
    client: WaygridClient = Depends(get_waygrid_client),  # noqa: B008  # as published
) -> dict[str, str]:
    spec = Spec.single(
        entry_point=Node.standard("waygrid://processor/openai").on_success(
            Node.standard("waygrid://destination/webhook")
        ),
        repeat_policy=RepeatPolicy.NO_REPEAT,
    )

    async with client:
        result = await client.submit(spec, payload=data)

    return {"traversal_id": result.traversal_id, "status": "submitted"}
