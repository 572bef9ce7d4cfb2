"""What compiling a spec gives: the server's nodes, edges and dagHash."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from .._codec import render_path
from .._edges import Guard
from ..conditions.condition import Condition
from ..parameters import ParameterValue
from ..policies.delivery import DeliveryStrategy
from ..policies.repeat import RepeatPolicy
from ..policies.retry import RetryPolicy
from ..strategies.join import JoinStrategy

__all__ = ["CompiledDag", "CompiledEdge", "CompiledNode", "Guard"]


@dataclass(frozen=True, slots=True)
class CompiledNode:
    """A node of the compiled DAG (a spec node reached on one path, or a shared fork/join)."""

    id: str
    """The server's node id: 16 lower-case hex digits."""
    kind: Literal["standard", "fork", "join"]
    """The node kind."""
    address: str
    """The service address."""
    label: str | None
    """The label of the first spec node compiled to this id."""
    retry_policy: RetryPolicy
    """Its retry policy."""
    delivery_strategy: DeliveryStrategy
    """Its delivery strategy."""
    parameters: tuple[tuple[str, ParameterValue], ...]
    """Its parameters (not part of the dagHash)."""
    fork_id: str | None = None
    """For forks and joins: the server's ForkId (16 upper-case hex digits of the join id)."""
    join_node_id: str | None = None
    """For forks and joins: the join id from the spec."""
    join_strategy: JoinStrategy | None = None
    """For joins: the strategy."""
    join_timeout: timedelta | None = None
    """For joins: the timeout."""
    _path: Any = field(default=None, repr=False, compare=False)

    @property
    def path(self) -> str:
        """Where the spec defines this node, e.g. ``$.entryPoints[0].onSuccess``."""
        return render_path(self._path)


@dataclass(frozen=True, slots=True)
class CompiledEdge:
    """An edge of the compiled DAG."""

    source: str
    """The id of the node the edge leaves."""
    target: str
    """The id of the node it leads to."""
    guard: Guard
    """When it is taken; fork branches are ``OnSuccess`` edges."""
    condition: Condition | None = None
    """For ``Conditional`` edges: the condition."""


@dataclass(frozen=True, slots=True)
class CompiledDag:
    """The result of `Spec.compile`: what the server builds from the spec."""

    dag_hash: str
    """The server's dagHash: 16 lower-case hex digits."""
    entry_points: tuple[str, ...]
    """The ids of the entry nodes, in spec order."""
    nodes: tuple[CompiledNode, ...]
    """Every node, in the order the compiler first reached it."""
    edges: tuple[CompiledEdge, ...]
    """Every edge, in the order the compiler added it (duplicates included, as on the server)."""
    repeat_policy: RepeatPolicy
    """The spec's repeat policy."""
    salt: str = "test"
    """The salt the hash was computed with (the server uses ``"test"``)."""

    def node(self, node_id: str) -> CompiledNode:
        """The node with this id (raises `KeyError` when there is none)."""
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)
