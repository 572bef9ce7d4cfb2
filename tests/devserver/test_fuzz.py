"""Hypothesis sends arbitrary bodies and /_dev/ requests: always a JSON answer (or the page), never a hang."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import quote, quote_from_bytes

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from waygrid import Condition, JoinStrategy, Node, RetryPolicy, Spec
from waygrid.testing import DevServer

FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["5s", "Inf", "1.5h", "standard", "fork", "join", "None", "Linear", "-1s"])
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["type", "address", "graph", "entryPoints", "onSuccess", "x"])
            | st.text(max_size=6),
            children,
            max_size=4,
        )
    ),
    max_leaves=16,
)


def _valid_graph() -> dict[str, Any]:
    join = Node.join("waygrid://system/join").join_id("j").strategy(JoinStrategy.quorum(1))
    fork = (
        Node.fork("waygrid://system/fork")
        .join_id("j")
        .branches({"a": Node.standard("waygrid://p/a"), "b": Node.standard("waygrid://p/b")})
        .joined_by(join)
    )
    entry = (
        Node.standard("waygrid://origin/http")
        .with_retry(RetryPolicy.exponential(timedelta(seconds=1), max_retries=3))
        .on_success(fork)
        .on_failure(Node.standard("waygrid://p/dlq"))
        .on_conditions([Condition.when(Condition.ALWAYS, Node.standard("waygrid://p/c"))])
    )
    return Spec.single(entry).to_dict()


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


@st.composite
def mutated_specs(draw: st.DrawFn) -> Any:
    """A valid graph with one value somewhere replaced by arbitrary JSON (or removed)."""
    graph = _valid_graph()
    paths = list(_paths(graph))
    path = draw(st.sampled_from(paths[1:]))
    parent = graph
    for key in path[:-1]:
        parent = parent[key]
    if draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(json_values)
    return {"graph": graph, **draw(st.dictionaries(st.sampled_from(["payload", "x"]), json_values))}


@pytest.fixture(scope="module")
def http(waygrid_dev_server: DevServer) -> Iterator[httpx.Client]:
    """A client of the session's dev server that fails any request taking over 10 seconds."""
    with httpx.Client(base_url=waygrid_dev_server.base_url, timeout=10) as client:
        yield client
    waygrid_dev_server.reset()


def check(response: httpx.Response) -> None:
    assert response.status_code == 200 or 400 <= response.status_code <= 500
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert isinstance(body, dict)
    if response.status_code == 200:
        assert list(body) == ["traversalId", "dagHash"]
    else:
        assert isinstance(body["error"], str)
        assert "InternalError" not in body["error"], body["error"]


@FUZZ
@given(body=json_values)
def test_arbitrary_json_gets_a_json_answer(http: httpx.Client, body: Any) -> None:
    """Any JSON document at all."""
    check(http.post("/v1/ingest", content=json.dumps(body)))


@FUZZ
@given(graph=json_values)
def test_arbitrary_graphs_get_a_json_answer(http: httpx.Client, graph: Any) -> None:
    """Any JSON value as the graph."""
    check(http.post("/v1/ingest", content=json.dumps({"graph": graph})))


@FUZZ
@given(body=mutated_specs())
def test_almost_valid_specs_get_a_json_answer(http: httpx.Client, body: Any) -> None:
    """A valid spec with one value changed or removed: reaches deep into decoding and compiling."""
    check(http.post("/v1/ingest", content=json.dumps(body)))


@FUZZ
@given(raw=st.binary(max_size=64) | st.text(max_size=64).map(str.encode))
def test_arbitrary_bytes_get_a_json_answer(http: httpx.Client, raw: bytes) -> None:
    """Bytes that are mostly not JSON, or not UTF-8."""
    check(http.post("/v1/ingest", content=raw))


# --- Hostile shapes: deep, wide, and text that is valid JSON but not valid UTF-8 ----------------

OPENERS = ["[", '{"a":', '{"graph":', '{"type":"Not","cond":']
FILLERS = ["0", "1e999", '"\\ud800"', '"\\u0000"', "{}", "[]", '"x"', "null", "-0.0"]


@st.composite
def hostile_bodies(draw: st.DrawFn) -> bytes:
    """Up to 1 MiB: a prefix, deep nesting of one opener, a wide run of one filler, closed or not."""
    prefix = draw(st.sampled_from(['{"graph":1,"x":', '{"graph":', '{"x":', ""]))
    opener = draw(st.sampled_from(OPENERS))
    depth = draw(st.integers(0, 5_000))
    filler = draw(st.sampled_from(FILLERS))
    width = draw(st.integers(1, 40_000))
    closer = "]" if opener == "[" else "}"
    inner = ",".join([filler] * width) if opener == "[" else filler
    body = prefix + opener * depth + inner + closer * depth + ("}" if prefix else "")
    if draw(st.booleans()):  # sometimes cut short: invalid JSON, also at depth
        body = body[: draw(st.integers(0, len(body)))]
    return body.encode()[:1_048_576]


@settings(FUZZ, max_examples=60)
@given(body=hostile_bodies())
def test_hostile_shapes_get_a_json_answer(http: httpx.Client, body: bytes) -> None:
    """Deep and wide bodies of every kind: a JSON answer, within the client's 10 s timeout."""
    check(http.post("/v1/ingest", content=body))


any_text = st.text(st.characters(exclude_categories=()), max_size=8)  # lone surrogates, NUL
json_with_any_text = st.recursive(
    scalars | any_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(any_text, children, max_size=3)
    ),
    max_leaves=8,
)


