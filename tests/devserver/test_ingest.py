"""POST /v1/ingest and GET / behave like the real server: envelope, decoding, compiling, errors."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from waygrid import Condition, JoinStrategy, Node, Spec
from waygrid.devserver import (
    INFINITE_DURATION,
    INVALID_BODY,
    MALFORMED_BODY,
    ULID_PATTERN,
    create_app,
)

pytestmark = pytest.mark.anyio

COMPILER_ERROR = "com.monadial.waygrid.common.domain.algebra.RouteCompilerError: "
NODE = {
    "type": "standard",
    "address": "waygrid://origin/http",
    "retryPolicy": {"type": "None"},
    "deliveryStrategy": {"type": "Immediate"},
}
GRAPH = {"entryPoints": [NODE], "repeatPolicy": {"type": "NoRepeat"}}
JSON_EXISTS_GRAPH = {
    "entryPoints": [
        {
            **NODE,
            "onConditions": [
                {"condition": {"type": "JsonExists", "pointer": "/ok"}, "to": NODE},
            ],
        }
    ],
    "repeatPolicy": {"type": "NoRepeat"},
}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on a fresh default (non-strict) app, in-process."""
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://dev") as client:
        yield client


@pytest.fixture
async def strict_http() -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on a fresh strict app, in-process."""
    transport = httpx.ASGITransport(app=create_app(strict=True))
    async with httpx.AsyncClient(transport=transport, base_url="http://dev") as client:
        yield client


async def post(client: httpx.AsyncClient, body: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await client.post("/v1/ingest", content=content)


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


async def test_success_is_200_with_a_ulid_and_the_servers_dag_hash(
    http: httpx.AsyncClient, spec: Spec
) -> None:
    """A valid spec gets 200 {"traversalId": <ULID>, "dagHash": <16 hex>} in that order."""
    response = await post(http, {"graph": spec.to_dict()})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert list(response.json()) == ["traversalId", "dagHash"]
    assert re.match(ULID_PATTERN, response.json()["traversalId"])
    assert response.json()["dagHash"] == "33045bcbb7538639"


async def test_every_submit_gets_a_new_increasing_traversal_id(
    http: httpx.AsyncClient, spec: Spec
) -> None:
    """The same spec twice (without Idempotency-Key) starts two traversals with sorted ULIDs."""
    first = (await post(http, {"graph": spec.to_dict()})).json()
    second = (await post(http, {"graph": spec.to_dict()})).json()
    assert first["dagHash"] == second["dagHash"]
    assert first["traversalId"] < second["traversalId"]


async def test_unknown_envelope_keys_are_ignored_and_the_payload_is_kept(
    http: httpx.AsyncClient,
) -> None:
    """Extra top-level keys are ignored like the server does; "payload" is stored."""
    response = await post(http, {"graph": GRAPH, "payload": {"orderId": 7}, "extra": [1]})
    assert response.status_code == 200
    detail = await http.get(f"/_dev/traversals/{response.json()['traversalId']}")
    assert detail.json()["payload"] == {"orderId": 7}


async def test_an_empty_body_is_malformed(http: httpx.AsyncClient) -> None:
    """No body at all: the server's "Invalid JSON: empty body"."""
    body = error_of(await post(http, b""))
    assert body["error"] == MALFORMED_BODY + ": empty body"
    assert body["detail"]["path"] == "$"


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"not json",
        b'{"graph": NaN}',
        b'{"a": 1} 2',
        b"\xff\xfe",
        b'{"graph": {}, "graph": {}}',
    ],
)
async def test_text_that_is_not_json_is_malformed(http: httpx.AsyncClient, raw: bytes) -> None:
    """Not JSON, not UTF-8 or duplicate keys: MalformedMessageBodyFailure with a reason."""
    body = error_of(await post(http, raw))
    assert body["error"] == MALFORMED_BODY
    assert body["detail"]["reason"].startswith("invalid JSON")


