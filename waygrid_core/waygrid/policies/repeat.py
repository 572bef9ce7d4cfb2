"""Repeat policies: whether the whole traversal runs again, and how often."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from .._values import check_duration, check_instant, check_int
from .._wire import WireValue

__all__ = ["NoRepeat", "RepeatIndefinitely", "RepeatPolicy", "RepeatTimes", "RepeatUntil"]


@dataclass(frozen=True, slots=True)
class RepeatPolicy(WireValue):
    """A repeat policy: `RepeatPolicy.NO_REPEAT` (the default) or a schedule.

    The server stores the repeat policy with the compiled DAG; today it does not act on it.

    Example:
        >>> RepeatPolicy.times(every=timedelta(hours=1), times=10)
        RepeatTimes(every=datetime.timedelta(seconds=3600), times=10)
    """

    NO_REPEAT: ClassVar[NoRepeat]
    """Run once."""

    @staticmethod
    def indefinitely(every: timedelta) -> RepeatIndefinitely:
        """Run again every ``every``, forever."""
        return RepeatIndefinitely(every)

    @staticmethod
    def times(every: timedelta, times: int) -> RepeatTimes:
        """Run ``times`` times, ``every`` apart."""
        return RepeatTimes(every, times)

    @staticmethod
    def until(every: timedelta, until: datetime) -> RepeatUntil:
        """Run every ``every`` until ``until`` (a timezone-aware datetime)."""
        return RepeatUntil(every, until)


@dataclass(frozen=True, slots=True)
class NoRepeat(RepeatPolicy):
    """Run once. Wire form ``{"type": "NoRepeat"}``."""


@dataclass(frozen=True, slots=True)
class RepeatIndefinitely(RepeatPolicy):
    """Repeat forever. Wire form ``{"type": "Indefinitely", "every": ...}``."""

    every: timedelta
    """The interval."""

    def __post_init__(self) -> None:
        check_duration(self.every, "RepeatIndefinitely.every")


@dataclass(frozen=True, slots=True)
class RepeatTimes(RepeatPolicy):
    """Repeat a number of times. Wire form ``{"type": "Times", "every": ..., "time": n}``."""

    every: timedelta
    """The interval."""
    times: int  # type: ignore[assignment]  # the field shadows the RepeatPolicy.times factory
    """How many times (a 64-bit integer on the server; the wire field is named ``time``)."""

    def __post_init__(self) -> None:
        check_duration(self.every, "RepeatTimes.every")
        check_int(self.times, "RepeatTimes.times", bits=64)


@dataclass(frozen=True, slots=True)
class RepeatUntil(RepeatPolicy):
    """Repeat until a point in time. Wire form ``{"type": "Until", "every": ..., "until": ...}``."""

    every: timedelta
    """The interval."""
    until: datetime  # type: ignore[assignment]  # the field shadows the RepeatPolicy.until factory
    """The end, held in UTC."""

    def __post_init__(self) -> None:
        check_duration(self.every, "RepeatUntil.every")
        object.__setattr__(self, "until", check_instant(self.until, "RepeatUntil.until"))


RepeatPolicy.NO_REPEAT = NoRepeat()
