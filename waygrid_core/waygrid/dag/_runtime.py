"""Warnings about what the server's runtime (TraversalFSM) would do wrong with a compiled DAG.

`Spec.validate` adds them; the simulator's ``upstream`` mode shows each one happening. Every
check costs time in proportion to the DAG's size: one walk finds the fork branches every node
runs in, and at most `MAX_LISTED` issues of a kind render their paths.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._codec import render_path
from .._edges import Guard
from ..conditions.condition import (
    AlwaysCondition,
    AndCondition,
    Condition,
    JsonEqualsCondition,
    JsonExistsCondition,
    NotCondition,
    OrCondition,
)
from ..errors import ValidationIssue
from ..policies.delivery import Immediate
from ..policies.repeat import NoRepeat, RepeatPolicy
from ..policies.retry import FibonacciRetryPolicy, NoRetryPolicy, RetryPolicy
from ._issues import MAX_LISTED, IssueList

if TYPE_CHECKING:
    from ._compiler import CompiledDag

__all__ = ["evaluate", "graph_warnings", "has_pointer", "runtime_issues", "runtime_warnings"]

_MAX_CHECKED_ATTEMPT = 128
"""Attempts checked for a Backoff overflow (power-based delays saturate long before)."""

_Edge = tuple[Any, Any, Guard, Condition | None]
"""An edge: ``(source id, target id, guard, condition)``."""

_NO_EDGES: tuple[_Edge, ...] = ()

_Scope = tuple[str, str | None, Any] | None
"""The forks whose branches enclose a node, innermost first, linked:
``(fork node id, its fork id, the enclosing scope)``."""


def runtime_issues(compiled: CompiledDag) -> list[ValidationIssue]:
    """Where today's server runtime would misbehave on this DAG, one warning per finding.

    These are the defects the simulator's ``upstream`` mode reproduces (simulator contract
    §5-§7): the server accepts such a spec, but its traversal stalls, fails or never runs parts
    of it. Each warning has the path of the node concerned; `Spec.validate` includes them.

    Example:
        >>> [issue.code for issue in runtime_issues(spec.compile())]
        ['runtime-join-continuation-stalls']
    """
    found = IssueList()
    runtime_warnings(compiled, found)
    return found.issues()


def runtime_warnings(compiled: CompiledDag, found: IssueList) -> None:
    """Add the runtime warnings of ``compiled`` to ``found`` (see `runtime_issues`)."""
    graph = {node.id: (node, node._path) for node in compiled.nodes}
    fork_ids = {node.id: node.fork_id for node in compiled.nodes if node.kind != "standard"}
    outgoing: dict[Any, list[_Edge]] = {}
    for edge in compiled.edges:
        outgoing.setdefault(edge.source, []).append(
            (edge.source, edge.target, edge.guard, edge.condition)
        )
    graph_warnings(compiled.entry_points, graph, outgoing, fork_ids, compiled.repeat_policy, found)


def graph_warnings(
    entry_points: Sequence[Any],
    graph: dict[Any, tuple[Any, ...]],
    outgoing: Mapping[Any, Sequence[_Edge]],
    fork_ids: Mapping[Any, str | None],
    repeat_policy: RepeatPolicy,
    found: IssueList,
) -> None:
    """`runtime_warnings` of a DAG given by its parts, so `Spec.validate` need not build one.

    Args:
        entry_points: The entry nodes' ids, in spec order (ids may be of any hashable type).
        graph: For each node id, in the compiler's order: a node with the ``kind``,
            ``retry_policy`` and ``delivery_strategy`` of the compiled node, its linked path,
            and possibly more (the compiler's own table is passed as it is).
        outgoing: For each node id with edges, its edges in the compiler's order, each
            ``(source id, target id, guard, condition)``.
        fork_ids: The fork id of each fork and join (and of no standard node: this is how
            the walks here tell the kinds apart without reading the nodes).
        repeat_policy: The spec's repeat policy.
        found: Where the warnings go.
    """

    def warn(code: str, node_id: Any, message: str, hint: str) -> None:
        found.add("warning", code, graph[node_id][1], message, hint)

    if not isinstance(repeat_policy, NoRepeat):
        found.add(
            "warning",
            "runtime-repeat-not-executed",
            (None, ".repeatPolicy"),
            "the server never executes repeat policies: the traversal runs once",
            "schedule repeated submissions yourself",
        )
    for index in range(1, len(entry_points)):
        found.add(
            "warning",
            "runtime-entry-never-starts",
            (None, f".entryPoints[{index}]"),
            "only the first entry point is started; this one never runs",
            "submit it as a traversal of its own",
        )
    if not entry_points:
        return
    inside, forks, entries, tally = _branch_scopes(entry_points, graph, outgoing, fork_ids)
    dispatched_as_work: dict[Any, str] = {}
    if graph[entry_points[0]][0].kind != "standard":
        dispatched_as_work[entry_points[0]] = "the entry point"
    delays: dict[RetryPolicy, tuple[str, str] | None] = {}
    delays_by_id: dict[int, tuple[str, str] | None] = {}
    for node_id, entry in graph.items():
        node = entry[0]
        kind = node.kind
        node_edges = outgoing.get(node_id, _NO_EDGES)
        for _, target, guard, _ in node_edges:
            if target not in fork_ids:  # a standard node
                continue
            if guard in ("OnFailure", "OnTimeout"):
                dispatched_as_work.setdefault(target, f"the {guard} target of a node")
            elif kind == "fork":
                dispatched_as_work.setdefault(target, "a fork branch's first node")
        if len(node_edges) > 1 and kind != "fork":  # one next node is never a conflict
            _successor_issues(node_id, kind, node_edges, warn)
        if kind == "standard":
            policy = node.retry_policy
            # Each policy object is hashed once (the reader shares one object per distinct
            # policy; the DAG holds every policy, so no id is reused while this runs).
            if id(policy) in delays_by_id:
                finding = delays_by_id[id(policy)]
            else:
                finding = delays_by_id[id(policy)] = _retry_finding(policy, delays)
            if finding is not None:
                warn("runtime-retry-delay-overflows", node_id, *finding)
            scheduled = not isinstance(node.delivery_strategy, Immediate)
            if scheduled and node_id in inside and node_id not in entries:
                warn(
                    "runtime-scheduled-node-in-branch",
                    node_id,
                    "a scheduled node inside a fork branch loses its branch on the server: "
                    "reaching the join after it is an error",
                    "schedule the work before the fork, or use Immediate delivery",
                )
    _unhandled_in_branches(graph, forks, tally, found, warn)
    for node_id, why in dispatched_as_work.items():
        warn(
            "runtime-control-node-never-answered",
            node_id,
            f"this {graph[node_id][0].kind} is {why}: the server sends it to its address like "
            "a service node, and nothing ever answers for it, so this path stalls",
            "put a standard node before it",
        )


def _successor_issues(node: Any, kind: str, edges: Sequence[_Edge], warn: Any) -> None:
    """Two or more next nodes after a success are an FSM error (`FSM` l.698-832)."""
    conditions = []
    successes = 0
    for _, _, guard, condition in edges:  # one pass: a node can have many (copied) edges
        if guard == "OnSuccess":
            successes += 1
        elif guard == "Conditional":
            conditions.append(condition)
    if any(c is not None and has_pointer(c) for c in conditions):
        return  # today's server rejects JSON-pointer conditions before running anything
    true = sum(1 for c in conditions if isinstance(c, Condition) and evaluate(c))
    if true >= 2:
        warn(
            "runtime-conditions-match-twice",
            node,
            f"{true} of its conditions are true (conditions consult no data): the server "
            "stops here with an error, it does not take the first match",
            "make the conditions exclusive",
        )
        return
    if true == 0 and successes >= 2:
        what = "join's continuation" if kind == "join" else "successor"
        warn(
            "runtime-join-continuation-stalls",
            node,
            f"the compiler duplicates this {what} once per arriving path ({successes} "
            "copies), and the server refuses a node with several successors: the traversal "
            "stalls here",
            "end the traversal at the join, or continue it from a node before the fork",
        )


def _retry_finding(
    policy: RetryPolicy, delays: dict[RetryPolicy, tuple[str, str] | None]
) -> tuple[str, str] | None:
    """The overflow message and hint of ``policy``, if the server cannot compute its retry
    delays (Backoff overflow) or computes them wrapped. Equal policies share one check (in
    ``delays``): a spec with a retry policy on every node costs one check."""
    if isinstance(policy, NoRetryPolicy):
        return None
    if policy not in delays:
        delays[policy] = _overflow_finding(policy)
    return delays[policy]


def _overflow_finding(policy: RetryPolicy) -> tuple[str, str] | None:
    limit = min(getattr(policy, "max_retries", 0), _MAX_CHECKED_ATTEMPT)
    if isinstance(policy, FibonacciRetryPolicy) and policy.max_retries >= 47:
        return (
            "Fibonacci delays wrap around 32 bits from retry 47: the server schedules those "
            "retries in the past",
            "use at most 46 retries",
        )
    if limit < 1 or not _overflows(policy, limit):
        return None
    # Delays only grow with the attempt, so overflowing is monotonic: find the first attempt
    # that overflows in a handful of tries, not one per attempt.
    low, high = 1, limit
    while low < high:
        middle = (low + high) // 2
        if _overflows(policy, middle):
            high = middle
        else:
            low = middle + 1
    return (
        f"the server cannot compute the delay of retry {low} (duration overflow): "
        "that failure is dropped and the traversal stalls",
        f"use at most {low - 1} retries",
    )


def _overflows(policy: RetryPolicy, attempt: int) -> bool:
    try:
        policy.next_delay_ms(attempt)
    except OverflowError:
        return True
    return False


def _branch_scopes(
    entry_points: Sequence[Any],
    graph: dict[Any, tuple[Any, Any]],
    outgoing: Mapping[Any, Sequence[_Edge]],
    fork_ids: Mapping[Any, str | None],
) -> tuple[set[Any], list[tuple[Any, Any]], set[Any], dict[Any, list[Any]]]:
    """One walk from the entry points: the standard nodes that run inside a fork's branch
    (before its join), the forks in the order found with the fork that encloses each, the
    branches' first nodes (whose delivery the server ignores), and the failure tally of each
    fork's own branches (see `_unhandled_in_branches`).

    Each node is placed by the first path that reaches it, in the order of its edges.
    """
    inside: set[Any] = set()
    forks: list[tuple[Any, Any]] = []
    entries: set[Any] = set()
    # Per fork: [unhandled count, first unhandled, handled count, first handled], counted at
    # the innermost fork, in walk order.
    tally: dict[Any, list[Any]] = {}
    seen: set[Any] = set()
    pending: list[tuple[Any, _Scope]] = [(entry, None) for entry in entry_points]
    pending.reverse()
    push, pop = pending.append, pending.pop
    while pending:
        node_id, scope = pop()
        if node_id in seen:
            continue
        seen.add(node_id)
        node_edges = outgoing.get(node_id, _NO_EDGES)
        if node_id not in fork_ids:  # a standard node
            if scope is not None:
                inside.add(node_id)
                slot = 0
                for edge in node_edges:
                    if edge[2] == "OnFailure":
                        slot = 2
                        break
                counts = tally[scope[0]]
                counts[slot] += 1
                if counts[slot + 1] is None:
                    counts[slot + 1] = node_id
        elif graph[node_id][0].kind == "fork":
            forks.append((node_id, None if scope is None else scope[0]))
            tally[node_id] = [0, None, 0, None]
            inner = (node_id, fork_ids[node_id], scope)
            for _, target, guard, _ in reversed(node_edges):
                branch = guard == "OnSuccess"
                if branch:
                    entries.add(target)
                push((target, inner if branch else scope))
            continue
        elif scope is not None and scope[1] == fork_ids[node_id]:  # a join
            scope = scope[2]  # the join closes its fork's branches
        for edge in reversed(node_edges):
            push((edge[1], scope))
    return inside, forks, entries, tally


def _unhandled_in_branches(
    graph: dict[Any, tuple[Any, Any]],
    forks: list[tuple[Any, Any]],
    tally: dict[Any, list[Any]],
    found: IssueList,
    warn: Any,
) -> None:
    """Per fork: failures in its branches (nested forks' included) that never reach its join."""
    # Each fork's own tally is added to each enclosing one (forks are found outer first).
    for fork, parent in reversed(forks):
        if parent is None:
            continue
        inner, outer = tally[fork], tally[parent]
        for slot in (0, 2):
            outer[slot] += inner[slot]
            if outer[slot + 1] is None:
                outer[slot + 1] = inner[slot + 1]
    for fork, _ in forks:
        bare, first_bare, handled, first_handled = tally[fork]
        if bare:
            code = "runtime-branch-failure-fails-traversal"
            example = _example(found, code, graph[first_bare][1])
            warn(
                code,
                fork,
                f"{bare} node(s) in its branches have no on_failure handler{example}: on the "
                "server a failure there fails the whole traversal, not just the branch, so the "
                "join never sees it",
                "give them retry policies; inside a branch an on_failure handler does not "
                "help on today's server (it loses the branch)",
            )
        if handled:
            code = "runtime-failure-path-loses-branch"
            example = _example(found, code, graph[first_handled][1])
            warn(
                code,
                fork,
                f"{handled} node(s) in its branches have an on_failure handler{example}: on the "
                "server the handler runs outside the branch, so reaching the join from it is "
                "an error, and ending without the join completes the whole traversal",
                "handle failures after the join (its on_failure), or with retry policies",
            )


def _example(found: IssueList, code: str, path: Any) -> str:
    """`` (e.g. <path>)`` while issues of ``code`` are still listed: a path costs its depth."""
    if found.counts.get(code, ("warning", 0))[1] >= MAX_LISTED:
        return ""
    return f" (e.g. {render_path(path)})"


def has_pointer(root: Condition) -> bool:
    """Whether the condition uses a JSON pointer (`JsonExists`/`JsonEquals`) anywhere."""
    pending = [root]
    while pending:
        condition = pending.pop()
        if isinstance(condition, (JsonExistsCondition, JsonEqualsCondition)):
            return True
        if isinstance(condition, NotCondition):
            pending.append(condition.condition)
        elif isinstance(condition, (AndCondition, OrCondition)):
            pending.extend(condition.conditions)
    return False


def evaluate(root: Condition) -> bool:
    """The server's ``Condition.eval`` (`COND` l.22-31), without recursion.

    JSON-pointer conditions, which today's server rejects, are false: a scripted node has no
    output, so a pointer finds nothing.
    """
    if isinstance(root, AlwaysCondition):
        return True
    values: dict[int, bool] = {}
    pending: list[tuple[Condition, bool]] = [(root, False)]
    while pending:
        condition, ready = pending.pop()
        if not ready and id(condition) in values:
            continue  # a condition used in several places is evaluated once
        if isinstance(condition, AlwaysCondition):
            values[id(condition)] = True
        elif isinstance(condition, NotCondition):
            if ready:
                values[id(condition)] = not values[id(condition.condition)]
            else:
                pending.append((condition, True))
                pending.append((condition.condition, False))
        elif isinstance(condition, (AndCondition, OrCondition)):
            if ready:
                parts = (values[id(c)] for c in condition.conditions)
                values[id(condition)] = (
                    all(parts) if isinstance(condition, AndCondition) else any(parts)
                )
            else:
                pending.append((condition, True))
                pending.extend((c, False) for c in condition.conditions)
        else:  # JsonExists / JsonEquals
            values[id(condition)] = False
    return values[id(root)]