@pytest.mark.parametrize(
    ("document", "echo"),
    [
        ([], "[\n]"),
        ({"graph": None}, '{\n  "graph" : null\n}'),
        ({"spec": {}}, '{\n  "spec" : {\n    \n  }\n}'),
        ("text", '"text"'),
    ],
)
async def test_json_that_is_not_an_envelope_is_echoed_like_circe(
    http: httpx.AsyncClient, document: Any, echo: str
) -> None:
    """Not {"graph": ...} (graph missing or null): InvalidMessageBodyFailure, request re-printed."""
    body = error_of(await post(http, document))
    assert body["error"] == INVALID_BODY + echo
    assert body["detail"]["path"] == "$"


async def test_a_spec_that_does_not_decode_names_the_path(http: httpx.AsyncClient) -> None:
    """A bad field: the server's echo error plus a detail with the spec path and the reason."""
    graph = {**GRAPH, "entryPoints": [{**NODE, "retryPolicy": {"type": "NoRetry"}}]}
    body = error_of(await post(http, {"graph": graph, "payload": "é"}))
    assert body["error"].startswith(INVALID_BODY + '{\n  "graph" : {\n    "entryPoints" : [\n')
    assert body["error"].endswith('  "payload" : "é"\n}')
    assert body["detail"]["path"] == "$.entryPoints[0].retryPolicy.type"
    assert "NoRetry" in body["detail"]["reason"]
    assert "issues" not in body


@pytest.mark.parametrize("member", ["retryPolicy", "deliveryStrategy"])
async def test_missing_policies_are_rejected_like_the_server(
    http: httpx.AsyncClient, member: str
) -> None:
    """The published docs' defaults do not apply on the wire: both policies are required."""
    node = {key: value for key, value in NODE.items() if key != member}
    body = error_of(await post(http, {"graph": {**GRAPH, "entryPoints": [node]}}))
    assert body["detail"]["path"] == f"$.entryPoints[0].{member}"


async def test_times_is_not_read_as_time(http: httpx.AsyncClient) -> None:
    """Times{times} (the docs' name) is rejected; the server's field is "time"."""
    repeat = {"type": "Times", "every": "1h", "times": 3}
    body = error_of(await post(http, {"graph": {**GRAPH, "repeatPolicy": repeat}}))
    assert body["error"].startswith(INVALID_BODY)
    repeat = {"type": "Times", "every": "1h", "time": 3}
    accepted = await post(http, {"graph": {**GRAPH, "repeatPolicy": repeat}})
    assert accepted.status_code == 200


async def test_integers_inside_strings_are_read_like_circe(http: httpx.AsyncClient) -> None:
    """circe reads "3" for an Int, so the server accepts maxRetries written as a string."""
    policy = {"type": "Linear", "base": "1s", "maxRetries": "3"}
    graph = {**GRAPH, "entryPoints": [{**NODE, "retryPolicy": policy}]}
    assert (await post(http, {"graph": graph})).status_code == 200


async def test_an_infinite_duration_fails_like_scala(http: httpx.AsyncClient) -> None:
    """ "Inf" decodes to an infinite Duration, which the server fails on with its own text."""
    policy = {"type": "Linear", "base": "Inf", "maxRetries": 3}
    graph = {**GRAPH, "entryPoints": [{**NODE, "retryPolicy": policy}]}
    body = error_of(await post(http, {"graph": graph}))
    assert body["error"] == INFINITE_DURATION
    assert body["detail"]["path"] == "$.entryPoints[0].retryPolicy.base"


async def test_a_graph_the_compiler_rejects_gets_the_compiler_text_and_issues(
    http: httpx.AsyncClient,
) -> None:
    """A fork with one branch: RouteCompilerError text, and issues with code, path and hint."""
    fork = (
        Node.fork("waygrid://system/fork")
        .join_id("j")
        .branches({"only": Node.standard("waygrid://processor/a")})
    )
    body = error_of(await post(http, {"graph": Spec.single(fork).to_dict()}))
    assert body["error"].startswith(COMPILER_ERROR + "Invalid DAG structure:\n  Fork ")
    codes = {issue["code"] for issue in body["issues"]}
    assert "fork-insufficient-branches" in codes
    issue = body["issues"][0]
    assert set(issue) == {"severity", "code", "path", "message", "hint"}
    assert body["detail"] == {"path": issue["path"], "reason": issue["message"]}


