"""Hypothesis sends arbitrary bodies: the server always answers 200/4xx/500 with JSON, never hangs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

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


def test_the_server_is_still_healthy_after_fuzzing(http: httpx.Client) -> None:
    """After all that, health answers and a valid spec is still accepted."""
    assert http.get("/_dev/health").json()["status"] == "ok"
    assert http.post("/v1/ingest", json={"graph": _valid_graph()}).status_code == 200
