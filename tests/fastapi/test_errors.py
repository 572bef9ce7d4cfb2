"""install_error_handlers: the app's bad spec -> 500, unreadable input -> 422, Waygrid down -> 503."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from functools import partial
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from examples.fastapi_app.demo import serve
from waygrid import Condition, Node, Spec
from waygrid.testing import DevApp, DevServer
from waygrid_fastapi import WaygridDep, WaygridSettings, install_error_handlers, waygrid_lifespan

KEY = "wg_live_errors_SECRET_77"
PROBLEM = "application/problem+json"
FAST_RETRIES: dict[str, Any] = {"backoff_base": 0.001, "backoff_cap": 0.005}

FORK_WITHOUT_JOIN = Spec.single(
    Node.fork("waygrid://system/waystation")
    .join_id("j")
    .branches(
        {"a": Node.standard("waygrid://processor/a"), "b": Node.standard("waygrid://processor/b")}
    )
)
"""A fork whose join was never attached: the SDK's validation and the server both reject it."""
JSON_POINTER = Spec.single(
    Node.standard("waygrid://processor/classify").on_conditions(
        [Condition.when(Condition.json_equals("/status", "ok"), Node.standard("waygrid://x/y"))]
    )
)
"""A documented JSON-pointer condition: the SDK warns, a --strict server rejects it."""
GOOD = Spec.single(Node.standard("waygrid://processor/openai"))


def make_app(**lifespan: Any) -> FastAPI:
    """An app that submits whichever spec the route names, with the handlers installed."""
    app = FastAPI(lifespan=partial(waygrid_lifespan, **lifespan))
    install_error_handlers(app)
    specs = {"good": GOOD, "fork-without-join": FORK_WITHOUT_JOIN, "json-pointer": JSON_POINTER}

    @app.post("/submit/{name}")
    async def submit(name: str, waygrid: WaygridDep, validate: bool = True) -> dict[str, str]:
        result = await waygrid.submit(specs[name], payload={"n": 1}, validate=validate)
        return {"traversal_id": result.traversal_id}

    return app


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response's problem document, after checking the status and media type."""
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert set(body) == {"type", "title", "status", "detail", "issues"}
    assert body["status"] == status
    return body


def settings_for(url: str, **options: Any) -> WaygridSettings:
    """Settings for ``url`` that retry quickly."""
    return WaygridSettings(base_url=url, **FAST_RETRIES, **options)


@pytest.fixture
def served_strict() -> Iterator[DevServer]:
    """A --strict dev server of its own (it rejects JSON-pointer conditions)."""
    with DevServer(strict=True) as server:
        yield server


def test_apps_invalid_spec_is_500_logged_at_error(
    waygrid_app: DevApp, caplog: pytest.LogCaptureFixture
) -> None:
    """A spec the app built that fails validation is a server-side bug: 500, ERROR log, issues."""
    caplog.set_level(logging.INFO, logger="waygrid_fastapi")
    with TestClient(make_app(client=waygrid_app.client())) as http:
        body = problem(http.post("/submit/fork-without-join"), 500)

    (record,) = [r for r in caplog.records if r.name == "waygrid_fastapi"]
    assert record.levelno == logging.ERROR
    assert "fork-without-join" in record.getMessage()

    assert body["type"] == "urn:waygrid:problem:invalid-spec"
    first = body["issues"][0]
    assert first["code"] == "fork-without-join"
    assert first["path"] == "$.entryPoints[0]"
    assert "joined_by" in first["hint"]
    assert {"severity", "code", "path", "message", "hint"} == set(first)
    assert waygrid_app.ingest_requests == 0


def test_server_rejected_graph_is_500_with_its_issues(waygrid_app: DevApp) -> None:
    """A graph the server's compiler rejects (sent unvalidated) answers 500 with its issues."""
    with TestClient(make_app(client=waygrid_app.client())) as http:
        response = http.post("/submit/fork-without-join", params={"validate": "false"})

    body = problem(response, 500)
    assert body["detail"] == "The Waygrid server rejected the spec this service built."
    assert [i["code"] for i in body["issues"]] == ["fork-without-join"]
    assert waygrid_app.ingest_requests == 1
    assert waygrid_app.traversals() == []


def test_strict_server_rejecting_json_pointer_is_500(served_strict: DevServer) -> None:
    """A --strict dev server on loopback rejects a JSON-pointer condition: 500 with the path."""
    with TestClient(make_app(settings=settings_for(served_strict.url))) as http:
        body = problem(http.post("/submit/json-pointer", params={"validate": "false"}), 500)

    issue = body["issues"][0]
    assert issue["path"] == "$.entryPoints[0].onConditions[0].condition.type"
    assert "JsonEquals" in issue["message"]
    assert served_strict.traversals() == []


def test_waygrid_down_is_503_with_retry_after() -> None:
    """A refused connection answers 503 with Retry-After, not naming Waygrid's address."""
    with socket.socket() as probe:  # a port nobody listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"

    with TestClient(make_app(settings=settings_for(url, max_retries=1))) as http:
        response = http.post("/submit/good")

    body = problem(response, 503)
    assert response.headers["retry-after"] == "5"
    assert body["type"] == "urn:waygrid:problem:unavailable"
    assert body["issues"] == []
    assert str(port) not in response.text


