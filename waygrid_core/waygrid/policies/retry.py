"""Retry policies: how often, and after which delays, the server retries a failed node."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

from .._values import check_duration, check_float, check_int
from .._wire import WireValue

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


@dataclass(frozen=True, slots=True)
class ExponentialRetryPolicy(_BackoffRetryPolicy):
    """Delays doubling from ``base``."""


@dataclass(frozen=True, slots=True)
class FibonacciRetryPolicy(_BackoffRetryPolicy):
    """Delays following the Fibonacci sequence times ``base``."""


@dataclass(frozen=True, slots=True)
class FullJitterRetryPolicy(_BackoffRetryPolicy):
    """Random delays up to an exponentially growing bound."""


@dataclass(frozen=True, slots=True)
class DecorrelatedJitterRetryPolicy(_BackoffRetryPolicy):
    """Random delays between ``base`` and a bound growing by 3x."""


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


@dataclass(frozen=True, slots=True, init=False)
class PolynomialRetryPolicy(RetryPolicy):
    """Delays of ``base * n**power``."""

    base: timedelta
    """The unit delay."""
    max_retries: int
    """How many retries after the first attempt."""
    power: float
    """The exponent (held as a float, as the server's double)."""

    def __init__(self, base: timedelta, max_retries: int, power: float) -> None:
        name = "PolynomialRetryPolicy"
        object.__setattr__(self, "base", check_duration(base, f"{name}.base"))
        object.__setattr__(self, "max_retries", check_int(max_retries, f"{name}.max_retries"))
        object.__setattr__(self, "power", check_float(power, f"{name}.power"))


RetryPolicy.NONE = NoRetryPolicy()
