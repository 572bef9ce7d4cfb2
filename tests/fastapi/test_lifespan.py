"""waygrid_lifespan and get_waygrid: one client per app, composable, overridable, closed at exit."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from examples.fastapi_app.demo import serve
from waygrid import Node, Spec, WaygridClient, WaygridError
from waygrid.testing import DevApp, DevServer
from waygrid_fastapi import WaygridDep, WaygridSettings, get_waygrid, waygrid_lifespan

SPEC = Spec.single(Node.standard("waygrid://processor/openai"))


def add_routes(app: FastAPI) -> FastAPI:
    """The routes the tests call: which client a request got, and a submit."""

    @app.get("/client")
    async def which_client(request: Request, waygrid: WaygridDep) -> dict[str, Any]:
        return {
            "id": id(waygrid),
            "in_lifespan_state": getattr(request.state, "waygrid", None) is waygrid,
            "on_app_state": getattr(request.app.state, "waygrid", None) is waygrid,
        }

    @app.post("/submit")
    async def submit(data: dict[str, Any], waygrid: WaygridDep) -> dict[str, str]:
        result = await waygrid.submit(SPEC, payload=data)
        return {"traversal_id": result.traversal_id}

    return app


class ClosingTransport(httpx.ASGITransport):
    """An ASGI transport that remembers being closed (the client closes it in aclose)."""

    closed = 0

    async def aclose(self) -> None:
        self.closed += 1
        await super().aclose()


def test_every_request_gets_the_one_client(waygrid_app: DevApp) -> None:
    """One client serves all requests, from the lifespan state and app.state."""
    client = waygrid_app.client()
    app = add_routes(FastAPI(lifespan=partial(waygrid_lifespan, client=client)))

    with TestClient(app) as http:
        answers = [http.get("/client").json() for _ in range(3)]

    assert {a["id"] for a in answers} == {id(client)}
    assert all(a["in_lifespan_state"] and a["on_app_state"] for a in answers)


def test_settings_come_from_the_environment(
    waygrid_server: DevServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FastAPI(lifespan=waygrid_lifespan) reads WAYGRID_* at startup and submits there."""
    monkeypatch.setenv("WAYGRID_BASE_URL", waygrid_server.base_url)
    app = add_routes(FastAPI(lifespan=waygrid_lifespan))

    with TestClient(app) as http:
        traversal_id = http.post("/submit", json={"n": 1}).json()["traversal_id"]

    assert [t.traversal_id for t in waygrid_server.traversals()] == [traversal_id]


def test_explicit_settings_win(waygrid_server: DevServer) -> None:
    """Settings passed to the lifespan are used instead of the environment."""
    settings = WaygridSettings(base_url=waygrid_server.base_url)
    app = add_routes(FastAPI(lifespan=partial(waygrid_lifespan, settings=settings)))

    with TestClient(app) as http:
        assert http.post("/submit", json={}).status_code == 200

    assert len(waygrid_server.traversals()) == 1


def test_missing_configuration_stops_startup(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without WAYGRID_BASE_URL the app refuses to start, naming the variable."""
    monkeypatch.setenv("WAYGRID_API_KEY", "wg_live_never_shown")
    app = add_routes(FastAPI(lifespan=waygrid_lifespan))

    with pytest.raises(WaygridError, match="WAYGRID_BASE_URL") as caught, TestClient(app):
        pass

    assert "wg_live_never_shown" not in str(caught.value)


def test_composes_with_the_apps_own_lifespan(waygrid_app: DevApp) -> None:
    """Entered inside the app's lifespan, its state merges with the app's own."""
    events: list[str] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        events.append("db open")
        async with waygrid_lifespan(app, client=waygrid_app.client()) as state:
            yield {**state, "db": "the database"}
        events.append("db closed")

    app = add_routes(FastAPI(lifespan=lifespan))

    @app.get("/db")
    async def db(request: Request) -> str:
        return str(request.state.db)

    with TestClient(app) as http:
        assert http.get("/db").json() == "the database"
        assert http.get("/client").json()["in_lifespan_state"] is True
        assert http.post("/submit", json={}).status_code == 200

    assert events == ["db open", "db closed"]
    assert len(waygrid_app.traversals()) == 1


def test_works_when_the_own_lifespan_yields_nothing(waygrid_app: DevApp) -> None:
    """An own lifespan that yields no state still gets the client, through app.state."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with waygrid_lifespan(app, client=waygrid_app.client()):
            yield

    app = add_routes(FastAPI(lifespan=lifespan))

    with TestClient(app) as http:
        answer = http.get("/client").json()

    assert answer["on_app_state"] is True
    assert answer["in_lifespan_state"] is False


def test_missing_lifespan_says_what_to_do() -> None:
    """Without the lifespan (TestClient not used as a context manager) the error explains it."""
    app = add_routes(FastAPI(lifespan=waygrid_lifespan))
    http = TestClient(app)

    with pytest.raises(RuntimeError, match="lifespan did not run") as caught:
        http.get("/client")

    assert "with TestClient(app)" in str(caught.value)
    assert "dependency_overrides" in str(caught.value)


def test_dependency_override_replaces_the_client(waygrid_app: DevApp) -> None:
    """app.dependency_overrides[get_waygrid] supplies a client without any lifespan."""
    app = add_routes(FastAPI())
    client = waygrid_app.client()
    app.dependency_overrides[get_waygrid] = lambda: client

    with TestClient(app) as http:
        traversal_id = http.post("/submit", json={"x": 1}).json()["traversal_id"]

    assert waygrid_app.traversals()[0].traversal_id == traversal_id


def test_shutdown_closes_the_client(waygrid_app: DevApp) -> None:
    """At shutdown the client is closed and removed from app.state."""
    transport = ClosingTransport(app=waygrid_app.app)
    client = WaygridClient(waygrid_app.base_url, transport=transport)
    app = add_routes(FastAPI(lifespan=partial(waygrid_lifespan, client=client)))

    with TestClient(app) as http:
        assert http.post("/submit", json={}).status_code == 200
        assert transport.closed == 0

    assert transport.closed == 1
    assert not hasattr(app.state, "waygrid")


@pytest.mark.anyio
async def test_in_process_with_asgi_transport(waygrid_app: DevApp) -> None:
    """Running the lifespan by hand and calling through httpx.ASGITransport works too."""
    app = add_routes(FastAPI(lifespan=partial(waygrid_lifespan, client=waygrid_app.client())))

    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://app.test"
        ) as http,
    ):
        response = await http.post("/submit", json={"n": 1})

    assert response.status_code == 200
    assert waygrid_app.traversals()[0].payload == {"n": 1}


def test_shutdown_closes_the_connections_for_real(waygrid_server: DevServer) -> None:
    """Served by uvicorn, the app's connections to Waygrid close when the app stops."""
    app = add_routes(
        FastAPI(
            lifespan=partial(
                waygrid_lifespan, settings=WaygridSettings(base_url=waygrid_server.url)
            )
        )
    )

    with serve(app) as url, httpx.Client(base_url=url) as http:
        for n in range(5):
            assert http.post("/submit", json={"n": n}).status_code == 200
        assert waygrid_server.state.connections_open == 1

    deadline = time.monotonic() + 2.0
    while waygrid_server.state.connections_open and time.monotonic() < deadline:
        time.sleep(0.01)
    assert waygrid_server.state.connections_open == 0
    assert waygrid_server.connections_accepted == 1
