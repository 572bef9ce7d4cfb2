"""The server's TraversalFSM (`FSM` l.886-1749): a handler per signal, plus intended rules."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..policies._backoff import BackoffOverflowError
from ..policies.delivery import Immediate, ScheduleAfter, ScheduleAt
from ..policies.retry import (
    DecorrelatedJitterRetryPolicy,
    FibonacciRetryPolicy,
    FullJitterRetryPolicy,
)
from ..strategies.join import AndJoin, OrJoin, QuorumJoin
from ._graph import GraphNode, evaluate
from ._state import MISSING, Branch, FsmError, Pending, Scope, State

__all__ = ["FSM", "Branch", "Effect", "FsmError", "Scope"]

Effect = int | tuple[Any, ...]
"""A node index ``n`` (dispatch ``n``: the most frequent effect, so it allocates nothing),
``("dispatch-many", [(n, branch)], timeout_at, scope)``, ``("schedule", n, at)``,
``("retry", n, at, attempt)``, ``("complete",)``, ``("fail",)``, ``("cancel",)`` or
``("noop",)``; times in microseconds since the start."""
NOOP: Effect = ("noop",)
_MS = timedelta(milliseconds=1)
_US = timedelta(microseconds=1)
_RANDOM = (FullJitterRetryPolicy, DecorrelatedJitterRetryPolicy)


class FSM(State):
    """The signal handlers; each returns one effect (or raises `FsmError`)."""

    # --- signals ---

    def begin(self, now: int) -> Effect:
        """`Begin`: dispatch the first entry point with its delivery strategy."""
        entry = self.graph.entries[0]
        return self._dispatch(entry, None, now)

    def resume(self, node: int) -> Effect:
        """`Resume`: a retry timer, or a scheduled node's timer."""
        active = self.active
        if node in active:
            return NOOP
        if node in self.failed:
            self._put(self.retries, node, self.retries.get(node, 0) + 1)
        elif node in self.completed:
            return NOOP
        self._add(active, node)
        return node

    def cancel(self) -> Effect:
        """`Cancel`: active work is cleared."""
        for node in list(self.active):
            self._remove(self.active, node)
        return ("cancel",)

    def success(self, node: int, now: int, *, fork_ack: bool = False) -> Effect:
        """`NodeSuccess` (or, intended, the executor's acknowledgement of a fork)."""
        completed, active = self.completed, self.active
        if node in completed:
            return NOOP
        if node not in active:
            raise FsmError(
                "InvalidNodeState", f"{self._name(node)}: expected started, got not started"
            )
        if self.journal is None:  # _succeed(), inlined (`node` is not completed)
            if node in self.failed:
                self.failed.discard(node)
            else:
                self.remaining -= 1
            active.discard(node)
            completed.add(node)
        else:
            self._succeed(node)
        if not active and self.remaining <= 0:
            return ("complete",)
        if fork_ack:
            return self._fan_out(node, now)
        return self._transition(node, now)

    def failure(self, node: int, now: int) -> Effect:
        """`NodeFailure`: retry, take the ``on_failure`` edge, or fail."""
        failed, active = self.failed, self.active
        if node in failed and node not in active:
            return NOOP
        if self.journal is None:  # _fail_node(), inlined
            if node not in failed and node not in self.completed:
                self.remaining -= 1
            active.discard(node)
            failed.add(node)
        else:
            self._fail_node(node)
        attempt = self.retries.get(node, 0) + 1
        spec = self.nodes[node]
        delay = self.policy_delays.get((id(spec.retry), attempt), MISSING)
        if delay is MISSING:
            delay = self._delay(spec, attempt)
        if delay is not None:
            return ("retry", node, now + delay * 1000, attempt)
        branch = self.branch_of(node) if self.intended else None
        if spec.failure:
            target = spec.failure[0]
            if branch is not None:
                self._set(branch, "took_failure", True)
            return self._dispatch(target, branch, now)
        if branch is not None and branch.status == "Running":
            return self._fail_branch(branch, f"{spec.name} failed", now)
        return ("fail",)

    def _delay(self, spec: GraphNode, attempt: int) -> int | None:
        """The retry policy's delay; a fixed policy's delays are computed once per attempt."""
        policy = spec.retry
        same = (id(policy), attempt)
        key = (policy, attempt)
        delay = self.delays.get(key, MISSING)
        if delay is not MISSING:
            self.policy_delays[same] = delay
            return delay  # type: ignore[no-any-return]
        try:
            wraps = isinstance(policy, FibonacciRetryPolicy) and 47 <= attempt <= policy.max_retries
            if self.intended and wraps:
                raise BackoffOverflowError(f"fib({attempt}) exceeds a 32-bit Int")
            delay = policy.next_delay_ms(attempt, self.rng)
        except BackoffOverflowError as exc:
            raise FsmError("BackoffOverflow", f"{spec.name} attempt {attempt}: {exc}") from None
        if not isinstance(policy, _RANDOM):
            self.delays[key] = self.policy_delays[same] = delay
        return delay

    def timeout(self, join: int, now: int) -> Effect:
        """`Timeout` of a join: the join fails, then its ``on_timeout`` edge or `Fail`."""
        spec = self.nodes[join]
        assert spec.fork_id is not None
        self._pop(self.pending, join)
        self._add(self.failed, join)
        scope = self.scopes.get(spec.fork_id)
        self.notes.append(("join-timed-out", join, scope))
        parent = None
        if self.intended and scope is not None:
            scope.closed = True
            parent = None if scope.parent is None else self.branches.get(scope.parent)
        if spec.on_timeout:
            return self._run_handler(spec.on_timeout[0], parent)
        if parent is not None and parent.status == "Running":
            return self._fail_branch(parent, f"{spec.name} timed out", now)
        return ("fail",)

    def arrive(self, join: int, branch_id: int, now: int) -> Effect:
        """`JoinReached`: branch ``branch_id`` arrives at ``join``."""
        spec = self.nodes[join]
        assert spec.fork_id is not None
        scope = self.scopes.get(spec.fork_id)
        if scope is None:
            raise FsmError("JoinWithoutFork", f"{spec.name}: no fork scope {spec.fork_id}")
        if branch_id not in scope.branches:
            raise FsmError("InvalidBranchState", f"{spec.name}: branch not in fork {spec.fork_id}")
        branch = self.branches.get(branch_id)
        if branch is not None and branch.status in ("Running", "Pending"):
            self._end_branch(branch, "Completed")
        if self.intended:
            return self._evaluate_scope(join, scope, now)
        pending = self.pending.get(join)
        if pending is None:
            pending = Pending(spec.fork_id, set(scope.branches))
        self._add(pending.completed, branch_id)
        self._put(self.pending, join, pending)
        return self._evaluate(
            join,
            scope,
            (len(pending.required), len(pending.completed), len(pending.failed)),
            len(pending.canceled),
            pending.completed == pending.required,
            lambda: pending.required - pending.completed - pending.failed - pending.canceled,
            now,
        )

    # --- internals ---

    def _name(self, node: int) -> str:
        return self.nodes[node].name

    def _dispatch(self, node: int, branch: Branch | None, now: int) -> Effect:
        """Dispatch with the node's delivery strategy (`FSM` l.631-657)."""
        strategy = self.nodes[node].delivery
        if strategy.__class__ is Immediate:
            if branch is not None:
                self._advance(node, branch)
            else:
                self._add(self.active, node)
            return node
        if isinstance(strategy, ScheduleAfter):
            target = now + strategy.delay // _MS * 1000
        else:
            assert isinstance(strategy, ScheduleAt)
            target = (strategy.time - self.start) // _US
        # Upstream, a scheduled node loses its branch ("branchContext is NOT preserved").
        if target > now:
            if self.intended and branch is not None:
                self._advance(node, branch, activate=False)
            return ("schedule", node, target)
        self._start(node)
        if self.intended and branch is not None:
            self._advance(node, branch)
        return node

    def _run_handler(self, target: int, parent: Branch | None) -> Effect:
        """Start a join's ``on_failure``/``on_timeout`` target (its delivery is ignored)."""
        self._start(target)
        if parent is not None:
            self._advance(target, parent)
        return target

    def _transition(self, node: int, now: int) -> Effect:
        """The transition after a success (`FSM` l.698-832)."""
        nodes = self.nodes
        spec = nodes[node]
        nexts = spec.success
        if spec.conditional:
            nexts = [target for condition, target in spec.conditional if evaluate(condition)]
            if not nexts:
                nexts = spec.success
        if not nexts:
            branch = self.branch_of(node) if self.intended else None
            if branch is not None and branch.took_failure and branch.status == "Running":
                return self._fail_branch(branch, "its failure path ended before the join", now)
            return ("complete",)
        if len(nexts) > 1:
            if spec.kind == "fork":
                return self._fan_out(node, now)
            raise FsmError(
                "InvalidNodeState",
                f"{spec.name}: expected single successor or Fork, got {len(nexts)} successors",
            )
        target = nexts[0]
        following = nodes[target]
        kind = following.kind
        index = self.index
        branch_id = index.get(node)
        branch = None if branch_id is None else self.branches.get(branch_id)
        if kind == "standard":
            if (
                branch is not None
                and following.delivery.__class__ is Immediate
                and self.journal is None
            ):
                # The most frequent transition, the next node of a branch: _dispatch() and
                # _advance() inlined (intended mode, no journal).
                self.active.add(target)
                if branch.current is not None:
                    index.pop(branch.current, None)
                branch.current = target
                index[target] = branch.id
                return target
            return self._dispatch(target, branch, now)
        if kind == "join":
            if branch is None:
                raise FsmError(
                    "InvalidNodeState", f"{spec.name}: expected branch context, got none"
                )
            return self.arrive(target, branch.id, now)
        if branch is not None:  # a fork
            self._advance(target, branch)
        self._succeed(target)
        return self._fan_out(target, now)

    def _fan_out(self, fork: int, now: int) -> Effect:
        """Start one branch per branch edge of ``fork`` (`FSM` l.1266-1306, 495-525)."""
        spec = self.nodes[fork]
        assert spec.fork_id is not None
        targets = spec.success
        if not targets:
            return ("complete",) if self.complete_reached() else NOOP
        parent = self.branch_of(fork)
        scope = Scope(spec.fork_id, fork, [], None if parent is None else parent.id)
        self._put(self.scopes, spec.fork_id, scope)
        if parent is not None and self.intended:
            self.children.setdefault(parent.id, []).append(scope)
        entries = []
        for target in targets:
            self.next_branch += 1
            branch = Branch(self.next_branch, scope, target, target)
            scope.branches.append(branch.id)
            self._put(self.branches, branch.id, branch)
            self._start(target)
            self._put(self.index, target, branch.id)
            entries.append((target, branch.id))
        join = self.graph.join_of_fork.get(spec.fork_id)
        timeout = None if join is None else self.nodes[join].timeout_us
        self.notes.append(("fork", fork, scope))
        return ("dispatch-many", entries, None if timeout is None else now + timeout, scope)

    def _fail_branch(self, branch: Branch, reason: str, now: int) -> Effect:
        """Intended: the branch fails, then its fork's join is evaluated."""
        self._end_branch(branch, "Failed")
        self.notes.append(("branch-failed", branch, reason))
        scope = branch.scope
        join = self.graph.join_of_fork.get(scope.fork_id)
        if join is None or scope.closed or self.scopes.get(scope.fork_id) is not scope:
            return NOOP
        return self._evaluate_scope(join, scope, now)

    def _evaluate_scope(self, join: int, scope: Scope, now: int) -> Effect:
        """Intended: evaluate the join from its branch statuses (rule 7)."""
        counts = scope.counts
        required = len(scope.branches)
        completed = counts.get("Completed", 0)
        return self._evaluate(
            join,
            scope,
            (required, completed, counts.get("Failed", 0)),
            counts.get("Canceled", 0),
            completed == required,
            lambda: {
                b
                for b in scope.branches
                if self.branches[b].status not in ("Completed", "Failed", "Canceled")
            },
            now,
        )

    def _evaluate(
        self,
        join: int,
        scope: Scope,
        sizes: tuple[int, int, int],
        canceled: int,
        all_completed: bool,
        unresolved: Any,
        now: int,
    ) -> Effect:
        """Satisfied, failed or waiting (`FSM` l.1646-1749, `FSTATE` l.199-245)."""
        spec = self.nodes[join]
        strategy = spec.strategy
        required, completed, failed = sizes
        if isinstance(strategy, AndJoin):
            satisfied, has_failed = all_completed, failed > 0
        elif isinstance(strategy, OrJoin):
            satisfied, has_failed = completed > 0, failed == required
        else:
            assert isinstance(strategy, QuorumJoin)
            pending = required - completed - failed - canceled
            satisfied, has_failed = completed >= strategy.n, completed + pending < strategy.n
        if satisfied:
            if isinstance(strategy, OrJoin):
                self._cancel_branches(unresolved(), "OR join completed")
            current = self.scopes.get(scope.fork_id)
            parent = None if current is None else current.parent
            self._add(self.completed, join)
            if current is not None:
                self._pop(self.scopes, scope.fork_id)
                for branch_id in current.branches:
                    self._pop(self.branches, branch_id)
            self._pop(self.pending, join)
            self.notes.append(("join-completed", join, current or scope))
            if parent is not None:
                self._put(self.index, join, parent)
            return self._transition(join, now)
        if has_failed:
            self._cancel_branches(unresolved(), "join failed")
            self.notes.append(("join-failed", join, scope))
            parent_branch = None
            if self.intended:
                scope.closed = True
                parent_branch = None if scope.parent is None else self.branches.get(scope.parent)
            if spec.failure:
                return self._run_handler(spec.failure[0], parent_branch)
            if parent_branch is not None and parent_branch.status == "Running":
                return self._fail_branch(parent_branch, f"{spec.name} failed", now)
            return ("fail",)
        return NOOP

    def _cancel_branches(self, branch_ids: Any, reason: str) -> None:
        for branch_id in sorted(branch_ids):
            branch = self.branches.get(branch_id)
            if branch is not None and branch.status == "Running":
                self._end_branch(branch, "Canceled")
                self.notes.append(("branch-canceled", branch, reason))
