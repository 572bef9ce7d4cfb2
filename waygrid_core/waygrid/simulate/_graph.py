"""The compiled DAG a run uses: all copies (upstream) or the first-registered one (intended)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from operator import attrgetter
from typing import TYPE_CHECKING, Literal

from ..conditions.condition import Condition
from ..dag._runtime import evaluate, has_pointer
from ..nodes import ForkNode, INode, JoinNode, StandardNode
from ..policies.delivery import DeliveryStrategy
from ..policies.retry import RetryPolicy
from ..strategies.join import JoinStrategy

if TYPE_CHECKING:
    from ..dag import CompiledDag
    from ..spec import Spec

__all__ = ["Graph", "GraphNode", "build_graph", "evaluate", "has_pointer"]

Mode = Literal["intended", "upstream"]
_MS = timedelta(milliseconds=1)


@dataclass(slots=True, eq=False)
class GraphNode:
    """One compiled node with its outgoing edges, by guard, in the compiler's order."""

    index: int
    kind: Literal["standard", "fork", "join"]
    name: str
    retry: RetryPolicy
    delivery: DeliveryStrategy
    fork_id: str | None = None
    strategy: JoinStrategy | None = None
    timeout_us: int | None = None
    """For joins: the timeout truncated to whole milliseconds, in microseconds."""
    # Most nodes have one kind of edge or none: the others share the empty tuple.
    success: Sequence[int] = ()
    failure: Sequence[int] = ()
    on_timeout: Sequence[int] = ()
    conditional: Sequence[tuple[Condition, int]] = ()


@dataclass(slots=True, eq=False)
class Graph:
    """The graph one simulation runs."""

    nodes: list[GraphNode]
    entries: list[int]
    join_of_fork: dict[str, int]
    standard_names: set[str]
    """The names of the spec's standard nodes (what a script may name)."""
    pointer_conditions: bool = False
    """Whether a condition it runs uses a JSON pointer (evaluated as false)."""


def _children(node: INode) -> list[tuple[INode, str, Condition | None]]:
    """A spec node's children in the compiler's order, with the guard of each edge."""
    kind = type(node)
    if kind is StandardNode:
        std: StandardNode = node  # type: ignore[assignment]
        out: list[tuple[INode, str, Condition | None]] = []
        if std.on_failure_node is not None:
            out.append((std.on_failure_node, "OnFailure", None))
        if std.on_success_node is not None:
            out.append((std.on_success_node, "OnSuccess", None))
        out.extend((edge.to, "Conditional", edge.condition) for edge in std.conditional_edges)
        return out
    if kind is ForkNode:
        return [(branch, "OnSuccess", None) for _, branch in node.branch_nodes]  # type: ignore[union-attr]
    join: JoinNode = node  # type: ignore[assignment]
    out = []
    if join.on_success_node is not None:
        out.append((join.on_success_node, "OnSuccess", None))
    if join.on_failure_node is not None:
        out.append((join.on_failure_node, "OnFailure", None))
    if join.on_timeout_node is not None:
        out.append((join.on_timeout_node, "OnTimeout", None))
    return out


def build_graph(spec: Spec, dag: CompiledDag, mode: Mode) -> Graph:
    """The graph to run, from the spec and its compiled DAG.

    The compiler appends the edges of one processed frame together, in the order of the spec
    node's children, so walking the spec with the compiler's own stack, in step with
    ``dag.edges``, tells which frame registered each id and which frame added each edge.
    """
    index = dict(zip(map(attrgetter("id"), dag.nodes), range(len(dag.nodes)), strict=True))
    nodes: list[GraphNode] = []
    join_of_fork: dict[str, int] = {}
    for i, compiled in enumerate(dag.nodes):
        timeout, label, kind = compiled.join_timeout, compiled.label, compiled.kind
        nodes.append(
            GraphNode(
                i,
                kind,
                label if label is not None else compiled.address,
                compiled.retry_policy,
                compiled.delivery_strategy,
                compiled.fork_id,
                compiled.join_strategy,
                None if timeout is None else timeout // _MS * 1000,
            )
        )
        if kind == "join" and compiled.fork_id is not None:
            join_of_fork.setdefault(compiled.fork_id, i)
    edges = dag.edges
    upstream = mode == "upstream"
    registered = [False] * len(nodes)
    standard_names: set[str] = set()
    success: dict[int, list[int]] = {}
    failure: dict[int, list[int]] = {}
    on_timeout: dict[int, list[int]] = {}
    conditional: dict[int, list[tuple[Condition, int]]] = {}
    stack: list[tuple[INode, int, bool]] = []
    for spec_node, node_id in zip(spec.entry_points, dag.entry_points, strict=True):
        me = index[node_id]
        stack.append((spec_node, me, not registered[me]))
        registered[me] = True
    position = 0
    while stack:
        spec_node, me, registering = stack.pop()
        if type(spec_node) is StandardNode:
            standard_names.add(
                spec_node.label_text if spec_node.label_text is not None else spec_node.address
            )
        keep = registering or upstream
        # The walk meets the edges in the compiler's order: a kept edge is added at once.
        for child, guard, _ in _children(spec_node):
            edge = edges[position]
            if edge.guard != guard or index[edge.source] != me:  # pragma: no cover - a guard
                raise AssertionError("the compiled edges do not follow the compiler's loop")
            position += 1
            target = index[edge.target]
            if keep:
                if guard == "Conditional":
                    assert edge.condition is not None
                    conditional.setdefault(me, []).append((edge.condition, target))
                else:
                    by_source = (
                        success
                        if guard == "OnSuccess"
                        else failure
                        if guard == "OnFailure"
                        else on_timeout
                    )
                    targets = by_source.get(me)
                    if targets is None:
                        by_source[me] = [target]
                    else:
                        targets.append(target)
            stack.append((child, target, not registered[target]))
            registered[target] = True
    if position != len(edges):  # pragma: no cover - a guard
        raise AssertionError("the compiled edges do not follow the compiler's loop")
    for me, targets in success.items():
        nodes[me].success = targets
    for me, targets in failure.items():
        nodes[me].failure = targets
    for me, targets in on_timeout.items():
        nodes[me].on_timeout = targets
    for me, guarded in conditional.items():
        nodes[me].conditional = guarded
    pointers = any(has_pointer(c) for guarded in conditional.values() for c, _ in guarded)
    entries = [index[e] for e in dag.entry_points]
    return Graph(nodes, entries, join_of_fork, standard_names, pointers)
