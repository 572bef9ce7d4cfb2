"""Hypothesis strategies that build arbitrary specs through the public builder API."""

from __future__ import annotations

import contextlib
from datetime import timedelta, timezone

from hypothesis import strategies as st

from waygrid import (
    Condition,
    DeliveryStrategy,
    JoinStrategy,
    Node,
    RepeatPolicy,
    RetryPolicy,
    Secret,
    Spec,
    SpecError,
)
from waygrid.nodes import INode
from waygrid.types import JsonValue

addresses = st.one_of(
    st.sampled_from(["waygrid://processor/a", "waygrid://destination/webhook", "waygrid://system/waystation"]),
    st.from_regex(r"waygrid://[a-z]{1,8}/[a-z0-9-]{1,12}", fullmatch=True),
    st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters='"<>\\^`{|}'), min_size=1, max_size=20),
)  # fmt: skip
labels = st.none() | st.text(max_size=30)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=100_000))
instants = st.datetimes(
    timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=-7, minutes=-30))])
)
int32 = st.integers(-(2**31), 2**31 - 1)
floats = st.floats(allow_nan=False, allow_infinity=False)

retry_policies = st.one_of(
    st.just(RetryPolicy.NONE),
    st.builds(RetryPolicy.linear, durations, int32),
    st.builds(RetryPolicy.exponential, durations, int32),
    st.builds(RetryPolicy.bounded_exponential, durations, durations, int32),
    st.builds(RetryPolicy.fibonacci, durations, int32),
    st.builds(RetryPolicy.polynomial, durations, int32, floats),
    st.builds(RetryPolicy.full_jitter, durations, int32),
    st.builds(RetryPolicy.decorrelated_jitter, durations, int32),
)
deliveries = st.one_of(
    st.just(DeliveryStrategy.IMMEDIATE),
    st.builds(DeliveryStrategy.schedule_after, durations),
    st.builds(DeliveryStrategy.schedule_at, instants),
)
repeats = st.one_of(
    st.just(RepeatPolicy.NO_REPEAT),
    st.builds(RepeatPolicy.indefinitely, durations),
    st.builds(RepeatPolicy.times, durations, st.integers(-(2**63), 2**63 - 1)),
    st.builds(RepeatPolicy.until, durations, instants),
)
strategies_ = st.one_of(
    st.just(JoinStrategy.AND), st.just(JoinStrategy.OR), st.builds(JoinStrategy.quorum, int32)
)
parameter_values = st.one_of(
    st.text(max_size=10), int32, floats, st.booleans(),
    st.builds(Secret, st.text(max_size=10), st.none() | st.text(max_size=5), st.none() | st.text(max_size=5)),
)  # fmt: skip
parameters = st.dictionaries(st.text(max_size=8), parameter_values, max_size=3)
json_values: st.SearchStrategy[JsonValue] = st.recursive(
    st.none() | st.booleans() | st.integers() | floats | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
pointers = st.lists(
    st.text(max_size=5).map(lambda s: s.replace("~", "~0").replace("/", "~1")), max_size=3
).map(lambda parts: "".join("/" + p for p in parts))
conditions: st.SearchStrategy[Condition] = st.recursive(
    st.just(Condition.ALWAYS)
    | st.builds(Condition.json_exists, pointers)
    | st.builds(Condition.json_equals, pointers, json_values),
    lambda inner: (
        st.builds(Condition.not_, inner)
        | st.builds(Condition.and_, st.lists(inner, max_size=3))
        | st.builds(Condition.or_, st.lists(inner, max_size=3))
    ),
    max_leaves=5,
)


def _dress(
    node: INode, label: str | None, retry: RetryPolicy, delivery: DeliveryStrategy, params: dict
) -> INode:  # type: ignore[type-arg]
    node = node.with_retry(retry).with_delivery(delivery).with_parameters(params)
    return node.label(label) if label is not None else node


def _extend(children: st.SearchStrategy[INode]) -> st.SearchStrategy[INode]:
    optional = st.none() | children
    standard = st.builds(
        lambda address, success, failure, edges: _apply(
            Node.standard(address), success, failure, edges
        ),
        addresses,
        optional,
        optional,
        st.lists(st.builds(Condition.when, conditions, children), max_size=2),
    )
    fork = st.builds(
        lambda address, join_id, branches: Node.fork(address).join_id(join_id).branches(branches),
        addresses,
        st.text(max_size=6),
        st.dictionaries(st.text(max_size=6), children, max_size=3),
    )
    join = st.builds(
        lambda address, join_id, strategy, timeout, success, failure, late: _apply_join(
            Node.join(address).join_id(join_id).strategy(strategy), timeout, success, failure, late
        ),
        addresses,
        st.text(max_size=6),
        strategies_,
        st.none() | durations,
        optional,
        optional,
        optional,
    )
    return st.one_of(standard, fork, join)


def _apply(node, success, failure, edges):  # type: ignore[no-untyped-def]
    if success is not None:
        node = node.on_success(success)
    if failure is not None:
        node = node.on_failure(failure)
    return node.on_conditions(edges)


def _apply_join(node, timeout, success, failure, late):  # type: ignore[no-untyped-def]
    if timeout is not None:
        node = node.timeout(timeout)
    for method, child in (("on_success", success), ("on_failure", failure), ("on_timeout", late)):
        if child is not None:
            node = getattr(node, method)(child)
    return node


leaves = st.builds(
    _dress, st.builds(Node.standard, addresses), labels, retry_policies, deliveries, parameters
)
nodes: st.SearchStrategy[INode] = st.recursive(leaves, _extend, max_leaves=8).flatmap(
    lambda node: st.builds(
        lambda lab, r, d, p: _dress(node, lab, r, d, p),
        labels,
        retry_policies,
        deliveries,
        parameters,
    )
)
specs = st.builds(
    lambda entries, repeat: Spec.multiple(entries, repeat),
    st.lists(nodes, min_size=1, max_size=3),
    repeats,
)


@st.composite
def nested_forks(draw: st.DrawFn, *, max_size: int, steps: bool = False) -> Spec:
    """Forks nested in forks' branches, reusing the join ids "", "j" and "k" (the shapes that
    give one compiled id several depths, and loops), each fork joined or not at random; with
    ``steps``, some are the continuation of a standard node."""
    node: INode = Node.standard("waygrid://p/leaf")
    for join_id in draw(st.lists(st.sampled_from(["", "j", "k"]), min_size=1, max_size=max_size)):
        fork = Node.fork("waygrid://s/f").join_id(join_id)
        fork = fork.branches({"a": node, "b": Node.standard("waygrid://p/b")})
        node = fork
        if draw(st.booleans()):
            with contextlib.suppress(SpecError):  # joined_by refuses some reuses of an id
                node = fork.joined_by(Node.join("waygrid://s/j").join_id(join_id))
        if steps and draw(st.booleans()):
            node = Node.standard("waygrid://p/step").on_success(node)
    return Spec.single(node)
