"""The compiled DAG a run uses: all copies (upstream) or the first-registered one (intended)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
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
    success: list[int] = field(default_factory=list)
    failure: list[int] = field(default_factory=list)
    on_timeout: list[int] = field(default_factory=list)
    conditional: list[tuple[Condition, int]] = field(default_factory=list)


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
    index = {node.id: i for i, node in enumerate(dag.nodes)}
    nodes: list[GraphNode] = []
    for i, compiled in enumerate(dag.nodes):
        timeout = compiled.join_timeout
        nodes.append(
            GraphNode(
                i,
                compiled.kind,
                compiled.label if compiled.label is not None else compiled.address,
                compiled.retry_policy,
                compiled.delivery_strategy,
                compiled.fork_id,
                compiled.join_strategy,
                None if timeout is None else timeout // _MS * 1000,
            )
        )
    edges = dag.edges
    keep: list[bool] = [mode == "upstream"] * len(edges)
    registered = [False] * len(nodes)
    standard_names: set[str] = set()
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
        for child, guard, _ in _children(spec_node):
            edge = edges[position]
            if edge.guard != guard or index[edge.source] != me:  # pragma: no cover - a guard
                raise AssertionError("the compiled edges do not follow the compiler's loop")
            if registering:
                keep[position] = True
            position += 1
            target = index[edge.target]
            stack.append((child, target, not registered[target]))
            registered[target] = True
    for edge, kept in zip(edges, keep, strict=True):
        if not kept:
            continue
        source, target = nodes[index[edge.source]], index[edge.target]
        if edge.guard == "OnSuccess":
            source.success.append(target)
        elif edge.guard == "OnFailure":
            source.failure.append(target)
        elif edge.guard == "OnTimeout":
            source.on_timeout.append(target)
        else:
            assert edge.condition is not None
            source.conditional.append((edge.condition, target))
    pointers = any(has_pointer(c) for node in nodes for c, _ in node.conditional)
    join_of_fork: dict[str, int] = {}
    for node in nodes:
        if node.kind == "join" and node.fork_id is not None:
            join_of_fork.setdefault(node.fork_id, node.index)
    entries = [index[e] for e in dag.entry_points]
    return Graph(nodes, entries, join_of_fork, standard_names, pointers)
