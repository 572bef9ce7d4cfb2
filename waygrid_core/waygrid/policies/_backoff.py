"""The server's Backoff arithmetic for retry delays (JVM `FiniteDuration`, `Long`, `double`)."""

from __future__ import annotations

import math
from datetime import timedelta

__all__ = [
    "INT64_MAX",
    "BackoffOverflowError",
    "fib32",
    "jitter",
    "pow_to_long",
    "scaled",
    "to_millis",
]

INT64_MAX = (1 << 63) - 1
_TWO_63 = float(1 << 63)
# The unit the SDK writes a duration in (the largest that holds it exactly), in microseconds and
# nanoseconds: the server keeps that unit, and `FiniteDuration * Long` multiplies in it.
_UNITS = (
    (86_400_000_000, 86_400_000_000_000),
    (3_600_000_000, 3_600_000_000_000),
    (60_000_000, 60_000_000_000),
    (1_000_000, 1_000_000_000),
    (1_000, 1_000_000),
    (1, 1_000),
)


class BackoffOverflowError(OverflowError):
    """A retry delay the server cannot compute: its `FiniteDuration` arithmetic throws."""


def _micros(value: timedelta) -> int:
    return (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds


def _trunc_div(a: int, b: int) -> int:
    """Java's long division: the quotient rounded toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def scaled(base: timedelta, k: int) -> int:
    """``base * k`` as the server computes it (`FiniteDuration * Long`), in nanoseconds.

    Raises:
        BackoffOverflowError: when the product leaves the range of its unit (or of a `Long`).
    """
    micros = _micros(base)
    if micros == 0:
        return 0
    for unit_micros, unit_nanos in _UNITS:
        if micros % unit_micros == 0:
            length = micros // unit_micros
            product = length * k
            if abs(product) > INT64_MAX or abs(product) > INT64_MAX // unit_nanos:
                raise BackoffOverflowError(f"{base} x {k} exceeds the server's duration range")
            return product * unit_nanos
    raise AssertionError("unreachable: every duration is a whole number of microseconds")


def to_millis(nanos: int) -> int:
    """`FiniteDuration.toMillis`: truncation toward zero."""
    return _trunc_div(nanos, 1_000_000)


def pow_to_long(base: float, exponent: float) -> int:
    """``Math.pow(base, exponent).toLong``: saturating, truncating toward zero, NaN -> 0."""
    try:
        value = math.pow(base, exponent)
    except OverflowError:
        value = math.inf
    except ValueError:
        return 0
    if math.isnan(value):
        return 0
    if value >= _TWO_63:
        return INT64_MAX
    if value <= -_TWO_63:
        return -(1 << 63)
    return int(value)


def fib32(n: int) -> int:
    """The server's ``fibNum(n)``: Fibonacci in 32-bit `Int` arithmetic (wraps from n = 47)."""
    a, b = 0, 1
    for _ in range(n):
        a, b = b, (a + b + (1 << 31)) % (1 << 32) - (1 << 31)
    return a


def jitter(x: int, p: float) -> int:
    """The deterministic jitter of ``x`` ms with jitter fraction ``p``, in ms (`BACKOFF` l.32-35).

    Raises:
        BackoffOverflowError: when the jittered value leaves `FiniteDuration`'s range.
    """
    rem = x - _trunc_div(x, 97) * 97
    factor = 1.0 + (rem / 100.0) * p
    v = 1_000_000.0 * (float(x) * factor)
    if v > _TWO_63 or v <= -_TWO_63:
        raise BackoffOverflowError(f"a jittered delay of {x} ms exceeds the server's range")
    whole = math.floor(v)
    # v - floor(v) is exact for a double, so this is Java's Math.round without a Fraction.
    nanos = whole + 1 if v - whole >= 0.5 else whole
    return _trunc_div(nanos, 1_000_000)
