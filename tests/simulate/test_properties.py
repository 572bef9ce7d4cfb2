"""Hypothesis properties of the simulator: deterministic, monotonic, terminating, typed errors."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from waygrid import (
    DeliveryStrategy,
    JoinStrategy,
    Node,
    RetryPolicy,
    Spec,
    SpecValidationError,
)
from waygrid.nodes import INode
from waygrid.simulate import simulate

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
NAMES = ["a", "b", "c", "d", "e", "f"]
_ids = itertools.count()

small = st.timedeltas(min_value=timedelta(0), max_value=timedelta(seconds=5))
retries = st.one_of(
    st.just(RetryPolicy.NONE),
    st.builds(RetryPolicy.linear, small, st.integers(0, 3)),
    st.builds(RetryPolicy.exponential, small, st.integers(0, 3)),
    st.builds(RetryPolicy.bounded_exponential, small, small, st.integers(0, 3)),
    st.builds(RetryPolicy.fibonacci, small, st.integers(0, 3)),
    st.builds(RetryPolicy.polynomial, small, st.integers(0, 3), st.floats(0, 3)),
    st.builds(RetryPolicy.full_jitter, small, st.integers(0, 3)),
    st.builds(RetryPolicy.decorrelated_jitter, small, st.integers(0, 3)),
)
deliveries = st.one_of(
    st.just(DeliveryStrategy.IMMEDIATE),
    st.builds(DeliveryStrategy.schedule_after, small),
    st.builds(
        DeliveryStrategy.schedule_at,
        st.datetimes(min_value=datetime(2025, 12, 31), max_value=datetime(2026, 1, 1, 0, 1)).map(
            lambda d: d.replace(tzinfo=timezone.utc)
        ),
    ),
)
join_strategies = st.one_of(
    st.just(JoinStrategy.AND),
    st.just(JoinStrategy.OR),
    st.builds(JoinStrategy.quorum, st.integers(0, 4)),
)


def _standard(name: str, retry: RetryPolicy, delivery: DeliveryStrategy) -> INode:
    return (
        Node.standard(f"waygrid://processor/{name}")
        .label(name)
        .with_retry(retry)
        .with_delivery(delivery)
    )


leaves = st.builds(_standard, st.sampled_from(NAMES), retries, deliveries)


def _chain(first: INode, success: INode | None, failure: INode | None) -> INode:
    if type(first).__name__ != "StandardNode":
        return first
    node = first
    if success is not None:
        node = node.on_success(success)  # type: ignore[attr-defined]
    if failure is not None:
        node = node.on_failure(failure)  # type: ignore[attr-defined]
    return node


def _woven(
    branches: dict[str, INode],
    strategy: JoinStrategy,
    timeout: timedelta | None,
    continuation: INode | None,
) -> INode:
    join_id = f"j{next(_ids)}"
    join = Node.join("waygrid://system/waystation").label(f"join-{join_id}").strategy(strategy)
    if timeout is not None:
        join = join.timeout(timeout)
    if continuation is not None:
        join = join.on_success(continuation)
    return (
        Node.fork("waygrid://system/waystation")
        .label(f"fork-{join_id}")
        .join_id(join_id)
        .branches(branches)
        .joined_by(join.join_id(join_id))
    )


def _extend(children: st.SearchStrategy[INode]) -> st.SearchStrategy[INode]:
    return st.one_of(
        st.builds(_chain, leaves, st.none() | children, st.none() | leaves),
        st.builds(
            _woven,
            st.dictionaries(
                st.sampled_from(["x", "y", "z", "w"]), children, min_size=2, max_size=3
            ),
            join_strategies,
            st.none() | small,
            st.none() | leaves,
        ),
    )


nodes = st.recursive(leaves, _extend, max_leaves=6)
outcomes = st.one_of(
    st.sampled_from(["ok", "fail"]),
    st.builds(
        lambda o, ms: {"outcome": o, "afterMs": ms},
        st.sampled_from(["ok", "fail"]),
        st.integers(0, 3000),
    ),
)
scripts = st.dictionaries(st.sampled_from(NAMES), st.lists(outcomes, max_size=4), max_size=6)
hanging = st.dictionaries(
    st.sampled_from(NAMES), st.lists(outcomes | st.just("hang"), max_size=4), max_size=6
)
PROFILE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _spec(entry: INode) -> Spec:
    spec = Spec.single(
        _standard("entry", RetryPolicy.NONE, DeliveryStrategy.IMMEDIATE).on_success(entry)
    )
    try:
        spec.compile()
    except SpecValidationError:
        assume(False)
    return spec


def _names(spec: Spec) -> dict[str, Any]:
    return spec.to_dict()


@PROFILE
@given(nodes, hanging, st.sampled_from(["intended", "upstream"]), st.integers(0, 2**32))
def test_deterministic_for_fixed_arguments(
    entry: INode, script: dict[str, Any], mode: str, seed: int
) -> None:
    """Two runs with the same arguments give the same result."""
    spec = _spec(entry)
    script = {k: v for k, v in script.items() if k in _used(spec)}
    first = simulate(spec, script=script, mode=mode, seed=seed)  # type: ignore[arg-type]
    second = simulate(spec, script=script, mode=mode, seed=seed)  # type: ignore[arg-type]
    assert first == second
    assert first.to_dict() == second.to_dict()


@PROFILE
@given(nodes, hanging, st.sampled_from(["intended", "upstream"]), st.integers(0, 100))
def test_times_never_go_back(entry: INode, script: dict[str, Any], mode: str, seed: int) -> None:
    """Event and dispatch times never decrease, and the run ends at its last event."""
    spec = _spec(entry)
    script = {k: v for k, v in script.items() if k in _used(spec)}
    run = simulate(spec, script=script, mode=mode, seed=seed)  # type: ignore[arg-type]
    times = [event.at for event in run.events]
    assert times == sorted(times)
    assert [d.at for d in run.dispatches] == sorted(d.at for d in run.dispatches)
    assert run.events[-1].kind == run.status and run.events[-1].at == run.duration
    assert all(d.at >= timedelta(0) for d in run.dispatches)


@PROFILE
@given(nodes, scripts, st.integers(0, 100))
def test_intended_woven_fork_join_always_ends(
    entry: INode, script: dict[str, Any], seed: int
) -> None:
    """Without hanging nodes, an intended run of a joined_by fork/join completes or fails."""
    spec = _spec(entry)
    script = {k: v for k, v in script.items() if k in _used(spec)}
    run = simulate(spec, script=script, seed=seed)
    assert run.status in ("completed", "failed"), run.timeline()


json_like = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats() | st.text(max_size=6)
    | st.sampled_from(["ok", "fail", "hang", "outcome", "afterMs"]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["outcome", "afterMs", "x"]) | st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)  # fmt: skip


@PROFILE
@given(
    nodes,
    st.dictionaries(
        st.sampled_from([*NAMES, "entry", "nope"]) | st.text(max_size=4), json_like, max_size=4
    )
    | json_like,
)
def test_random_scripts_raise_only_value_error(entry: INode, script: Any) -> None:
    """Any script either runs or raises the documented ValueError."""
    spec = _spec(entry)
    try:
        run = simulate(spec, script=script)
    except ValueError:
        return
    assert run.status in ("completed", "failed", "stalled")


def _used(spec: Spec) -> set[str]:
    """The labels of the spec's standard nodes."""
    found: set[str] = set()
    pending: list[Any] = [spec.to_dict()]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            if item.get("type") == "standard" and "label" in item:
                found.add(item["label"])
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return found