@settings(FUZZ, max_examples=60)
@given(label=any_text, payload=json_with_any_text)
def test_whatever_is_accepted_can_be_shown(http: httpx.Client, label: str, payload: Any) -> None:
    """Any label and payload text (surrogates, NUL): ingest, then the page and views answer."""
    graph = _valid_graph()
    graph["entryPoints"][0]["label"] = label
    answer = http.post("/v1/ingest", content=json.dumps({"graph": graph, "payload": payload}))
    check(answer)
    assert answer.status_code == 200, answer.text
    traversal_id = answer.json()["traversalId"]
    detail = http.get(f"/_dev/traversals/{traversal_id}")
    check_dev(detail, 200)
    assert detail.json()["payload"] == payload
    assert "problem" not in detail.json()
    page = http.get("/_dev/")
    assert page.status_code == 200, page.text
    assert traversal_id in page.content.decode("utf-8")
    check_dev(http.get("/_dev/traversals?limit=3"), 200)


# --- The /_dev/ routes ------------------------------------------------------------------------


def check_dev(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    """A JSON answer with one of ``statuses`` (an error has ``error`` and ``detail``)."""
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    if response.status_code >= 400:
        assert isinstance(body["error"], str)
        assert isinstance(body["detail"]["reason"], str)
        assert "InternalError" not in body["error"], body["error"]
    return body


query_bytes = st.binary(max_size=40) | st.sampled_from(
    [b"\xc2\xb2", b"-1", b"abc", b"1e3", b"99999999999999999999", b"\x00", b"%", b"10\x00"]
)


@FUZZ
@given(limit=query_bytes, extra=st.binary(max_size=20))
def test_any_query_string_gets_a_json_answer(
    http: httpx.Client, limit: bytes, extra: bytes
) -> None:
    """``GET /_dev/traversals?limit=<any bytes>&<any bytes>``: 200 or a JSON 400."""
    query = "limit=" + quote_from_bytes(limit) + "&" + quote_from_bytes(extra, safe="=&")
    body = check_dev(http.get("/_dev/traversals?" + query), 200, 400)
    if "traversals" in body:
        assert len(body["traversals"]) <= 1000


fault_values = (
    json_values
    | st.integers()
    | st.floats()
    | st.integers(-10, 2_000_000_000)
    | st.sampled_from([400, 429, 503, 599, 600, 0.5, 86_400, 86_401, 1e999])
)
fault_plans = (
    st.dictionaries(
        st.sampled_from(["fail", "drop", "status", "retry_after", "after_processing", "x"]),
        fault_values,
        max_size=5,
    )
    | json_values
)


@FUZZ
@given(plan=fault_plans)
def test_any_fault_plan_gets_a_json_answer(http: httpx.Client, plan: Any) -> None:
    """``POST /_dev/faults`` with any JSON: 200 with the pending count, or a JSON 400."""
    try:
        body = json.dumps(plan).encode()  # NaN and Infinity too: not JSON, so a 400
        body = check_dev(http.post("/_dev/faults", content=body), 200, 400, 413)
        if "pending_faults" in body:
            assert 0 <= body["pending_faults"] <= 2_000_000_000
    finally:
        check_dev(http.post("/_dev/reset"), 200)


@FUZZ
@given(raw=st.binary(max_size=80))
def test_any_fault_plan_bytes_get_a_json_answer(http: httpx.Client, raw: bytes) -> None:
    """Bytes that are mostly not JSON, or not UTF-8, as a fault plan: a JSON 400 at worst."""
    try:
        check_dev(http.post("/_dev/faults", content=raw), 200, 400)
    finally:
        check_dev(http.post("/_dev/reset"), 200)


@FUZZ
@given(raw=st.binary(min_size=1, max_size=60))
def test_any_traversal_id_gets_a_json_answer(http: httpx.Client, raw: bytes) -> None:
    """``GET /_dev/traversals/<any bytes>``: a JSON 404 (no traversal has such an id)."""
    segment = quote_from_bytes(raw, safe="")
    if segment in (".", ".."):  # the client resolves these before sending
        segment = quote(segment + "x")
    check_dev(http.get("/_dev/traversals/" + segment), 404)


DEV_PATHS = ["", "health", "traversals", "reset", "faults", "static/mermaid.min.js", "nope"]


@FUZZ
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
    path=st.sampled_from(DEV_PATHS),
    tail=st.binary(max_size=20),
    body=st.binary(max_size=40),
)
def test_any_request_under_dev_gets_an_answer_of_its_kind(
    http: httpx.Client, method: str, path: str, tail: bytes, body: bytes
) -> None:
    """Any method, path and body under ``/_dev/``: JSON (or the page, or the script), never a 500."""
    url = "/_dev/" + path + quote_from_bytes(tail, safe="")
    try:
        answer = http.request(method, url, content=body)
    finally:
        http.post("/_dev/reset")
    assert answer.status_code < 500, (answer.status_code, answer.text[:300])
    kind = answer.headers["content-type"]
    if answer.is_success and url in ("/_dev/", "/_dev/static/mermaid.min.js"):
        assert kind.startswith(("text/html", "text/javascript")), kind
    else:
        check_dev(answer, answer.status_code)


def test_the_server_is_still_healthy_after_fuzzing(http: httpx.Client) -> None:
    """After all that, health answers and a valid spec is still accepted."""
    health = http.get("/_dev/health").json()
    assert health["status"] == "ok"
    assert health["pending_faults"] == 0
    assert http.post("/v1/ingest", json={"graph": _valid_graph()}).status_code == 200
