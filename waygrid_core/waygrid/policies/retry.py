"""Retry policies: how often, and after which delays, the server retries a failed node."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from random import Random
from typing import ClassVar

from .._values import check_duration, check_float, check_int
from .._wire import NanEqualValue, WireValue
from ._backoff import fib32, jitter, pow_to_long, scaled, to_millis

__all__ = [
    "BoundedExponentialRetryPolicy",
    "DecorrelatedJitterRetryPolicy",
    "ExponentialRetryPolicy",
    "FibonacciRetryPolicy",
    "FullJitterRetryPolicy",
    "LinearRetryPolicy",
    "NoRetryPolicy",
    "PolynomialRetryPolicy",
    "RetryPolicy",
]


@dataclass(frozen=True, slots=True)
class RetryPolicy(WireValue):
    """A retry policy. Build one with the class methods or use `RetryPolicy.NONE`.

    Example:
        >>> RetryPolicy.exponential(timedelta(seconds=1), max_retries=5)
        ExponentialRetryPolicy(base=datetime.timedelta(seconds=1), max_retries=5)
    """

    NONE: ClassVar[NoRetryPolicy]
    """Never retry (the default)."""

    @staticmethod
    def linear(base: timedelta, max_retries: int) -> LinearRetryPolicy:
        """The same delay before every retry."""
        return LinearRetryPolicy(base, max_retries)

    @staticmethod
    def exponential(base: timedelta, max_retries: int) -> ExponentialRetryPolicy:
        """Delays of ``base``, ``2*base``, ``4*base``, ..."""
        return ExponentialRetryPolicy(base, max_retries)

    @staticmethod
    def bounded_exponential(
        base: timedelta, cap: timedelta, max_retries: int
    ) -> BoundedExponentialRetryPolicy:
        """Exponential delays that never grow past ``cap``."""
        return BoundedExponentialRetryPolicy(base, cap, max_retries)

    @staticmethod
    def fibonacci(base: timedelta, max_retries: int) -> FibonacciRetryPolicy:
        """Delays of ``base`` times 1, 1, 2, 3, 5, ..."""
        return FibonacciRetryPolicy(base, max_retries)

    @staticmethod
    def polynomial(base: timedelta, max_retries: int, power: float) -> PolynomialRetryPolicy:
        """Delays of ``base * n**power`` for the n-th retry (server-supported, not in the docs)."""
        return PolynomialRetryPolicy(base, max_retries, power)

    @staticmethod
    def full_jitter(base: timedelta, max_retries: int) -> FullJitterRetryPolicy:
        """Random delays between 0 and ``base * 2**(n-1)``."""
        return FullJitterRetryPolicy(base, max_retries)

    @staticmethod
    def decorrelated_jitter(base: timedelta, max_retries: int) -> DecorrelatedJitterRetryPolicy:
        """Random delays between ``base`` and ``base * 3**(n-1)`` (AWS style)."""
        return DecorrelatedJitterRetryPolicy(base, max_retries)

    def next_delay_ms(self, attempt: int, rng: Random | None = None) -> int | None:
        """The server's delay in ms before retry ``attempt``, or None when no retry is left.

        This is the server's ``Backoff.nextDelay`` without a hash key, to the millisecond:
        deterministic jitter for the fixed policies, a draw from ``rng`` for the random ones.
        Attempt 1 is the first retry.

        Args:
            attempt: 1 for the first retry, 2 for the second, ...
            rng: the generator of the random policies (a fresh ``Random(0)`` when omitted).

        Raises:
            OverflowError: where the server's duration arithmetic throws (`BackoffOverflowError`).

        Example:
            >>> policy = RetryPolicy.exponential(timedelta(seconds=1), 3)
            >>> [policy.next_delay_ms(n) for n in (1, 2, 3)]
            [1075, 2300, 4230]
        """
        return None


@dataclass(frozen=True, slots=True)
class NoRetryPolicy(RetryPolicy):
    """Never retry. Wire form ``{"type": "None"}``."""


@dataclass(frozen=True, slots=True)
class _BackoffRetryPolicy(RetryPolicy):
    base: timedelta
    """The first delay."""
    max_retries: int
    """How many retries after the first attempt (the server allows any 32-bit int)."""

    def __post_init__(self) -> None:
        check_duration(self.base, f"{type(self).__name__}.base")
        check_int(self.max_retries, f"{type(self).__name__}.max_retries")


@dataclass(frozen=True, slots=True)
class LinearRetryPolicy(_BackoffRetryPolicy):
    """The same delay, ``base``, before every retry."""

    def next_delay_ms(self, attempt: int, rng: Random | None = None) -> int | None:
        if attempt > self.max_retries:
            return None
        return jitter(to_millis(scaled(self.base, 1)), 0.10)


@dataclass(frozen=True, slots=True)
class ExponentialRetryPolicy(_BackoffRetryPolicy):
    """Delays doubling from ``base``."""

    def next_delay_ms(self, attempt: int, rng: Random | None = None) -> int | None:
        if attempt > self.max_retries:
            return None
        return jitter(to_millis(scaled(self.base, pow_to_long(2, attempt - 1))), 0.25)


@dataclass(frozen=True, slots=True)
class FibonacciRetryPolicy(_BackoffRetryPolicy):
    """Delays following the Fibonacci sequence times ``base``."""

    def next_delay_ms(self, attempt: int, rng: Random | None = None) -> int | None:
        # fib(n) wraps silently in 32 bits from n = 47, as on the server: the delay turns negative.
        if attempt > self.max_retries:
            return None
        return jitter(to_millis(scaled(self.base, fib32(attempt))), 0.10)


@dataclass(frozen=True, slots=True)
class FullJitterRetryPolicy(_BackoffRetryPolicy):
    """Random delays up to an exponentially growing bound."""

    def next_delay_ms(self, attempt: int, rng: Random | None = None) -> int | None:
        if attempt > self.max_retries:
            return None
        high = to_millis(scaled(self.base, pow_to_long(2, attempt - 1)))
        return (rng or Random(0)).randrange(max(high, 1))


@dataclass(frozen=True, slots=True)
class DecorrelatedJitterRetryPolicy(_BackoffRetryPolicy):
    """Random delays between ``base`` and a bound growing by 3x."""

    def next_delay_ms(self, attempt: int, rng: Random | None = None) -> int | None:
        if attempt > self.max_retries:
            return None
        high = to_millis(scaled(self.base, pow_to_long(3, attempt - 1)))
        low = to_millis(scaled(self.base, 1))
        return low + (rng or Random(0)).randrange(max(high - low, 1))


@dataclass(frozen=True, slots=True, init=False)
class BoundedExponentialRetryPolicy(RetryPolicy):
    """Delays doubling from ``base`` up to ``cap``."""

    base: timedelta
    """The first delay."""
    cap: timedelta
    """The largest delay."""
    max_retries: int
    """How many retries after the first attempt."""

    def __init__(self, base: timedelta, cap: timedelta, max_retries: int) -> None:
        name = "BoundedExponentialRetryPolicy"
        object.__setattr__(self, "base", check_duration(base, f"{name}.base"))
        object.__setattr__(self, "cap", check_duration(cap, f"{name}.cap"))
        object.__setattr__(self, "max_retries", check_int(max_retries, f"{name}.max_retries"))

    def next_delay_ms(self, attempt: int, rng: Random | None = None) -> int | None:
        if attempt > self.max_retries:
            return None
        # The server multiplies before it applies the cap, so a huge attempt still overflows.
        raw = scaled(self.base, pow_to_long(2, attempt - 1))
        cap = scaled(self.cap, 1)
        return jitter(to_millis(cap if raw > cap else raw), 0.20)


@dataclass(frozen=True, slots=True, eq=False)
class PolynomialRetryPolicy(NanEqualValue, _BackoffRetryPolicy):
    """Delays of ``base * n**power``."""

    power: float
    """The exponent (held as a float, as the server's double)."""

    def __post_init__(self) -> None:
        _BackoffRetryPolicy.__post_init__(self)
        object.__setattr__(self, "power", check_float(self.power, f"{type(self).__name__}.power"))

    def next_delay_ms(self, attempt: int, rng: Random | None = None) -> int | None:
        if attempt > self.max_retries:
            return None
        return jitter(to_millis(scaled(self.base, pow_to_long(attempt, self.power))), 0.15)


RetryPolicy.NONE = NoRetryPolicy()
