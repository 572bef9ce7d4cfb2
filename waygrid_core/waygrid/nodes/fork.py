"""Fork nodes: fan-out to parallel branches, and weaving the join into them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from .._edges import EDGES, Edge, children
from .._values import check_text
from ..conditions.condition import ConditionalEdge
from ..errors import SpecError
from .base import Node, NodeKind, check_child
from .join import JoinNode
from .standard import StandardNode

if TYPE_CHECKING:
    from . import INode

__all__ = ["ForkNode"]


def branch_order(item: tuple[str, object]) -> bytes:
    # The server sorts branch names with Java's String.compareTo: UTF-16 code-unit order.
    return item[0].encode("utf-16-be", "surrogatepass")


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ForkNode(Node):
    """A fan-out to parallel branches. Build with ``Node.fork(address)``.

    The server never creates a join: every path of every branch must end in the join node.
    Build the join separately and attach it with `joined_by`, which weaves it into each branch.

    Example:
        >>> fork = (Node.fork("waygrid://system/waystation").join_id("p")
        ...     .branches({"a": Node.standard("waygrid://processor/a"),
        ...                "b": Node.standard("waygrid://processor/b")})
        ...     .joined_by(Node.join("waygrid://system/waystation")))
    """

    kind: ClassVar[NodeKind] = "fork"

    branch_nodes: tuple[tuple[str, INode], ...] = field(default=())
    """The branches by name, in the server's order (set with `branches`; ``dict(...)``)."""
    join_node_id: str | None = None
    """The id shared with the join (set with `join_id`)."""

    def __post_init__(self) -> None:
        Node.__post_init__(self)
        if self.join_node_id is not None:
            check_text(self.join_node_id, "join_id()")
        branches = self.branch_nodes
        if not isinstance(branches, tuple):
            branches = tuple(branches)
        for item in branches:
            if not (isinstance(item, tuple) and len(item) == 2):
                raise SpecError(f"branches must be (name, node) pairs, got {item!r}")
            check_text(item[0], "branch name")
            check_child(item[1], f"branch {item[0]!r}")
            if item[1] is None:
                raise SpecError(f"branch {item[0]!r} must be a node, got None")
        ordered = tuple(sorted(branches, key=branch_order))
        if len({name for name, _ in ordered}) != len(ordered):
            raise SpecError("branch names must be unique")
        if ordered != branches:
            object.__setattr__(self, "branch_nodes", ordered)

    def join_id(self, join_id: str) -> ForkNode:
        """Return a copy with the id that pairs this fork with its join."""
        if self.join_node_id is not None and join_id != self.join_node_id and self._is_woven():
            raise SpecError(
                "join_id() cannot change the id of a fork whose join is already woven in; "
                "call join_id() before joined_by()"
            )
        return dataclasses.replace(self, join_node_id=join_id)

    def branches(self, branches: Mapping[str, INode] | Iterable[tuple[str, INode]]) -> ForkNode:
        """Return a copy with these branches (replacing any set before).

        Raises:
            SpecError: if `joined_by` was already called; call it last.
        """
        if self._is_woven():
            raise SpecError(
                "branches() was called after joined_by(): the join is woven into the existing "
                "branches; set the branches first and call joined_by() last"
            )
        items = branches.items() if isinstance(branches, Mapping) else branches
        return dataclasses.replace(self, branch_nodes=tuple(items))

    def joined_by(self, join: JoinNode) -> ForkNode:
        """Return a copy whose branches all end in ``join`` (call it after `branches`).

        The join is appended, with its whole continuation, to every path of every branch
        (along ``on_success`` and conditional edges; failure paths are left alone), which is
        the form the server needs. A nested fork's paths continue after that fork's join.

        Raises:
            SpecError: when the join ids differ, a branch already ends in a different join
                (``conflicting-join``), or reaches the join of a fork it is not inside
                (``branch-escapes-fork``).
        """
        if not isinstance(join, JoinNode):
            raise SpecError(f"joined_by() expects a join node (Node.join), got {join!r}")
        fork_id, join_id = self.join_node_id, join.join_node_id
        if fork_id is not None and join_id is not None and fork_id != join_id:
            raise SpecError(
                f"joined_by(): the fork's join_id {fork_id!r} differs from the join's {join_id!r}"
            )
        shared_id = fork_id if fork_id is not None else join_id
        if shared_id is None:
            raise SpecError("joined_by(): give the fork (or the join) a join_id() first")
        if join_id is None:
            join = join.join_id(shared_id)
        if not self.branch_nodes:
            raise SpecError("joined_by(): the fork has no branches; call branches() first")
        woven = tuple(
            (name, _weave(node, join, shared_id, name)) for name, node in self.branch_nodes
        )
        return dataclasses.replace(self, branch_nodes=woven, join_node_id=shared_id)

    def _is_woven(self) -> bool:
        return self.join_node_id is not None and any(
            _reaches_join(node, self.join_node_id) for _, node in self.branch_nodes
        )


