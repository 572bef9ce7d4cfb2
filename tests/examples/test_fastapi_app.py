"""The FastAPI example app: real ULIDs from the dev server, one client for 100 requests."""

from __future__ import annotations

import os
import re
import time
from typing import Any

import anyio
import httpx
import pytest

from examples.fastapi_app import main, per_request
from examples.fastapi_app.demo import run_demo, serve
from examples.fastapi_app.main import QUORUM_WORKFLOW, START_WORKFLOW, create_app
from waygrid.devserver import ULID_PATTERN
from waygrid.testing import (  # the plugin's fixtures, as `pytest_plugins` would register them
    DevApp,
    DevServer,
    waygrid_app,
    waygrid_dev_server,
    waygrid_server,
)
from waygrid_fastapi import WaygridSettings

__all__ = ["waygrid_app", "waygrid_dev_server", "waygrid_server"]

ULID = re.compile(ULID_PATTERN)


@pytest.fixture(autouse=True)
def _no_waygrid_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start every test without WAYGRID_* variables from the developer's shell."""
    for name in list(os.environ):
        if name.startswith("WAYGRID_"):
            monkeypatch.delenv(name)


def submitted(response: httpx.Response) -> str:
    """The traversal id of a successful answer, after checking its shape."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "submitted"
    assert set(body) == {"traversal_id", "status"}
    assert ULID.match(body["traversal_id"])
    return str(body["traversal_id"])


@pytest.mark.anyio
async def test_start_in_process(waygrid_app: DevApp) -> None:
    """In-process, POST /workflow/start submits the seed's workflow with the body as payload."""
    app = create_app(client=waygrid_app.client())

    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://app.test"
        ) as http,
    ):
        traversal_id = submitted(await http.post("/workflow/start", json={"orderId": 42}))

    [traversal] = waygrid_app.traversals()
    assert traversal.traversal_id == traversal_id
    assert traversal.spec == START_WORKFLOW
    assert traversal.payload == {"orderId": 42}


@pytest.mark.anyio
async def test_quorum_in_process(waygrid_app: DevApp) -> None:
    """POST /workflow/quorum submits the seed's fork/join with the join woven into each branch."""
    app = create_app(client=waygrid_app.client())

    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://app.test"
        ) as http,
    ):
        traversal_id = submitted(await http.post("/workflow/quorum", json={"q": "?"}))

    [traversal] = waygrid_app.traversals()
    assert traversal.traversal_id == traversal_id
    assert traversal.spec == QUORUM_WORKFLOW
    assert traversal.dag_hash == QUORUM_WORKFLOW.compile().dag_hash


def test_configured_by_environment_for_real(
    waygrid_server: DevServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`examples.fastapi_app.main:app` on uvicorn reads WAYGRID_* and returns the server's ids."""
    monkeypatch.setenv("WAYGRID_BASE_URL", waygrid_server.base_url)

    with serve(main.app) as url, httpx.Client(base_url=url) as http:
        ids = [
            submitted(http.post("/workflow/start", json={"n": 1})),
            submitted(http.post("/workflow/quorum", json={"n": 2})),
        ]

    assert [t.traversal_id for t in waygrid_server.traversals()] == ids


@pytest.mark.anyio
async def test_hundred_requests_share_one_client(waygrid_server: DevServer) -> None:
    """100 requests (10 at a time) become exactly 100 traversals over a handful of connections."""
    app = create_app(WaygridSettings(base_url=waygrid_server.base_url))
    ids: list[str] = []

    async def call(http: httpx.AsyncClient, numbers: range) -> None:
        for n in numbers:
            ids.append(submitted(await http.post("/workflow/start", json={"n": n})))

    with serve(app) as url:
        async with httpx.AsyncClient(base_url=url) as http, anyio.create_task_group() as tasks:
            for first in range(0, 100, 10):
                tasks.start_soon(call, http, range(first, first + 10))

    stored = waygrid_server.traversals()
    assert sorted(t.traversal_id for t in stored) == sorted(ids)
    assert len(set(ids)) == 100
    assert sorted(str(t.payload) for t in stored) == sorted(str({"n": n}) for n in range(100))
    assert waygrid_server.ingest_requests == 100
    assert waygrid_server.connections_accepted <= 10


def test_published_pattern_opens_a_connection_per_request(
    waygrid_server: DevServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The seed's per-request client (the benchmark's baseline) opens one connection per request."""
    monkeypatch.setenv("WAYGRID_BASE_URL", waygrid_server.base_url)

    with serve(per_request.app) as url, httpx.Client(base_url=url) as http:
        for n in range(20):
            submitted(http.post("/workflow/start", json={"n": n}))

    assert len(waygrid_server.traversals()) == 20
    assert waygrid_server.connections_accepted == 20


def test_stopping_the_app_closes_its_connections(waygrid_server: DevServer) -> None:
    """Once the app shuts down, no connection to Waygrid is left open."""
    with serve(create_app(WaygridSettings(base_url=waygrid_server.base_url))) as url:
        submitted(httpx.post(f"{url}/workflow/start", json={}))
        assert waygrid_server.state.connections_open == 1

    deadline = time.monotonic() + 2.0
    while waygrid_server.state.connections_open and time.monotonic() < deadline:
        time.sleep(0.01)
    assert waygrid_server.state.connections_open == 0


def test_run_demo_prints_the_results(
    waygrid_server: DevServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """run_demo serves the app, calls both endpoints and reports what the dev server stored."""
    run_demo(waygrid_server.base_url)

    out = capsys.readouterr().out
    assert "POST /workflow/start" in out
    assert "POST /workflow/quorum" in out
    assert out.count('"status":"submitted"') == 2
    assert "1 TCP connection(s) for 22 submits; 0 of them still open" in out
    assert len(waygrid_server.traversals()) == 22
