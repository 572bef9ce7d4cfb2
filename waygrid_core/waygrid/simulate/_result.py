"""What a simulation gives back: the status, the dispatches, the events, and views of them."""

from __future__ import annotations

from collections.abc import Mapping
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


@dataclass(frozen=True, slots=True)
class Event:
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
        """The event in a few words, for the timeline."""
        extra = ", ".join(
            f"{key}={_show(value)}" for key, value in self.details if key not in ("node",)
        )
        return f"{self.kind}{' ' + extra if extra else ''}"


def _show(value: Detail) -> str:
    return value if isinstance(value, str) else repr(value)


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

    def timeline(self) -> str:
        """The run as text: one line per event (time, node, attempt, what), then how it ended."""
        lines = [f"simulated traversal ({self.mode} mode)"]
        for event in self.events:
            at = _clock(event.at)
            node = event.node or ""
            attempt = event.get("attempt")
            mark = f"#{attempt}" if attempt is not None else ""
            what = event.kind
            extra = ", ".join(
                f"{key} {_show(value)}"
                for key, value in event.details
                if key not in ("node", "attempt")
            )
            if extra:
                what = f"{what} ({extra})"
            lines.append(f"{at:>12}  {node:<24} {mark:<4} {what}".rstrip())
        lines.append(f"{self.status} after {_clock(self.duration)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.timeline()

    def to_mermaid(self) -> str:
        """A Mermaid Gantt chart: one row per dispatch, from dispatch to answer (or the end)."""
        from ._mermaid import gantt

        return gantt(self)


def _clock(at: timedelta) -> str:
    """``+1.075s``, ``+250ms``, ``+0ms``; microseconds when not whole milliseconds."""
    micros = at // timedelta(microseconds=1)
    if micros % 1000:
        return f"+{micros / 1000:.3f}ms"
    millis = micros // 1000
    if millis >= 1000:
        return f"+{millis / 1000:.3f}s"
    return f"+{millis}ms"


def event_details(data: Mapping[str, Detail]) -> tuple[tuple[str, Detail], ...]:
    """Details as a tuple of pairs, in insertion order."""
    return tuple(data.items())