@pytest.mark.parametrize(("length", "status"), [(129, 200), (130, 500)])
async def test_the_depth_limit_is_the_servers(
    http: httpx.AsyncClient, length: int, status: int
) -> None:
    """A chain of 129 nodes (depth 128) passes; 130 nodes exceed the server's limit."""
    node: Any = Node.standard("waygrid://processor/n0")
    for index in range(1, length):
        node = Node.standard(f"waygrid://processor/n{index}").on_success(node)
    response = await post(http, {"graph": Spec.single(node).to_dict()})
    assert response.status_code == status
    if status == 500:
        assert response.json()["error"].startswith(COMPILER_ERROR + "Max recursion depth (128)")


async def test_json_pointer_conditions_are_accepted_by_default(http: httpx.AsyncClient) -> None:
    """The default server accepts the documented JsonExists/JsonEquals conditions."""
    response = await post(http, {"graph": JSON_EXISTS_GRAPH})
    assert response.status_code == 200


async def test_json_pointer_conditions_are_rejected_when_strict(
    strict_http: httpx.AsyncClient,
) -> None:
    """--strict rejects them exactly like today's server: a decode failure with the echo."""
    body = error_of(await post(strict_http, {"graph": JSON_EXISTS_GRAPH}))
    assert body["error"].startswith(INVALID_BODY)
    assert body["detail"]["path"] == "$.entryPoints[0].onConditions[0].condition.type"


async def test_the_seed_condition_builders_submit_by_default(http: httpx.AsyncClient) -> None:
    """A spec built with Condition.json_equals is accepted by the default server."""
    node = Node.standard("waygrid://processor/sentiment").on_conditions(
        [
            Condition.when(
                Condition.json_equals("/sentiment", "negative"), Node.standard("waygrid://x/esc")
            )
        ]
    )
    assert (await post(http, {"graph": Spec.single(node).to_dict()})).status_code == 200


async def test_a_fork_and_join_compiles_to_the_servers_hash(http: httpx.AsyncClient) -> None:
    """The server's own fork/join example hashes the same through the dev server."""
    join = Node.join("waygrid://system/join").join_id("p").strategy(JoinStrategy.AND)
    fork = (
        Node.fork("waygrid://system/fork")
        .join_id("p")
        .branches(
            {
                "a": Node.standard("waygrid://processor/a"),
                "b": Node.standard("waygrid://processor/b"),
            }
        )
        .joined_by(join)
    )
    spec = Spec.single(fork)
    response = await post(http, {"graph": spec.to_dict()})
    assert response.json()["dagHash"] == spec.compile().dag_hash


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/ingest"),
        ("PUT", "/v1/ingest"),
        ("POST", "/v1/ingest/"),
        ("POST", "/v1/traversals"),
        ("GET", "/health-check"),
        ("POST", "/"),
    ],
)
async def test_other_routes_are_plain_text_404(
    http: httpx.AsyncClient, method: str, path: str
) -> None:
    """Like http4s' orNotFound: exact routes only, everything else 404 "Not found"."""
    response = await http.request(method, path, content=b"{}")
    assert response.status_code == 404
    assert response.text == "Not found"
    assert response.headers["content-type"].startswith("text/plain")


async def test_home_answers_node_info(http: httpx.AsyncClient) -> None:
    """GET / has the HomeResource fields of the real server."""
    info = (await http.get("/")).json()
    assert list(info) == [
        "id", "service", "component", "clusterId", "region", "address", "startedAt", "uptime",
    ]  # fmt: skip
    assert info["service"] == "http"
    assert info["component"] == "origin"
    assert info["address"] == f"waygrid://origin/http?nodeId={info['id']}"
    assert re.match(ULID_PATTERN, info["id"])
    assert re.match(r"^[a-z]{2}(?:-[a-z]{1,16})*-[0-9]{1,2}$", info["region"])
    assert isinstance(info["uptime"], int)


async def test_the_real_server_over_tcp_answers_the_same(waygrid_server: Any, spec: Spec) -> None:
    """Over a real loopback connection the answers are the same as in-process."""
    async with waygrid_server.http_client() as client:
        ok = await post(client, {"graph": spec.to_dict()})
        bad = await post(client, b"{")
    assert ok.json()["dagHash"] == "33045bcbb7538639"
    assert error_of(bad)["error"] == MALFORMED_BODY
