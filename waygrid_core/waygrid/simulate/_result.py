"""What a simulation gives back: the status, the dispatches, the events, and views of them."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, NamedTuple

__all__ = ["Dispatch", "Event", "Simulation", "Status"]

Status = Literal["completed", "failed", "canceled", "stalled"]
Detail = str | int | float | None


def _ms(at: timedelta) -> int | float:
    """Milliseconds: an int when whole, else a float (due times are whole microseconds)."""
    micros = at // timedelta(microseconds=1)
    return micros // 1000 if micros % 1000 == 0 else micros / 1000


class Dispatch(NamedTuple):
    """One dispatch of a node: its name, when (since the start) and which attempt."""

    label: str
    """The node's name: its label, or its address when it has none."""
    at: timedelta
    """When, since the start of the traversal."""
    attempt: int
    """1 for the node's first execution, 2 for its first retry, ..."""


class Event(NamedTuple):
    """One entry of the timeline (contract §9): when, what kind, and kind-specific details."""

    at: timedelta
    """When, since the start."""
    kind: str
    """``start``, ``dispatch``, ``answer``, ``retry-scheduled``, ``completed``, ..."""
    details: tuple[tuple[str, Detail], ...] = ()
    """The kind-specific keys (``node``, ``attempt``, ``outcome``, ``dueMs``, ...)."""

    def get(self, key: str) -> Detail:
        """The detail ``key`` (None when absent)."""
        for name, value in self.details:
            if name == key:
                return value
        return None

    @property
    def node(self) -> str | None:
        """The name of the node concerned, if any."""
        value = self.get("node")
        return value if isinstance(value, str) else None

    def to_dict(self) -> dict[str, Detail]:
        """``{"atMs": ..., "kind": ..., **details}``."""
        return {"atMs": _ms(self.at), "kind": self.kind, **dict(self.details)}

    def describe(self) -> str:
        """What happened, in words (as the timeline says it)."""
        return _say(self)


@dataclass(frozen=True, slots=True)
class Simulation:
    """The result of `simulate`: one traversal of a spec on a virtual clock.

    Example:
        >>> run = simulate(spec, script={"charge": ["fail", "ok"]})
        >>> run.status, run.attempts("charge")
        ('completed', 2)
    """

    status: Status
    """``completed``, ``failed``, ``canceled`` or ``stalled``."""
    mode: Literal["intended", "upstream"]
    """The rules the run followed."""
    dispatches: tuple[Dispatch, ...]
    """Every dispatch, in the order dispatched."""
    events: tuple[Event, ...]
    """The timeline."""
    duration: timedelta
    """The virtual time at which the run ended."""
    start: datetime
    """The instant the traversal started (``at`` values count from it)."""

    def to_dict(self) -> dict[str, object]:
        """The run as JSON: status, mode, durationMs, dispatches, events (contract §1)."""
        return {
            "status": self.status,
            "mode": self.mode,
            "durationMs": _ms(self.duration),
            "dispatches": [[d.label, _ms(d.at), d.attempt] for d in self.dispatches],
            "events": [event.to_dict() for event in self.events],
        }

    def attempts(self, label: str) -> int:
        """How many times the node named ``label`` was dispatched (0 when it never ran)."""
        return sum(1 for d in self.dispatches if d.label == label)

    def dispatch_times(self, label: str) -> list[timedelta]:
        """When the node named ``label`` was dispatched, in order."""
        return [d.at for d in self.dispatches if d.label == label]

    def ran(self, label: str) -> bool:
        """Whether the node named ``label`` was dispatched at all."""
        return any(d.label == label for d in self.dispatches)

    def events_until(self, at: timedelta) -> tuple[Event, ...]:
        """The events at or before ``at``: what a replay on a real clock has shown by then.

        Example:
            >>> shown = run.events_until(timedelta(seconds=elapsed * speed))
        """
        return self.events[: bisect_right(self.events, at, key=_event_at)]

    def node_states(self, at: timedelta | None = None) -> dict[str, str]:
        """Each node's state at ``at`` (default: the end), by name, for colouring a picture.

        States: ``scheduled``, ``running`` (dispatched, no answer yet), ``retrying`` (failed, a
        retry is scheduled), ``succeeded``, ``failed``; nodes never reached are absent.
        """
        states: dict[str, str] = {}
        events = self.events if at is None else self.events_until(at)
        for event in events:
            node = event.node
            if node is None:
                continue
            if event.kind == "dispatch":
                states[node] = "running"
            elif event.kind == "answer":
                states[node] = "succeeded" if event.get("outcome") == "ok" else "failed"
            elif event.kind == "retry-scheduled":
                states[node] = "retrying"
            elif event.kind == "scheduled":
                states[node] = "scheduled"
        return states

    def timeline(self) -> str:
        """The run as text: one line per event (time, node, attempt, what), then how it ended.

        Example:
            >>> print(simulate(spec, script={"charge": ["fail", "ok"]}).timeline())
        """
        lines = [f"simulated traversal ({self.mode} mode)"]
        width = min(max((len(e.node or "") for e in self.events), default=0), 28)
        for event in self.events:
            attempt = event.get("attempt")
            mark = f"#{attempt}" if attempt is not None else ""
            node = event.node or ""
            line = f"{_clock(event.at):>9}  {node:<{width}}  {mark:<3} {_say(event)}"
            lines.append(line.rstrip())
        lines.append(f"{self.status} after {_clock(self.duration)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.timeline()

    def to_mermaid(self) -> str:
        """A Mermaid Gantt chart: one row per dispatch, from dispatch to answer (or the end)."""
        from ._mermaid import gantt

        return gantt(self)


def _say(event: Event) -> str:
    """What happened, in words."""
    get, kind = event.get, event.kind
    due = get("dueMs")
    when = f" for {_clock(timedelta(milliseconds=due))}" if isinstance(due, (int, float)) else ""
    phrases = {
        "start": f"traversal starts at {get('entry')}",
        "note": str(get("text")),
        "dispatch": "dispatched",
        "answer": f"answers {get('outcome')}",
        "scheduled": f"scheduled{when}",
        "retry-scheduled": f"retry scheduled{when}"
        + (f" (asked for {get('requestedMs')} ms)" if get("requestedMs") is not None else ""),
        "timer": "timer fires" + (" (join timeout)" if get("what") == "join-timeout" else ""),
        "control": {"fan-out": "fork fans out", "arrive": "branch arrives at the join"}.get(
            str(get("action")), "join passes"
        ),
        "no-answer": "nobody answers a fork/join sent out as work",
        "fork": "fork starts its branches",
        "join-completed": "join completed",
        "join-failed": "join failed",
        "join-timed-out": "join timed out",
        "branch-canceled": f"branch canceled ({get('reason')})",
        "branch-failed": f"branch failed ({get('reason')})",
        "dropped": f"{get('what')} dropped",
        "timer-canceled": "join timer canceled",
        "error": f"FSM error {get('error')}: {get('message')}",
    }
    return phrases.get(kind, f"traversal {kind}")


def _event_at(event: Event) -> timedelta:
    return event.at


def _clock(at: timedelta) -> str:
    """``+1.075s``, ``+250ms``, ``+0ms``; microseconds when not whole milliseconds."""
    micros = at // timedelta(microseconds=1)
    if micros % 1000:
        return f"+{micros / 1000:.3f}ms"
    millis = micros // 1000
    if millis >= 1000:
        return f"+{millis / 1000:.3f}s"
    return f"+{millis}ms"
