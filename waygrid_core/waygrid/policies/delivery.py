"""Delivery strategies: when the server dispatches a node once it is reached."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from .._values import check_duration, check_instant
from .._wire import WireValue

__all__ = ["DeliveryStrategy", "Immediate", "ScheduleAfter", "ScheduleAt"]


@dataclass(frozen=True, slots=True)
class DeliveryStrategy(WireValue):
    """A delivery strategy: `DeliveryStrategy.IMMEDIATE` (the default) or a schedule.

    Example:
        >>> DeliveryStrategy.schedule_after(timedelta(minutes=5))
        ScheduleAfter(delay=datetime.timedelta(seconds=300))
    """

    IMMEDIATE: ClassVar[Immediate]
    """Dispatch as soon as the node is reached (the default)."""

    @staticmethod
    def schedule_after(delay: timedelta) -> ScheduleAfter:
        """Dispatch ``delay`` after the node is reached."""
        return ScheduleAfter(delay)

    @staticmethod
    def schedule_at(time: datetime) -> ScheduleAt:
        """Dispatch at ``time`` (a timezone-aware datetime), or at once if it has passed."""
        return ScheduleAt(time)


@dataclass(frozen=True, slots=True)
class Immediate(DeliveryStrategy):
    """Dispatch at once. Wire form ``{"type": "Immediate"}``."""


@dataclass(frozen=True, slots=True)
class ScheduleAfter(DeliveryStrategy):
    """Dispatch after a delay."""

    delay: timedelta
    """How long after the node is reached."""

    def __post_init__(self) -> None:
        check_duration(self.delay, "ScheduleAfter.delay")


@dataclass(frozen=True, slots=True)
class ScheduleAt(DeliveryStrategy):
    """Dispatch at a point in time."""

    time: datetime
    """When, held in UTC (aware datetimes are converted; naive ones are refused)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "time", check_instant(self.time, "ScheduleAt.time"))


DeliveryStrategy.IMMEDIATE = Immediate()