def test_injected_503_after_retries_is_503(waygrid_server: DevServer) -> None:
    """Waygrid answering 503 to every retry gives 503 with Retry-After, and no traversal."""
    waygrid_server.fail_next(3, status=503, retry_after=0)
    app = make_app(settings=settings_for(waygrid_server.url, max_retries=2))

    with serve(app) as url:
        response = httpx.post(f"{url}/submit/good")

    problem(response, 503)
    assert int(response.headers["retry-after"]) >= 0
    assert waygrid_server.ingest_requests == 3
    assert waygrid_server.traversals() == []


def test_retry_succeeds_before_the_handlers_are_needed(waygrid_server: DevServer) -> None:
    """A 503 followed by success is retried by the client: the caller sees 200."""
    waygrid_server.fail_next(1, status=503)
    app = make_app(settings=settings_for(waygrid_server.url, max_retries=2))

    with TestClient(app) as http:
        assert http.post("/submit/good").status_code == 200

    assert len(waygrid_server.traversals()) == 1


def test_rate_limit_is_503_with_the_servers_retry_after(waygrid_server: DevServer) -> None:
    """A 429 after the retries gives 503 with the Retry-After Waygrid asked for (rounded up)."""
    waygrid_server.fail_next(2, status=429, retry_after=1.5)
    settings = settings_for(waygrid_server.url, max_retries=1, retry_after_cap=0)

    with TestClient(make_app(settings=settings)) as http:
        response = http.post("/submit/good")

    problem(response, 503)
    assert response.headers["retry-after"] == "2"


def test_other_upstream_failure_is_502(waygrid_server: DevServer) -> None:
    """A 500 that is not a rejected spec, after the retries, answers 502."""
    waygrid_server.fail_next(2, status=500)

    with TestClient(make_app(settings=settings_for(waygrid_server.url, max_retries=1))) as http:
        response = http.post("/submit/good")

    body = problem(response, 502)
    assert body["type"] == "urn:waygrid:problem:upstream-error"
    assert "retry-after" not in response.headers


def test_refused_credentials_are_502_and_the_key_never_leaks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A wrong API key answers 502; neither the response nor the log shows the key."""
    dev = DevApp(api_key="the-right-key")
    client = dev.client(api_key=KEY)
    caplog.set_level(logging.DEBUG)

    with TestClient(make_app(client=client)) as http:
        response = http.post("/submit/good")

    problem(response, 502)
    assert "401" in response.json()["detail"]
    assert KEY not in response.text
    assert KEY not in caplog.text
    assert "waygrid_fastapi" in {record.name for record in caplog.records}
    dev.close()


def test_handlers_leave_other_errors_alone(waygrid_app: DevApp) -> None:
    """Errors that are not the SDK's still reach FastAPI's own handling."""
    app = make_app(client=waygrid_app.client())

    @app.get("/boom")
    async def boom() -> None:
        raise KeyError("not ours")

    with TestClient(app, raise_server_exceptions=False) as http:
        response = http.get("/boom")

    assert response.status_code == 500
    assert response.headers["content-type"] != PROBLEM


def test_spec_json_that_does_not_decode_is_422_with_its_path(waygrid_app: DevApp) -> None:
    """A user-supplied spec that Spec.from_json refuses answers 422 with the offending path."""
    app = make_app(client=waygrid_app.client())

    @app.post("/specs")
    async def submit_spec(request: Request, waygrid: WaygridDep) -> dict[str, str]:
        result = await waygrid.submit(Spec.from_json(await request.body()))
        return {"traversal_id": result.traversal_id}

    bad = {"entryPoints": [{"type": "standard", "address": "waygrid://a/b", "timeout": "5 eons"}]}
    with TestClient(app) as http:
        body = problem(http.post("/specs", json={**bad, "repeatPolicy": {"type": "NoRepeat"}}), 422)

    assert body["issues"][0]["path"].startswith("$.entryPoints[0]")
    assert body["issues"][0]["code"] == "decode"


def test_payload_json_cannot_hold_is_500(waygrid_app: DevApp) -> None:
    """A payload the app built that is not JSON (NaN) answers 500 saying so; nothing is sent."""
    app = make_app(client=waygrid_app.client())

    @app.post("/nan")
    async def nan(waygrid: WaygridDep) -> None:
        await waygrid.submit(GOOD, payload={"score": float("nan")})

    with TestClient(app) as http:
        body = problem(http.post("/nan"), 500)

    assert "payload" in body["detail"]
    assert waygrid_app.ingest_requests == 0


def test_warning_that_predicts_a_rejection_is_logged_at_warning(
    waygrid_app: DevApp, caplog: pytest.LogCaptureFixture
) -> None:
    """Submitting a JSON-pointer condition logs the server's coming rejection at WARNING."""
    caplog.set_level(logging.INFO, logger="waygrid")
    with TestClient(make_app(client=waygrid_app.client())) as http:
        assert http.post("/submit/json-pointer").status_code == 200  # the dev server accepts it

    levels = {r.getMessage(): r.levelno for r in caplog.records if r.name == "waygrid"}
    (message,) = [m for m in levels if "unsupported-by-server" in m]
    assert levels[message] == logging.WARNING
