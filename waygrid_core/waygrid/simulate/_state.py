"""The traversal state (`TSTATE`, `FSTATE`) and its changes, with an undo journal (upstream)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from random import Random
from typing import Any

from ..policies.retry import RetryPolicy
from ._graph import Graph

__all__ = ["MISSING", "Branch", "FsmError", "Pending", "Scope", "State"]

MISSING: Any = object()


class FsmError(Exception):
    """An error result of the FSM (or a Backoff overflow)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


@dataclass(slots=True, eq=False)
class Scope:
    """A fork scope: the branches of one fan-out, and the branch it runs in."""

    fork_id: str
    fork: int
    branches: list[int]
    parent: int | None
    counts: dict[str, int] = field(default_factory=dict)
    """Intended mode: how many of its branches are Completed, Failed (or TimedOut), Canceled."""
    closed: bool = False
    """Intended mode: its join failed or timed out."""


@dataclass(slots=True, eq=False)
class Branch:
    """A fork branch."""

    id: int
    scope: Scope
    entry: int
    current: int | None
    status: str = "Running"
    took_failure: bool = False
    """Intended mode: it took an ``on_failure`` edge."""


@dataclass(slots=True, eq=False)
class Pending:
    """An upstream pending join."""

    fork_id: str
    required: set[int]
    completed: set[int] = field(default_factory=set)
    failed: set[int] = field(default_factory=set)
    canceled: set[int] = field(default_factory=set)


def _pop_plain(container: dict[Any, Any], key: Any) -> None:
    container.pop(key, None)


def _undo_dict(container: dict[Any, Any], key: Any, old: Any) -> None:
    if old is MISSING:
        container.pop(key, None)
    else:
        container[key] = old


class State:
    """One traversal's state: the sets, counters, branches, scopes and pending joins."""

    def __init__(self, graph: Graph, intended: bool, rng: Random, start: datetime) -> None:
        self.graph = graph
        self.start = start
        self.nodes = graph.nodes
        self.intended = intended
        self.rng = rng
        self.active: set[int] = set()
        self.completed: set[int] = set()
        self.failed: set[int] = set()
        self.retries: dict[int, int] = {}
        self.remaining = len(graph.nodes)
        self.branches: dict[int, Branch] = {}
        self.index: dict[int, int] = {}
        self.scopes: dict[str, Scope] = {}
        self.pending: dict[int, Pending] = {}
        self.children: dict[int, list[Scope]] = {}
        self.next_branch = 0
        self.delays: dict[tuple[RetryPolicy, int], int | None] = {}
        self.policy_delays: dict[tuple[int, int], int | None] = {}
        """`delays` by the policy's identity (the graph keeps the policies alive): nodes often
        share one policy object, and its identity hashes faster than its fields."""
        self.notes: list[tuple[Any, ...]] = []
        self.journal: list[tuple[Any, ...]] | None = None if intended else []
        if intended:
            # Nothing to undo in intended mode (an FSM error ends the run): the plain operations.
            self._add = set.add  # type: ignore[method-assign, assignment]
            self._remove = set.discard  # type: ignore[method-assign, assignment]
            self._put = dict.__setitem__  # type: ignore[method-assign, assignment]
            self._pop = _pop_plain  # type: ignore[method-assign, assignment]
            self._set = setattr  # type: ignore[method-assign, assignment]

    # --- the journal: upstream mode restores the state of a signal that ends in an error ---

    def rollback(self) -> None:
        """Undo every change since the journal was last cleared (the signal's own changes)."""
        journal = self.journal
        assert journal is not None
        for entry in reversed(journal):
            entry[0](*entry[1:])
        journal.clear()
        self.notes.clear()

    def _add(self, target: set[int], item: int) -> None:
        if item not in target:
            target.add(item)
            if self.journal is not None:
                self.journal.append((target.discard, item))

    def _remove(self, target: set[int], item: int) -> None:
        if item in target:
            target.discard(item)
            if self.journal is not None:
                self.journal.append((target.add, item))

    def _put(self, target: dict[Any, Any], key: Any, value: Any) -> None:
        if self.journal is not None:
            self.journal.append((_undo_dict, target, key, target.get(key, MISSING)))
        target[key] = value

    def _pop(self, target: dict[Any, Any], key: Any) -> None:
        if key in target:
            if self.journal is not None:
                self.journal.append((_undo_dict, target, key, target[key]))
            del target[key]

    def _set(self, obj: object, name: str, value: object) -> None:
        if self.journal is not None:
            self.journal.append((setattr, obj, name, getattr(obj, name)))
        setattr(obj, name, value)

    # --- state helpers (TSTATE) ---

    def branch_of(self, node: int) -> Branch | None:
        """`branchForNode`: the index entry, if its branch still exists."""
        branch_id = self.index.get(node)
        return None if branch_id is None else self.branches.get(branch_id)

    def _start(self, node: int) -> None:
        self._add(self.active, node)

    def _counted(self, node: int) -> bool:
        return node in self.completed or node in self.failed

    # The three helpers below run once or more per processed item: without a journal (intended
    # mode) they change the state directly, with the same effect as the journaled operations.

    def _succeed(self, node: int) -> None:
        if self.journal is None:
            if node not in self.completed and node not in self.failed:
                self.remaining -= 1
            self.active.discard(node)
            self.completed.add(node)
            self.failed.discard(node)
            return
        if not self._counted(node):
            self._set(self, "remaining", self.remaining - 1)
        self._remove(self.active, node)
        self._add(self.completed, node)
        self._remove(self.failed, node)

    def _fail_node(self, node: int) -> None:
        if self.journal is None:
            if node not in self.completed and node not in self.failed:
                self.remaining -= 1
            self.active.discard(node)
            self.failed.add(node)
            return
        if not self._counted(node):
            self._set(self, "remaining", self.remaining - 1)
        self._remove(self.active, node)
        self._add(self.failed, node)

    def _advance(self, node: int, branch: Branch, *, activate: bool = True) -> None:
        if self.journal is None:
            if activate:
                self.active.add(node)
            if branch.current is not None:
                self.index.pop(branch.current, None)
            branch.current = node
            self.index[node] = branch.id
            return
        if activate:
            self._add(self.active, node)
        if branch.current is not None:
            self._pop(self.index, branch.current)
        self._set(branch, "current", node)
        self._put(self.index, node, branch.id)

    def _end_branch(self, branch: Branch, status: str) -> None:
        """Complete, fail or cancel a branch: its current node leaves `active` and the index."""
        node = branch.current if branch.current is not None else branch.entry
        self._set(branch, "status", status)
        self._set(branch, "current", None)
        self._remove(self.active, node)
        self._pop(self.index, node)
        if self.intended:
            counts = branch.scope.counts
            counts[status] = counts.get(status, 0) + 1
            return
        join = self.graph.join_of_fork.get(branch.scope.fork_id)
        pending = None if join is None else self.pending.get(join)
        if pending is None:
            return
        if status == "Completed":
            self._add(pending.completed, branch.id)
        elif status == "Failed":
            self._add(pending.failed, branch.id)
        else:
            self._add(pending.canceled, branch.id)

    def complete_reached(self) -> bool:
        """`isTraversalComplete`: nothing active and no node left uncounted."""
        return not self.active and self.remaining <= 0

    # --- signals ---
