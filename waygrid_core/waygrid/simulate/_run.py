"""The executor: one queue of timed items on a virtual clock, each feeding one signal to the FSM."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterator
from datetime import timedelta
from heapq import heappop, heappush
from itertools import chain, repeat
from operator import attrgetter
from random import Random
from typing import Any

from ._fsm import FSM, Branch, Effect, FsmError, Scope
from ._graph import Graph
from ._result import Dispatch, Event
from ._script import Outcome

__all__ = ["MAX_ITEMS", "Run", "execute"]

MAX_ITEMS = 100_000
"""A run that processes this many items ends ``stalled`` (contract §4.1)."""

(BEGIN, CANCEL, OK, FAIL, RESUME, JOIN_TIMEOUT, ACK_FORK, ACK_ARRIVE, ACK_PASS) = range(9)
_WHAT = {
    OK: "answer",
    FAIL: "answer",
    RESUME: "resume",
    JOIN_TIMEOUT: "join-timeout",
    ACK_FORK: "acknowledgement",
    ACK_ARRIVE: "acknowledgement",
    ACK_PASS: "acknowledgement",
}

Details = tuple[tuple[str, Any], ...]
Item = tuple[int, int, int, int, Any, int | None]
"""A queue item: due time, insertion number, kind, node, extra (the branch of an arrival)
and the branch it belongs to (intended mode, for dropped work)."""
Run = tuple[str, list[Dispatch], list[Event], int]
"""Status, dispatches, events and the duration in microseconds."""
# Dispatches and events are made by the ten thousand: tuple.__new__ skips the generated
# NamedTuple.__new__ (its arguments are already in order).
_new = tuple.__new__
_MAX_MICROS = timedelta.max // timedelta(microseconds=1)
_OK, _FAIL, _RESUME = ("outcome", "ok"), ("outcome", "fail"), ("what", "resume")
_ATTEMPTS = [("attempt", attempt) for attempt in range(64)]
"""The ``("attempt", n)`` details of the first attempts, shared by the events."""


class _Executor:
    """Runs one traversal: the queue, the scripted answers, the timeline and dropped work."""

    def __init__(
        self,
        graph: Graph,
        script: dict[str, list[Outcome]],
        fsm: FSM,
        intended: bool,
    ) -> None:
        self.graph = graph
        # map() and zip() build these per-node lists without a Python-level loop.
        self.names: list[str] = list(map(attrgetter("name"), graph.nodes))
        self.pairs = list(zip(repeat("node"), self.names))
        """The ``("node", name)`` detail of each node, shared by its events (made once)."""
        self.kinds: list[str] = list(map(attrgetter("kind"), graph.nodes))
        self.plans: list[Iterator[Outcome] | None] = [None] * len(self.names)
        """Each node's next outcomes (None: the node succeeds at once)."""
        if script:
            # One iterator per name: the nodes of one name share its execution count (§2).
            entries = {
                name: chain(outcomes, repeat(outcomes[-1])) for name, outcomes in script.items()
            }
            self.plans = list(map(entries.get, self.names))
        self.retries = fsm.retries
        self.fsm = fsm
        self.intended = intended
        self.queue: list[Item] = []
        """The items due later than now: a heap by (due time, insertion number)."""
        self.current: deque[Item] = deque()
        """The items due now, in insertion order. Every item due now that sits in the heap was
        queued earlier (from an earlier time), so the heap's are taken first: together they
        keep the (due time, insertion number) order without heap operations for most items."""
        self.finished: set[int] = set()
        """The insertion numbers of the dropped items and of the processed items that can be
        asked about later (join timers, control items): everything else is queued once and
        processed once, so it needs no record."""
        self.seq = 0
        self.by_branch: defaultdict[int, dict[int, Item]] = defaultdict(dict)
        """Intended mode: a branch's queued items by insertion number (the queue's own tuples),
        until they are processed: dropping a branch costs what it still has queued."""
        self.timers: dict[int, tuple[int, int]] = {}
        self.due_ms: dict[int, tuple[str, int | float]] = {}
        self.dispatches: list[Dispatch] = []
        self.events: list[Event] = []
        self.now = 0
        self.at = timedelta(0)
        """`now` as a timedelta (made once per distinct time)."""
        self.repeats = False

    def push(
        self, due: int, kind: int, node: int, extra: Any = None, branch: int | None = None
    ) -> int:
        self.seq = seq = self.seq + 1
        if branch is not None and self.intended:
            item: Item = (due, seq, kind, node, extra, branch)
            self.by_branch[branch][seq] = item
        else:
            item = (due, seq, kind, node, extra, None)
        if due == self.now:
            self.current.append(item)
        else:
            heappush(self.queue, item)
        return seq

    def event(self, kind: str, *details: tuple[str, Any]) -> None:
        self.events.append(_new(Event, (self.at, kind, details)))

    # --- dropped work (intended, contract §4.4) ---

    def drop_branches(self, branch_ids: list[int]) -> None:
        pending = list(branch_ids)
        while pending:
            branch_id = pending.pop()
            for _, seq, kind, node, _, _ in self.by_branch.pop(branch_id, {}).values():
                if seq not in self.finished:
                    self.finished.add(seq)
                    self.event("dropped", ("node", self.names[node]), ("what", _WHAT[kind]))
            for scope in self.fsm.children.pop(branch_id, ()):
                pending.extend(scope.branches)

    def cancel_timer(self, scope: Scope) -> None:
        timer = self.timers.pop(id(scope), None)
        if timer is not None and timer[0] not in self.finished:
            self.finished.add(timer[0])
            self.event("timer-canceled", ("node", self.names[timer[1]]), ("what", "join-timeout"))

    def notes(self) -> None:
        for note in self.fsm.notes:
            kind = note[0]
            if kind == "fork":
                self.event("fork", ("node", self.names[note[1]]))
            elif kind in ("join-completed", "join-failed", "join-timed-out"):
                scope: Scope = note[2]
                self.event(kind, ("node", self.names[note[1]]))
                if self.intended and scope is not None:
                    if kind != "join-timed-out":
                        self.cancel_timer(scope)
                    self.drop_branches(scope.branches)
            else:
                branch: Branch = note[1]
                self.event(kind, ("node", self.names[branch.entry]), ("reason", note[2]))
                if self.intended:
                    self.drop_branches([branch.id])
        self.fsm.notes.clear()

    # --- running dispatched nodes (contract §4.3) ---

    def dispatch(self, node: int, branch: int | None) -> None:
        """Record a dispatch of ``node`` and queue what answers it (contract §4.3).

        ``branch`` is the branch it runs in, for dropped work: None in upstream mode.
        """
        attempt = self.retries.get(node, 0) + 1
        at = self.at
        self.dispatches.append(_new(Dispatch, (self.names[node], at, attempt)))
        pair = _ATTEMPTS[attempt] if attempt < 64 else ("attempt", attempt)
        self.events.append(_new(Event, (at, "dispatch", (self.pairs[node], pair))))
        kind = self.kinds[node]
        if kind == "standard":
            plan = self.plans[node]
            if plan is None:
                due, answer = self.now, OK
            else:
                outcome, after = next(plan)
                if outcome == "hang":
                    return
                due, answer = self.now + after, OK if outcome == "ok" else FAIL
            # push(), inlined: every standard dispatch makes one answer.
            self.seq = seq = self.seq + 1
            item: Item = (due, seq, answer, node, None, branch)
            if branch is not None:
                self.by_branch[branch][seq] = item
            if due == self.now:
                self.current.append(item)
            else:
                heappush(self.queue, item)
            return
        if not self.intended:
            self.event("no-answer", ("node", self.names[node]))
        elif kind == "fork":
            self.push(self.now, ACK_FORK, node, branch=branch)
        elif branch is not None:
            # A join that is a branch's first node arrives in the entry's own branch (even when
            # several branch names share it); one dispatched alone, in the branch it is bound to.
            self.push(self.now, ACK_ARRIVE, node, branch, branch=branch)
        else:
            self.push(self.now, ACK_PASS, node)

    def branch_id(self, node: int) -> int | None:
        branch = self.fsm.index.get(node)
        return branch if branch is not None and branch in self.fsm.branches else None

    def signal(self, kind: int, node: int, extra: Any) -> Effect:
        """Feed the FSM the signal of a queue item other than an answer or a resume timer."""
        fsm, now, name = self.fsm, self.now, self.names[node]
        if kind == JOIN_TIMEOUT:
            self.event("timer", ("node", name), ("what", "join-timeout"))
            return fsm.timeout(node, now)
        if kind == ACK_FORK:
            self.event("control", ("node", name), ("action", "fan-out"))
            return fsm.success(node, now, fork_ack=True)
        if kind == ACK_ARRIVE:
            self.event("control", ("node", name), ("action", "arrive"))
            return fsm.arrive(node, extra, now)
        if kind == ACK_PASS:
            self.event("control", ("node", name), ("action", "pass"))
            return fsm.success(node, now)
        if kind == CANCEL:
            return fsm.cancel()
        entry = self.graph.entries[0]
        self.event(
            "start",
            ("entry", self.names[entry]),
            ("mode", "intended" if self.intended else "upstream"),
        )
        if len(self.graph.entries) > 1:
            others = len(self.graph.entries) - 1
            self.event(
                "note", ("text", f"only the first entry point starts; {others} other(s) never run")
            )
        if self.repeats:
            self.event("note", ("text", "the repeat policy is not executed: a traversal runs once"))
        if self.graph.pointer_conditions:
            text = "JSON-pointer conditions count as false (scripted nodes have no output)"
            self.event("note", ("text", text + "; today's server rejects them"))
        return fsm.begin(now)

    def retry(self, node: int, due: int, attempt: int) -> None:
        """Queue the timer of a retry (the FSM's `ScheduleRetry`), never before now (§4.1)."""
        now = self.now
        at = due if due >= now else now
        self.seq = seq = self.seq + 1
        branch = self.fsm.index.get(node) if self.intended else None
        if branch is not None and branch in self.fsm.branches:
            item: Item = (at, seq, RESUME, node, None, branch)
            self.by_branch[branch][seq] = item
        else:
            item = (at, seq, RESUME, node, None, None)
        if at == now:
            self.current.append(item)
        else:
            heappush(self.queue, item)
        due_ms = self.due_ms.get(at)
        if due_ms is None:  # retries due at one instant share their ("dueMs", ...) detail
            due_ms = self.due_ms[at] = ("dueMs", at // 1000 if at % 1000 == 0 else at / 1000)
        details: Details = (
            self.pairs[node],
            _ATTEMPTS[attempt + 1] if attempt < 63 else ("attempt", attempt + 1),
            due_ms,
        )
        if due < now:
            details += (("requestedMs", _ms(due)),)
        self.events.append(_new(Event, (self.at, "retry-scheduled", details)))

    def effect(self, effect: tuple[Any, ...]) -> str | None:
        """Handle an effect other than a single dispatch; the run's status if it ends the run."""
        kind = effect[0]
        if kind == "dispatch-many":
            for node, branch in effect[1]:
                self.dispatch(node, branch if self.intended else None)
            if effect[2] is not None:
                scope: Scope = effect[3]
                join = self.graph.join_of_fork[scope.fork_id]
                seq = self.push(effect[2], JOIN_TIMEOUT, join, branch=scope.parent)
                self.timers[id(scope)] = (seq, join)
        elif kind == "schedule":
            node, due = effect[1], effect[2]
            self.push(max(due, self.now), RESUME, node, branch=self.branch_id(node))
            self.event("scheduled", ("node", self.names[node]), ("dueMs", _ms(max(due, self.now))))
        elif kind == "complete":
            return "completed"
        elif kind == "fail":
            return "failed"
        elif kind == "cancel":
            return "canceled"
        return None

    def run(self, cancel_after: int | None, repeats: bool) -> Run:
        self.push(0, BEGIN, self.graph.entries[0])
        if cancel_after is not None:
            self.push(cancel_after, CANCEL, self.graph.entries[0])
        self.repeats = repeats
        status = None
        processed = 0
        duration = 0
        queue, current, finished = self.queue, self.current, self.finished
        fsm, by_branch = self.fsm, self.by_branch
        journal, notes, intended = fsm.journal, fsm.notes, self.intended
        success, failure, resume = fsm.success, fsm.failure, fsm.resume
        index, branches = fsm.index, fsm.branches
        pairs, append_event = self.pairs, self.events.append
        signal, effect_of, dispatch, retry = self.signal, self.effect, self.dispatch, self.retry
        at = self.at
        while True:
            if current:
                due, seq, kind, node, extra, owner = current.popleft()
            elif queue:
                # The clock moves: the other items due then follow, in order, before any item
                # queued from then on (which gets a later insertion number).
                due, seq, kind, node, extra, owner = heappop(queue)
                while queue and queue[0][0] == due:
                    current.append(heappop(queue))
            else:
                break
            if seq in finished:
                continue
            if processed == MAX_ITEMS:
                self.event("note", ("text", f"stopped after {MAX_ITEMS} items"))
                status = "stalled"
                break
            if due != duration:
                if due > _MAX_MICROS:  # checked when the clock moves: due times never go back
                    text = "the virtual clock passed datetime.timedelta.max: the run stops here"
                    self.event("note", ("text", text))
                    status = "stalled"
                    break
                self.at = at = timedelta(microseconds=due)
            if owner is not None:
                del by_branch[owner][seq]
            processed += 1
            self.now = duration = due
            try:
                # signal(), inlined for the three signals that make up almost every run.
                if kind == OK:
                    append_event(_new(Event, (at, "answer", (pairs[node], _OK))))
                    effect = success(node, due)
                elif kind == FAIL:
                    append_event(_new(Event, (at, "answer", (pairs[node], _FAIL))))
                    effect = failure(node, due)
                elif kind == RESUME:
                    append_event(_new(Event, (at, "timer", (pairs[node], _RESUME))))
                    effect = resume(node)
                else:
                    finished.add(seq)
                    effect = signal(kind, node, extra)
            except FsmError as error:
                if self.intended:
                    self.event("error", ("error", error.name), ("message", error.message))
                    status = "stalled"
                    break
                fsm.rollback()
                self.event("error", ("error", error.name), ("message", error.message))
                continue
            if journal is not None:
                journal.clear()  # the signal's changes stay
            if notes:
                self.notes()
            if isinstance(effect, int):
                branch = index.get(effect) if intended else None
                dispatch(effect, branch if branch is not None and branch in branches else None)
                continue
            if effect[0] == "retry":
                retry(effect[1], effect[2], effect[3])
                continue
            status = effect_of(effect)
            if status is not None:
                break
        if self.now != duration:  # pragma: no cover - the loop keeps them equal
            self.now, self.at = duration, timedelta(microseconds=duration)
        final = status or "stalled"
        self.event(final)
        return final, self.dispatches, self.events, duration


def _ms(micros: int) -> int | float:
    return micros // 1000 if micros % 1000 == 0 else micros / 1000


def execute(
    graph: Graph,
    script: dict[str, list[Outcome]],
    *,
    intended: bool,
    seed: int,
    start: Any,
    cancel_after: int | None,
    repeats: bool,
) -> Run:
    """Run one traversal to its end; see the contract's §4 for the rules."""
    fsm = FSM(graph, intended, Random(seed), start)
    return _Executor(graph, script, fsm, intended).run(cancel_after, repeats)
