"""Join nodes: the fan-in of a fork's branches."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, ClassVar

from .._values import check_duration, check_text
from ..errors import SpecError
from ..strategies.join import JoinStrategy
from .base import Node, NodeKind, check_child

if TYPE_CHECKING:
    from . import INode

__all__ = ["JoinNode"]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class JoinNode(Node):
    """The fan-in of a fork. Build with ``Node.join(address)`` and attach with `ForkNode.joined_by`.

    Example:
        >>> Node.join("waygrid://system/waystation").join_id("enrich").strategy(
        ...     JoinStrategy.quorum(2)).timeout(timedelta(seconds=30))
    """

    kind: ClassVar[NodeKind] = "join"

    join_node_id: str | None = None
    """The id shared with the fork (set with `join_id`; taken from the fork by `joined_by`)."""
    join_strategy: JoinStrategy = JoinStrategy.AND
    """When to continue (set with `strategy`; `JoinStrategy.AND` by default)."""
    join_timeout: timedelta | None = None
    """How long to wait for the branches (set with `timeout`)."""
    on_success_node: INode | None = None
    """Where to continue when the join is satisfied (set with `on_success`)."""
    on_failure_node: INode | None = None
    """Where to continue when the join fails (set with `on_failure`)."""
    on_timeout_node: INode | None = None
    """Where to continue when the timeout passes first (set with `on_timeout`)."""

    def __post_init__(self) -> None:
        Node.__post_init__(self)
        if self.join_node_id is not None:
            check_text(self.join_node_id, "join_id()")
        if not isinstance(self.join_strategy, JoinStrategy):
            raise SpecError(f"strategy() expects a JoinStrategy, got {self.join_strategy!r}")
        if self.join_timeout is not None:
            check_duration(self.join_timeout, "timeout()")
        check_child(self.on_success_node, "on_success()")
        check_child(self.on_failure_node, "on_failure()")
        check_child(self.on_timeout_node, "on_timeout()")

    def join_id(self, join_id: str) -> JoinNode:
        """Return a copy with the id that pairs this join with its fork."""
        return dataclasses.replace(self, join_node_id=join_id)

    def strategy(self, strategy: JoinStrategy) -> JoinNode:
        """Return a copy with a join strategy (`JoinStrategy.AND`, `OR`, `quorum(n)`)."""
        return dataclasses.replace(self, join_strategy=strategy)

    def timeout(self, timeout: timedelta) -> JoinNode:
        """Return a copy that stops waiting for branches after ``timeout``."""
        return dataclasses.replace(self, join_timeout=timeout)

    def on_success(self, node: INode) -> JoinNode:
        """Return a copy that continues with ``node`` once the join is satisfied."""
        return dataclasses.replace(self, on_success_node=node)

    def on_failure(self, node: INode) -> JoinNode:
        """Return a copy that continues with ``node`` when the join fails."""
        return dataclasses.replace(self, on_failure_node=node)

    def on_timeout(self, node: INode) -> JoinNode:
        """Return a copy that continues with ``node`` when the timeout passes."""
        return dataclasses.replace(self, on_timeout_node=node)
