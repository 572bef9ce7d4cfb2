"""Standard nodes: one processing step with success, failure and conditional continuations."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from ..conditions.condition import ConditionalEdge
from ..errors import SpecError
from .base import Node, NodeKind, check_child

if TYPE_CHECKING:
    from . import INode

__all__ = ["StandardNode"]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class StandardNode(Node):
    """A processing step. Build with ``Node.standard(address)``.

    Example:
        >>> Node.standard("waygrid://processor/openai").on_success(
        ...     Node.standard("waygrid://destination/webhook"))
    """

    kind: ClassVar[NodeKind] = "standard"

    on_success_node: INode | None = None
    """Where to continue when the step succeeds (set with `on_success`)."""
    on_failure_node: INode | None = None
    """Where to continue when the step fails for good (set with `on_failure`)."""
    conditional_edges: tuple[ConditionalEdge, ...] = field(default=())
    """Edges taken instead of ``on_success`` when their condition holds (`on_conditions`)."""

    def __post_init__(self) -> None:
        Node.__post_init__(self)
        check_child(self.on_success_node, "on_success()")
        check_child(self.on_failure_node, "on_failure()")
        if not isinstance(self.conditional_edges, tuple):
            object.__setattr__(self, "conditional_edges", tuple(self.conditional_edges))
        for edge in self.conditional_edges:
            if not isinstance(edge, ConditionalEdge):
                raise SpecError(
                    "on_conditions() expects edges built with Condition.when(condition, node), "
                    f"got {type(edge).__name__} {edge!r}"
                )

    def on_success(self, node: INode) -> StandardNode:
        """Return a copy that continues with ``node`` on success."""
        return dataclasses.replace(self, on_success_node=node)

    def on_failure(self, node: INode) -> StandardNode:
        """Return a copy that continues with ``node`` when the step fails after its retries."""
        return dataclasses.replace(self, on_failure_node=node)

    def on_conditions(self, edges: Iterable[ConditionalEdge]) -> StandardNode:
        """Return a copy with these conditional edges (replacing any set before).

        Example:
            >>> node.on_conditions([Condition.when(Condition.ALWAYS, audit_node)])
        """
        return dataclasses.replace(self, conditional_edges=tuple(edges))
