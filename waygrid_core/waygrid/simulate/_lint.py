"""Warnings about what the server's runtime (TraversalFSM) would do wrong with a compiled DAG."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..conditions.condition import Condition
from ..errors import ValidationIssue
from ..policies.delivery import Immediate
from ..policies.repeat import NoRepeat
from ..policies.retry import FibonacciRetryPolicy, NoRetryPolicy
from ._graph import evaluate, has_pointer

if TYPE_CHECKING:
    from ..dag import CompiledDag, CompiledEdge, CompiledNode

__all__ = ["runtime_issues"]

_MAX_CHECKED_ATTEMPT = 128
"""Attempts checked for a Backoff overflow (power-based delays saturate long before)."""


def _warning(code: str, node: CompiledNode | str, message: str, hint: str) -> ValidationIssue:
    path = node if isinstance(node, str) else node.path
    return ValidationIssue("warning", code, path, message, hint)


def runtime_issues(compiled: CompiledDag) -> list[ValidationIssue]:
    """Where today's server runtime would misbehave on this DAG, one warning per finding.

    These are the defects the simulator's ``upstream`` mode reproduces (simulator contract
    §5-§7): the server accepts such a spec, but its traversal stalls, fails or never runs parts
    of it. Each warning has the path of the node concerned.

    Example:
        >>> [issue.code for issue in runtime_issues(spec.compile())]
        ['runtime-join-continuation-stalls']
    """
    nodes = {node.id: node for node in compiled.nodes}
    outgoing: dict[str, list[CompiledEdge]] = {}
    for edge in compiled.edges:
        outgoing.setdefault(edge.source, []).append(edge)
    issues: list[ValidationIssue] = []
    if not isinstance(compiled.repeat_policy, NoRepeat):
        issues.append(
            _warning(
                "runtime-repeat-not-executed",
                "$.repeatPolicy",
                "the server never executes repeat policies: the traversal runs once",
                "schedule repeated submissions yourself",
            )
        )
    for index in range(1, len(compiled.entry_points)):
        issues.append(
            _warning(
                "runtime-entry-never-starts",
                f"$.entryPoints[{index}]",
                "only the first entry point is started; this one never runs",
                "submit it as a traversal of its own",
            )
        )
    entry = nodes[compiled.entry_points[0]]
    inside, entries = _nodes_in_branches(compiled, outgoing)
    dispatched_as_work: dict[str, str] = {}
    if entry.kind != "standard":
        dispatched_as_work[entry.id] = "the entry point"
    for node in compiled.nodes:
        edges = outgoing.get(node.id, [])
        for edge in edges:
            target = nodes[edge.target]
            if target.kind == "standard":
                continue
            if edge.guard in ("OnFailure", "OnTimeout"):
                dispatched_as_work.setdefault(target.id, f"the {edge.guard} target of a node")
            elif node.kind == "fork":
                dispatched_as_work.setdefault(target.id, "a fork branch's first node")
        if node.kind != "fork":
            issues.extend(_successor_issues(node, edges, nodes))
        if node.kind == "standard":
            issues.extend(_retry_issues(node))
            scheduled = not isinstance(node.delivery_strategy, Immediate)
            if scheduled and node.id in inside and node.id not in entries:
                issues.append(
                    _warning(
                        "runtime-scheduled-node-in-branch",
                        node,
                        "a scheduled node inside a fork branch loses its branch on the server: "
                        "reaching the join after it is an error",
                        "schedule the work before the fork, or use Immediate delivery",
                    )
                )
    issues.extend(_unhandled_in_branches(compiled, outgoing))
    for node_id, why in dispatched_as_work.items():
        node = nodes[node_id]
        issues.append(
            _warning(
                "runtime-control-node-never-answered",
                node,
                f"this {node.kind} is {why}: the server sends it to its address like a service "
                "node, and nothing ever answers for it, so this path stalls",
                "put a standard node before it",
            )
        )
    return issues


def _successor_issues(
    node: CompiledNode, edges: list[CompiledEdge], nodes: dict[str, CompiledNode]
) -> list[ValidationIssue]:
    """Two or more next nodes after a success are an FSM error (`FSM` l.698-832)."""
    conditions = [e.condition for e in edges if e.guard == "Conditional"]
    if any(c is not None and has_pointer(c) for c in conditions):
        return []  # today's server rejects JSON-pointer conditions before running anything
    true = sum(1 for c in conditions if isinstance(c, Condition) and evaluate(c))
    if true >= 2:
        return [
            _warning(
                "runtime-conditions-match-twice",
                node,
                f"{true} of its conditions are true (conditions consult no data): the server "
                "stops here with an error, it does not take the first match",
                "make the conditions exclusive",
            )
        ]
    successes = sum(1 for e in edges if e.guard == "OnSuccess")
    if true == 0 and successes >= 2:
        what = "join's continuation" if node.kind == "join" else "successor"
        return [
            _warning(
                "runtime-join-continuation-stalls",
                node,
                f"the compiler duplicates this {what} once per arriving path ({successes} "
                "copies), and the server refuses a node with several successors: the traversal "
                "stalls here",
                "end the traversal at the join, or continue it from a node before the fork",
            )
        ]
    return []


def _retry_issues(node: CompiledNode) -> list[ValidationIssue]:
    """Retry delays the server cannot compute (Backoff overflow) or computes wrapped."""
    policy = node.retry_policy
    if isinstance(policy, NoRetryPolicy):
        return []
    limit = min(getattr(policy, "max_retries", 0), _MAX_CHECKED_ATTEMPT)
    if isinstance(policy, FibonacciRetryPolicy) and policy.max_retries >= 47:
        return [
            _warning(
                "runtime-retry-delay-overflows",
                node,
                "Fibonacci delays wrap around 32 bits from retry 47: the server schedules those "
                "retries in the past",
                "use at most 46 retries",
            )
        ]
    for attempt in range(1, limit + 1):
        try:
            policy.next_delay_ms(attempt)
        except OverflowError:
            return [
                _warning(
                    "runtime-retry-delay-overflows",
                    node,
                    f"the server cannot compute the delay of retry {attempt} (duration overflow): "
                    "that failure is dropped and the traversal stalls",
                    f"use at most {attempt - 1} retries",
                )
            ]
    return []


def _unhandled_in_branches(
    compiled: CompiledDag, outgoing: dict[str, list[CompiledEdge]]
) -> list[ValidationIssue]:
    """Per fork: failures in its branches that never reach its join on the server."""
    issues = []
    nodes = {node.id: node for node in compiled.nodes}
    for fork in compiled.nodes:
        if fork.kind != "fork":
            continue
        inside, _ = _nodes_in_branches(compiled, outgoing, only=fork)
        standard = [nodes[n] for n in inside if nodes[n].kind == "standard"]
        handled = [
            n for n in standard if any(e.guard == "OnFailure" for e in outgoing.get(n.id, ()))
        ]
        bare = [n for n in standard if n not in handled]
        if bare:
            first = min(bare, key=lambda node: node.path)
            issues.append(
                _warning(
                    "runtime-branch-failure-fails-traversal",
                    fork,
                    f"{len(bare)} node(s) in its branches have no on_failure handler (e.g. "
                    f"{first.path}): on the server a failure there fails the whole traversal, "
                    "not just the branch, so the join never sees it",
                    "give them retry policies; inside a branch an on_failure handler does not "
                    "help on today's server (it loses the branch)",
                )
            )
        if handled:
            first = min(handled, key=lambda node: node.path)
            issues.append(
                _warning(
                    "runtime-failure-path-loses-branch",
                    fork,
                    f"{len(handled)} node(s) in its branches have an on_failure handler (e.g. "
                    f"{first.path}): on the server the handler runs outside the branch, so "
                    "reaching the join from it is an error, and ending without the join "
                    "completes the whole traversal",
                    "handle failures after the join (its on_failure), or with retry policies",
                )
            )
    return issues


def _nodes_in_branches(
    compiled: CompiledDag,
    outgoing: dict[str, list[CompiledEdge]],
    only: CompiledNode | None = None,
) -> tuple[set[str], set[str]]:
    """The ids of the nodes that run inside a fork branch (before its join), and the branches'
    first nodes (whose delivery the server ignores)."""
    joins = {node.fork_id: node.id for node in compiled.nodes if node.kind == "join"}
    inside: set[str] = set()
    entries: set[str] = set()
    for fork in compiled.nodes if only is None else [only]:
        if fork.kind != "fork":
            continue
        stop = joins.get(fork.fork_id)
        pending = [e.target for e in outgoing.get(fork.id, []) if e.guard == "OnSuccess"]
        entries.update(pending)
        seen: set[str] = set()
        while pending:
            current = pending.pop()
            if current in seen or current == stop:
                continue
            seen.add(current)
            inside.add(current)
            pending.extend(e.target for e in outgoing.get(current, []))
    return inside, entries
