"""The one table of node edges: per node kind, which edges, under which wire key, in wire order.

Every walker reads it: the codec's writers and reader, the compiler, the validator and the join
weaver. Only strings live here, so the model itself (the join weaver) can use it too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .nodes import INode

__all__ = ["EDGES", "Edge", "Guard", "children", "no_join_id"]

Guard = Literal["OnSuccess", "OnFailure", "OnTimeout", "Conditional"]
"""When the server takes a compiled edge; fork branches are ``OnSuccess`` edges."""


@dataclass(frozen=True, slots=True)
class Edge:
    """One edge field of a node kind."""

    attribute: str
    """The node's attribute, e.g. ``on_success_node``."""
    wire: str
    """The wire key, e.g. ``onSuccess``."""
    guard: Guard
    """The guard of the compiled edge."""
    shape: Literal["node", "edges", "branches"]
    """One node (or None), a tuple of `ConditionalEdge`, or a tuple of (name, node) pairs."""


_SUCCESS = Edge("on_success_node", "onSuccess", "OnSuccess", "node")
_FAILURE = Edge("on_failure_node", "onFailure", "OnFailure", "node")

EDGES: dict[str, tuple[Edge, ...]] = {
    "standard": (
        _SUCCESS,
        _FAILURE,
        Edge("conditional_edges", "onConditions", "Conditional", "edges"),
    ),
    "fork": (Edge("branch_nodes", "branches", "OnSuccess", "branches"),),
    "join": (_SUCCESS, _FAILURE, Edge("on_timeout_node", "onTimeout", "OnTimeout", "node")),
}
"""The edges of each node kind, in wire order."""


def children(node: INode) -> Iterator[tuple[Edge, int | str | None, INode]]:
    """Every child of ``node`` in wire order, with its edge and its index or branch name."""
    for edge in EDGES[node.kind]:
        value = getattr(node, edge.attribute)
        if edge.shape == "node":
            if value is not None:
                yield edge, None, value
        elif edge.shape == "edges":
            for index, conditional in enumerate(value):
                yield edge, index, conditional.to
        else:
            for name, branch in value:
                yield edge, name, branch


def no_join_id(kind: str, address: str) -> str:
    """The one wording of "this fork or join has no join id"."""
    how = ".join_id(...)" if kind == "fork" else ".join_id(...) or attach it with fork.joined_by()"
    return (
        f"the {kind} {address!r} has no join_id, which the wire format requires; set it with {how}"
    )
