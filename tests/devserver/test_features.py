"""What the dev server adds to the real one: idempotency, API key, body limit, SQLite, /_dev/."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from waygrid import Node, Spec
from waygrid.testing import DevApp, DevServer

pytestmark = pytest.mark.anyio

KEY = "dev-secret-key"


def body_of(spec: Spec, **extra: Any) -> bytes:
    return json.dumps({"graph": spec.to_dict(), **extra}).encode()


@pytest.fixture
async def dev() -> AsyncIterator[tuple[DevApp, httpx.AsyncClient]]:
    """An in-process dev app and an httpx client on it."""
    app = DevApp()
    async with app.http_client() as client:
        yield app, client
    app.close()


# --- Idempotency-Key ------------------------------------------------------------------------------


async def test_same_key_and_body_replays_the_answer_without_a_second_traversal(
    dev: tuple[DevApp, httpx.AsyncClient], spec: Spec
) -> None:
    """The second request gets the stored answer (marked Idempotent-Replayed) and starts nothing."""
    app, http = dev
    headers = {"Idempotency-Key": "order-1"}
    first = await http.post("/v1/ingest", content=body_of(spec), headers=headers)
    second = await http.post("/v1/ingest", content=body_of(spec), headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert "idempotent-replayed" not in first.headers
    assert second.headers["idempotent-replayed"] == "true"
    assert [t.idempotency_key for t in app.traversals()] == ["order-1"]


async def test_same_key_with_another_body_is_409(
    dev: tuple[DevApp, httpx.AsyncClient], spec: Spec
) -> None:
    """Reusing a key for a different request is a client bug: 409 with a JSON error."""
    app, http = dev
    headers = {"Idempotency-Key": "order-2"}
    await http.post("/v1/ingest", content=body_of(spec), headers=headers)
    other = await http.post("/v1/ingest", content=body_of(spec, payload=1), headers=headers)
    assert other.status_code == 409
    assert "order-2" in other.json()["error"]
    assert len(app.traversals()) == 1


async def test_different_keys_start_different_traversals(
    dev: tuple[DevApp, httpx.AsyncClient], spec: Spec
) -> None:
    """Each new key is a new logical submit."""
    app, http = dev
    for key in ("a", "b"):
        await http.post("/v1/ingest", content=body_of(spec), headers={"Idempotency-Key": key})
    assert len(app.traversals()) == 2


async def test_a_rejected_request_does_not_use_up_its_key(
    dev: tuple[DevApp, httpx.AsyncClient], spec: Spec
) -> None:
    """Only started traversals are remembered; a fixed body can reuse the key."""
    _, http = dev
    headers = {"Idempotency-Key": "k"}
    assert (await http.post("/v1/ingest", content=b"{", headers=headers)).status_code == 500
    assert (
        await http.post("/v1/ingest", content=body_of(spec), headers=headers)
    ).status_code == 200


async def test_an_overlong_key_is_400(dev: tuple[DevApp, httpx.AsyncClient], spec: Spec) -> None:
    """Keys longer than 255 characters are refused."""
    _, http = dev
    response = await http.post(
        "/v1/ingest", content=body_of(spec), headers={"Idempotency-Key": "k" * 256}
    )
    assert response.status_code == 400


async def test_concurrent_twins_with_one_key_start_one_traversal(
    waygrid_server: DevServer, spec: Spec
) -> None:
    """32 identical requests racing with one key over TCP all get the same traversal."""
    async with waygrid_server.http_client() as http:
        responses = await asyncio.gather(
            *(
                http.post("/v1/ingest", content=body_of(spec), headers={"Idempotency-Key": "race"})
                for _ in range(32)
            )
        )
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["traversalId"] for r in responses}) == 1
    assert len(waygrid_server.traversals()) == 1


async def test_32_concurrent_submits_over_tcp_all_land(
    waygrid_server: DevServer, spec: Spec
) -> None:
    """Concurrent requests on many connections: every one stored once, connections counted."""
    async with waygrid_server.http_client() as http:
        responses = await asyncio.gather(
            *(http.post("/v1/ingest", content=body_of(spec, payload=i)) for i in range(32))
        )
    assert {r.status_code for r in responses} == {200}
    stored = waygrid_server.traversals()
    assert sorted(t.payload for t in stored) == list(range(32))  # type: ignore[type-var]
    assert [t.traversal_id for t in stored] == sorted(r.json()["traversalId"] for r in responses)
    assert 1 <= waygrid_server.connections_accepted <= 32
    assert waygrid_server.ingest_requests == 32


# --- API key ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong", f"Basic {KEY}", "Bearer", f"Bearer {KEY}x"]
)
async def test_without_the_right_bearer_token_ingest_is_401(
    authorization: str | None, spec: Spec
) -> None:
    """With an API key set, a missing or wrong token gets 401 and starts nothing."""
    app = DevApp(api_key=KEY)
    headers = {} if authorization is None else {"Authorization": authorization}
    async with app.http_client() as http:
        response = await http.post("/v1/ingest", content=body_of(spec), headers=headers)
        reset = await http.post("/_dev/reset", headers=headers)
    assert response.status_code == reset.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert KEY not in response.text
    assert app.traversals() == []


async def test_the_right_bearer_token_is_accepted(spec: Spec) -> None:
    """The key in Authorization: Bearer passes (scheme case-insensitive); GET routes stay open."""
    app = DevApp(api_key=KEY)
    async with app.http_client() as http:
        response = await http.post(
            "/v1/ingest", content=body_of(spec), headers={"Authorization": f"bearer {KEY}"}
        )
        health = await http.get("/_dev/health")
    assert response.status_code == 200
    assert health.json()["auth"] is True


async def test_the_client_sends_the_key_of_the_test_handle(spec: Spec) -> None:
    """DevApp.client() is configured with the app's API key."""
    app = DevApp(api_key=KEY)
    async with app.client() as client:
        await client.submit(spec)
    assert len(app.traversals()) == 1