def _reaches_join(root: INode, join_id: str) -> bool:
    """Whether a join with ``join_id`` is reachable from ``root`` along any edge."""
    pending: list[INode] = [root]
    while pending:
        node = pending.pop()
        if isinstance(node, JoinNode) and node.join_node_id == join_id:
            return True
        pending.extend(child for _, _, child in children(node))
    return False


# Weaving follows the success and conditional edges (fork branches are success edges);
# failure and timeout paths are left alone.
_WOVEN = {
    kind: tuple(edge for edge in edges if edge.guard in ("OnSuccess", "Conditional"))
    for kind, edges in EDGES.items()
}


class _Task:
    """One node to rewrite while weaving: its children are rewritten first."""

    __slots__ = ("children", "context", "edges", "node", "result")

    def __init__(self, node: INode, context: tuple[str, ...]) -> None:
        self.node = node
        self.context = context  # join ids of the nested forks we are inside, innermost last
        self.edges: tuple[Edge, ...] = ()  # the edges whose targets `children` holds, in order
        self.children: list[_Task | INode | None] | None = None
        self.result: INode | None = None


def _weave(root: INode, join: JoinNode, join_id: str, branch: str) -> INode:
    """Append ``join`` to every path of one branch, without recursion."""
    top = _Task(root, ())
    stack = [top]
    while stack:
        task = stack[-1]
        if task.children is None:
            task.children = _plan(task, join, join_id, branch)
            stack.extend(c for c in task.children if isinstance(c, _Task))
            continue
        stack.pop()
        task.result = _rebuild(task)
    assert top.result is not None
    return top.result


def _follow(task: _Task, context: tuple[str, ...], join: JoinNode) -> list[_Task | INode | None]:
    """The woven edges' targets as tasks; a missing success edge gets the join (at the top)."""
    node = task.node
    task.edges = _WOVEN[node.kind]
    planned: list[_Task | INode | None] = []
    for edge in task.edges:
        value = getattr(node, edge.attribute)
        if edge.shape == "node":
            planned.append(
                _Task(value, context) if value is not None else None if context else join
            )
        elif edge.shape == "edges":
            planned.extend(_Task(conditional.to, context) for conditional in value)
        else:
            nested = (*context, node.join_node_id)  # type: ignore[union-attr]
            planned.extend(_Task(child, nested) for _, child in value)  # type: ignore[arg-type]
    return planned


def _plan(task: _Task, join: JoinNode, join_id: str, branch: str) -> list[_Task | INode | None]:
    node, context = task.node, task.context
    where = f"branch {branch!r} of fork {join_id!r}, at node {node.address!r}"
    if isinstance(node, StandardNode):
        return _follow(task, context, join)
    if isinstance(node, ForkNode):
        nested = node.join_node_id
        if nested is None or nested == join_id:
            raise SpecError(
                f"{where}: a nested fork needs its own join_id, different from {join_id!r}"
            )
        if not any(_reaches_join(child, nested) for _, child in node.branch_nodes):
            raise SpecError(
                f"{where}: the nested fork {nested!r} has no join; call joined_by() on it first"
            )
        return _follow(task, context, join)
    if context and node.join_node_id == context[-1]:
        return _follow(task, context[:-1], join)
    if not context and node.join_node_id == join_id:
        if node == join:
            return []
        raise SpecError(
            f"{where}: conflicting-join: the branch already ends in a different join with the "
            f"id {join_id!r}"
        )
    raise SpecError(
        f"{where}: branch-escapes-fork: the branch reaches the join {node.join_node_id!r}, "
        "which belongs to no fork it is inside"
    )


def _rebuild(task: _Task) -> INode:
    node = task.node
    done = iter([c.result if isinstance(c, _Task) else c for c in task.children or []])
    changes: dict[str, object] = {}
    for edge in task.edges:
        value = getattr(node, edge.attribute)
        if edge.shape == "node":
            target = next(done)
            if target is not value:
                changes[edge.attribute] = target
        elif edge.shape == "edges":
            targets = [next(done) for _ in value]
            if any(a.to is not b for a, b in zip(value, targets, strict=True)):
                changes[edge.attribute] = tuple(
                    c if c.to is t else ConditionalEdge(c.condition, t)  # type: ignore[arg-type]
                    for c, t in zip(value, targets, strict=True)
                )
        else:
            targets = [next(done) for _ in value]
            if any(old is not new for (_, old), new in zip(value, targets, strict=True)):
                changes[edge.attribute] = tuple(
                    (name, new) for (name, _), new in zip(value, targets, strict=True)
                )
    return dataclasses.replace(node, **changes) if changes else node  # type: ignore[arg-type]
