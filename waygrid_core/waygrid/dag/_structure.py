"""The server's `Dag.validate`: fork/join pairing, branch counts and cycles."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..nodes import ForkNode, JoinNode
from ._ids import hex_id
from ._problems import Problem

if TYPE_CHECKING:
    from ._compiler import _Compiler

__all__ = ["find_cycle", "may_loop", "structural_problems"]


def structural_problems(self: _Compiler, entry_ids: list[int]) -> list[Problem]:
    """The server's `Dag.validate`: fork/join pairing, branch counts and cycles."""
    problems: list[Problem] = []
    forks: dict[str, list[int]] = {}
    joins: dict[str, list[int]] = {}
    for raw in self.controls:  # the forks and joins, in the order made
        node = self.info[raw][0]
        if isinstance(node, ForkNode):
            forks.setdefault(self.fork_id(node.join_node_id or ""), []).append(raw)
        elif isinstance(node, JoinNode):
            joins.setdefault(self.fork_id(node.join_node_id or ""), []).append(raw)
    for fork_id, fork_raws in forks.items():
        fork_node, fork_path, _ = self.info[fork_raws[0]]
        join_id = fork_node.join_node_id  # type: ignore[union-attr]
        found = joins.get(fork_id, [])
        if not found:
            problems.append(
                Problem(
                    "fork-without-join",
                    fork_path,
                    f"the fork {fork_node.address!r} names the join id {join_id!r}, but no "
                    "branch path reaches a join with that id",
                    f"Fork {hex_id(fork_raws[0])} (forkId={fork_id}) has no matching Join node",
                    "build the join separately and attach it with fork.joined_by(join), which "
                    "puts it at the end of every branch",
                )
            )
        elif len(found) > 1:
            addresses = ", ".join(repr(self.info[r][0].address) for r in found)
            problems.append(
                Problem(
                    "multiple-joins",
                    self.info[found[1]][1],
                    f"the join id {join_id!r} is used by join nodes at different addresses "
                    f"({addresses}); a fork must have exactly one join",
                    f"Fork {fork_id} has multiple Join nodes: "
                    + ", ".join(hex_id(r) for r in found),
                    "use the same join node (same address) at the end of every branch",
                )
            )
    for fork_id, join_raws in joins.items():
        if fork_id in forks:
            continue
        for raw in join_raws:
            join_node, join_path, _ = self.info[raw]
            problems.append(
                Problem(
                    "join-without-fork",
                    join_path,
                    f"the join {join_node.address!r} has the join id "
                    f"{join_node.join_node_id!r}, which no fork in the graph uses",  # type: ignore[union-attr]
                    f"Join {hex_id(raw)} references non-existent Fork {fork_id}",
                    "give the join its fork's join_id, or attach it with fork.joined_by(join)",
                )
            )
    for fork_raws in forks.values():
        for raw in fork_raws:
            count = sum(1 for edge in self.outgoing.get(raw, ()) if edge[2] == "OnSuccess")
            if count < 2:
                fork_node, fork_path, _ = self.info[raw]
                problems.append(
                    Problem(
                        "fork-insufficient-branches",
                        fork_path,
                        f"the fork {fork_node.address!r} has {count} branch(es); the server "
                        "needs at least 2",
                        f"Fork {hex_id(raw)} has only {count} branch(es) - must have at least 2",
                        "add branches, or use a standard node instead of a fork",
                    )
                )
    cycle = find_cycle(self, entry_ids) if may_loop(self) else None
    if cycle:
        first_path = self.info[cycle[0]][1]
        route = " -> ".join(self.info[raw][0].address for raw in cycle)
        problems.append(
            Problem(
                "cycle",
                first_path,
                f"the compiled graph has a cycle ({route}): forks and joins are identified by "
                "address and join id, so one nested inside its own continuation loops",
                "Cycle detected: " + " -> ".join(hex_id(raw) for raw in cycle),
                "give the nested fork/join another join_id",
            )
        )
    return problems


def may_loop(self: _Compiler) -> bool:
    """False when the compiled graph is sure to be acyclic, proved without the server's DFS.

    Every edge was made from its source reached at some depth, to its target one depth deeper.
    So along an edge the deepest depth of an id grows, unless the source was also reached
    deeper than where this edge was made: only an id reached at several depths can have such
    an edge back up. A cycle needs one of those edges, and a way from its target back to its
    source: when no such way exists (one walk from all the targets at once), there is no cycle.
    """
    info, outgoing = self.info, self.outgoing
    sources: set[int] = set()
    pending: list[int] = []
    for raw in self.multi_depth:
        deepest = info[raw][2]
        for _, target, _, _ in outgoing.get(raw, ()):
            if info[target][2] <= deepest:
                sources.add(raw)
                pending.append(target)
    seen = set(pending)
    while pending:
        raw = pending.pop()
        if raw in sources:
            return True
        for _, target, _, _ in outgoing.get(raw, ()):
            if target not in seen:
                seen.add(target)
                pending.append(target)
    return False


def find_cycle(self: _Compiler, entry_ids: list[int]) -> list[int] | None:
    """The server's DFS from the entry points, without recursion; the first cycle found."""
    outgoing = self.outgoing
    visited: set[int] = set()
    on_stack: set[int] = set()
    parent: dict[int, int] = {}
    for entry in entry_ids:
        if entry in on_stack:  # pragma: no cover - the stack is empty between entries
            continue
        if entry in visited:
            continue
        visited.add(entry)
        on_stack.add(entry)
        frames = [(entry, iter(outgoing.get(entry, ())))]
        while frames:
            current, targets = frames[-1]
            for _, target, _, _ in targets:
                parent[target] = current
                if target in on_stack:
                    cycle = [target]
                    step = parent.get(target)
                    while step is not None and step != target:
                        cycle.append(step)
                        step = parent.get(step)
                    cycle.append(target)
                    cycle.reverse()
                    return cycle
                if target not in visited:
                    visited.add(target)
                    on_stack.add(target)
                    frames.append((target, iter(outgoing.get(target, ()))))
                    break
            else:
                on_stack.discard(current)
                frames.pop()
    return None