# --- Body limit ------------------------------------------------------------------------------------


async def test_a_declared_oversized_body_is_413(spec: Spec) -> None:
    """A Content-Length above the limit is refused before reading."""
    app = DevApp(max_body_bytes=100)
    async with app.http_client() as http:
        response = await http.post("/v1/ingest", content=body_of(spec, payload="x" * 200))
    assert response.status_code == 413
    assert "100 bytes" in response.json()["error"]
    assert app.traversals() == []


async def test_a_streamed_oversized_body_is_413_over_tcp(spec: Spec) -> None:
    """A chunked body without Content-Length is counted as it arrives (1 MiB default limit)."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"graph":' + spec.to_json().encode() + b',"payload":"'
        for _ in range(40):
            yield b"x" * 32_768
        yield b'"}'

    with DevServer() as server:
        async with server.http_client() as http:
            too_big = await http.post("/v1/ingest", content=chunks())
            fine = await http.post("/v1/ingest", content=body_of(spec))
        assert too_big.status_code == 413
        assert fine.status_code == 200
        assert len(server.traversals()) == 1


async def test_a_body_at_the_limit_is_accepted(spec: Spec) -> None:
    """Exactly max_body_bytes is fine."""
    body = body_of(spec)
    app = DevApp(max_body_bytes=len(body))
    async with app.http_client() as http:
        assert (await http.post("/v1/ingest", content=body)).status_code == 200


# --- Storage -----------------------------------------------------------------------------------------


async def test_traversals_survive_a_restart_with_a_database_file(
    tmp_path: Path, spec: Spec
) -> None:
    """With db_path (--db) the traversals and idempotency keys outlive the process."""
    db = tmp_path / "dev.sqlite3"
    with DevServer(db_path=db) as server:
        async with server.client() as client:
            first = await client.submit(spec, {"n": 1}, idempotency_key="once")
    with DevServer(db_path=db) as server:
        async with server.client() as client:
            again = await client.submit(spec, {"n": 1}, idempotency_key="once")
        stored = server.traversals()
        async with server.http_client() as http:
            listed = (await http.get("/_dev/traversals")).json()
    assert again.traversal_id == first.traversal_id
    assert [t.traversal_id for t in stored] == [first.traversal_id]
    assert stored[0].payload == {"n": 1}
    assert stored[0].spec == spec
    assert listed["count"] == 1


async def test_without_a_database_file_traversals_live_in_memory(spec: Spec) -> None:
    """Two apps without db_path share nothing."""
    one, two = DevApp(), DevApp()
    async with one.client() as client:
        await client.submit(spec)
    assert len(one.traversals()) == 1
    assert two.traversals() == []


# --- Dev routes ------------------------------------------------------------------------------------


async def test_health_reports_settings_and_counters(waygrid_server: DevServer, spec: Spec) -> None:
    """/_dev/health: strictness, storage, traversals, ingest requests, TCP connections accepted."""
    async with waygrid_server.http_client() as http:
        await http.post("/v1/ingest", content=body_of(spec))
        await http.post("/v1/ingest", content=b"{")
        health = (await http.get("/_dev/health")).json()
    assert health["status"] == "ok"
    assert health["strict"] is False
    assert health["storage"] == ":memory:"
    assert health["traversals"] == 1
    assert health["ingest_requests"] == 2
    assert health["connections_accepted"] == 1  # one keep-alive connection
    assert health["connections_open"] >= 1
    assert waygrid_server.connections_accepted == 1


async def test_connections_are_counted_per_tcp_connection(
    waygrid_server: DevServer, spec: Spec
) -> None:
    """Three clients without connection reuse count three accepted connections."""
    for _ in range(3):
        async with waygrid_server.http_client() as http:
            await http.post("/v1/ingest", content=body_of(spec))
    assert waygrid_server.connections_accepted == 3


async def test_traversal_list_and_detail(dev: tuple[DevApp, httpx.AsyncClient]) -> None:
    """The list is newest first; the detail has spec, payload, compiled DAG, Mermaid, issues."""
    _, http = dev
    chain = Spec.single(
        Node.standard("waygrid://processor/a")
        .label("First")
        .on_success(Node.standard("waygrid://processor/b"))
    )
    ids = []
    for payload in ({"n": 1}, {"n": 2}):
        response = await http.post("/v1/ingest", content=body_of(chain, payload=payload))
        ids.append(response.json()["traversalId"])
    listed = (await http.get("/_dev/traversals")).json()
    assert listed["count"] == 2
    assert [item["traversal_id"] for item in listed["traversals"]] == ids[::-1]
    assert (await http.get("/_dev/traversals?limit=1")).json()["traversals"][0][
        "traversal_id"
    ] == ids[1]
    detail = (await http.get(f"/_dev/traversals/{ids[0]}")).json()
    assert detail["spec"] == chain.to_dict()
    assert detail["payload"] == {"n": 1}
    assert detail["dag"]["dagHash"] == chain.compile().dag_hash
    assert [node["label"] for node in detail["dag"]["nodes"]] == ["First", None]
    assert detail["dag"]["edges"] == [
        {"source": detail["dag"]["nodes"][0]["id"], "target": detail["dag"]["nodes"][1]["id"],
         "guard": "OnSuccess"}
    ]  # fmt: skip
    assert detail["mermaid"].startswith("flowchart TD")
    assert detail["issues"] == []
    missing = await http.get("/_dev/traversals/01AAAAAAAAAAAAAAAAAAAAAAAA")
    assert missing.status_code == 404


async def test_detail_lists_warnings_and_conditions(dev: tuple[DevApp, httpx.AsyncClient]) -> None:
    """A JSON-pointer condition shows up as a conditional edge and an unsupported-by-server issue."""
    from waygrid import Condition

    _, http = dev
    node = Node.standard("waygrid://processor/a").on_conditions(
        [Condition.when(Condition.json_exists("/ok"), Node.standard("waygrid://processor/b"))]
    )
    response = await http.post("/v1/ingest", content=body_of(Spec.single(node)))
    detail = (await http.get(f"/_dev/traversals/{response.json()['traversalId']}")).json()
    edge = detail["dag"]["edges"][0]
    assert edge["guard"] == "Conditional"
    assert edge["condition"] == {"type": "JsonExists", "pointer": "/ok"}
    assert "unsupported-by-server" in {issue["code"] for issue in detail["issues"]}


async def test_reset_forgets_everything(dev: tuple[DevApp, httpx.AsyncClient], spec: Spec) -> None:
    """POST /_dev/reset empties the store, the keys and the counters."""
    app, http = dev
    await http.post("/v1/ingest", content=body_of(spec), headers={"Idempotency-Key": "k"})
    assert (await http.post("/_dev/reset")).json() == {"reset": True}
    assert app.traversals() == []
    assert app.ingest_requests == 0
    again = await http.post(
        "/v1/ingest", content=body_of(spec, payload=1), headers={"Idempotency-Key": "k"}
    )
    assert again.status_code == 200


async def test_faults_route_schedules_failures(
    dev: tuple[DevApp, httpx.AsyncClient], spec: Spec
) -> None:
    """POST /_dev/faults makes the next ingest requests fail with the given status."""
    app, http = dev
    plan = await http.post("/_dev/faults", json={"fail": 2, "status": 429, "retry_after": 1})
    assert plan.json() == {"pending_faults": 2}
    first = await http.post("/v1/ingest", content=body_of(spec))
    assert first.status_code == 429
    assert first.headers["retry-after"] == "1"
    assert "injected" in first.json()["error"]
    await http.post("/v1/ingest", content=body_of(spec))
    assert (await http.post("/v1/ingest", content=body_of(spec))).status_code == 200
    assert len(app.traversals()) == 1
    bad = await http.post("/_dev/faults", json={"fail": "many"})
    assert bad.status_code == 400
    assert (await http.post("/_dev/faults", json={"nope": 1})).status_code == 400


async def test_a_drop_in_process_becomes_a_502(
    dev: tuple[DevApp, httpx.AsyncClient], spec: Spec
) -> None:
    """Without a TCP connection to cut, an injected drop answers 502 instead."""
    app, http = dev
    app.drop_next()
    assert (await http.post("/v1/ingest", content=body_of(spec))).status_code == 502


async def test_the_page_and_the_vendored_mermaid_are_served(
    dev: tuple[DevApp, httpx.AsyncClient], spec: Spec
) -> None:
    """/_dev/ lists traversals with their Mermaid source; the script is served from the package."""
    from waygrid.dag import mermaid_script

    _, http = dev
    empty = await http.get("/_dev/")
    assert "No traversals yet" in empty.text
    tid = (await http.post("/v1/ingest", content=body_of(spec, payload={"a": "<b>"}))).json()[
        "traversalId"
    ]
    page = await http.get("/_dev/")
    assert page.headers["content-type"].startswith("text/html")
    assert f'id="t-{tid}"' in page.text
    assert '<pre class="mermaid">flowchart TD' in page.text
    assert "&lt;b&gt;" in page.text and "<b>" not in page.text
    assert 'src="static/mermaid.min.js"' in page.text
    redirect = await http.get("/_dev", follow_redirects=False)
    assert redirect.status_code == 308
    assert redirect.headers["location"].endswith("/_dev/")
    script = await http.get("/_dev/static/mermaid.min.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.content == mermaid_script()
