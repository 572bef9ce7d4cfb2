"""Checks and wire forms of the scalar values a spec holds: durations, instants, numbers, text."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone

from .errors import SpecError

__all__ = [
    "check_address",
    "check_duration",
    "check_float",
    "check_instant",
    "check_int",
    "check_text",
    "format_duration",
    "format_instant",
    "parse_duration",
    "parse_instant",
    "shown",
]

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_MICROS = timedelta(microseconds=1)
_MAX_MICROS = INT64_MAX // 1000  # the server holds durations as at most 2^63-1 nanoseconds

# Largest unit first: a duration is written in the largest unit that divides it exactly.
_UNITS_OUT = (("d", 86_400_000_000), ("h", 3_600_000_000), ("m", 60_000_000), ("s", 1_000_000))


_SHOWN = 200


def shown(value: object) -> str:
    """A value quoted in an error message, cut short: hostile values can be megabytes long.

    Strings and small numbers appear as their repr; other values (containers, which may be
    nested too deeply to repr, and huge ints, which `repr` refuses) by their type only.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 640:
        return f"an int of about {value.bit_length() * 3 // 10:,} digits"
    if not isinstance(value, (str, int, float)) and value is not None:
        return type(value).__name__
    text = repr(value)
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}... ({len(text):,} characters)"


def check_int(value: object, what: str, *, bits: int = 32) -> int:
    """Return ``value`` if it is an int (not a bool) that fits the server's ``bits``-bit field."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{what} must be an int, got {type(value).__name__} {shown(value)}")
    low, high = (INT32_MIN, INT32_MAX) if bits == 32 else (INT64_MIN, INT64_MAX)
    if not low <= value <= high:
        raise SpecError(f"{what} must fit in a signed {bits}-bit integer, got {shown(value)}")
    return value


def check_float(value: object, what: str) -> float:
    """Return ``value`` as a float if it is a finite int or float (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f"{what} must be a number, got {type(value).__name__} {shown(value)}")
    try:
        result = float(value)
    except OverflowError:
        result = math.inf
    if not math.isfinite(result):
        raise SpecError(f"{what} must be finite, got {shown(value)}")
    return result


def check_text(value: object, what: str) -> str:
    """Return ``value`` if it is a str."""
    if not isinstance(value, str):
        raise SpecError(f"{what} must be a str, got {type(value).__name__} {shown(value)}")
    return value


_BAD_IN_ADDRESS = re.compile(r'[\s\x00-\x1f\x7f"<>\\^`{|}]')
_GOOD_ADDRESSES: dict[str, None] = {}  # a bounded cache: specs repeat their addresses


def check_address(value: object) -> str:
    """Return ``value`` if it is a non-empty URI-like string the server's URI parser accepts."""
    if isinstance(value, str) and value in _GOOD_ADDRESSES:  # JSON arrays/objects are unhashable
        return value
    address = check_text(value, "address")
    if not address:
        raise SpecError("address must not be empty")
    bad = _BAD_IN_ADDRESS.search(address)
    if bad is not None:
        raise SpecError(
            f"address {shown(address)} contains {bad.group(0)!r}, which is not allowed in a URI; "
            "use the form 'waygrid://<component>/<service>'"
        )
    if len(_GOOD_ADDRESSES) >= 4096:
        _GOOD_ADDRESSES.clear()
    _GOOD_ADDRESSES[address] = None
    return address


def check_duration(value: object, what: str) -> timedelta:
    """Return ``value`` if it is a `timedelta` the server can hold (0 to 2^63-1 ns, whole µs)."""
    if not isinstance(value, timedelta):
        raise SpecError(
            f"{what} must be a datetime.timedelta, got {type(value).__name__} {shown(value)}"
        )
    if value < timedelta(0):
        raise SpecError(f"{what} must not be negative, got {value}")
    if value // _MICROS > _MAX_MICROS:
        raise SpecError(f"{what} is longer than the server's limit of 2^63-1 ns (~292 years)")
    return value


def check_instant(value: object, what: str) -> datetime:
    """Return ``value`` converted to UTC if it is a timezone-aware `datetime`."""
    if not isinstance(value, datetime):
        raise SpecError(f"{what} must be a datetime.datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise SpecError(
            f"{what} must be timezone-aware (e.g. datetime(2030, 1, 1, tzinfo=timezone.utc)), "
            f"got the naive {value.isoformat()}"
        )
    return value.astimezone(timezone.utc)


def format_duration(value: timedelta) -> str:
    """The canonical wire form: ``"5s"``, ``"90s"``, ``"1m"``, ``"1500ms"``, ``"1500micros"``."""
    micros = value // _MICROS
    if micros == 0:
        return "0s"
    for unit, size in _UNITS_OUT:
        if micros % size == 0:
            return f"{micros // size}{unit}"
    if micros % 1000 == 0:
        return f"{micros // 1000}ms"
    return f"{micros}micros"


def format_instant(value: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ``, with ``.ffffff`` only when the microsecond is not zero."""
    v = value
    text = f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}"
    return f"{text}.{v.microsecond:06d}Z" if v.microsecond else f"{text}Z"


# --- Parsing, as the server's Scala `Duration(String)` and Java `Instant.parse` read them ---

_NANOS_PER_UNIT = {
    **dict.fromkeys(("d", "day", "days"), 86_400_000_000_000),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3_600_000_000_000),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60_000_000_000),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1_000_000_000),
    **dict.fromkeys(("ms", "milli", "millis", "millisecond", "milliseconds"), 1_000_000),
    **dict.fromkeys(("\u00b5s", "micro", "micros", "microsecond", "microseconds"), 1_000),
    **dict.fromkeys(("ns", "nano", "nanos", "nanosecond", "nanoseconds"), 1),
}
_INFINITE = frozenset(
    (
        "Inf",
        "PlusInf",
        "+Inf",
        "Duration.Inf",
        "MinusInf",
        "-Inf",
        "Duration.MinusInf",
        "Duration.Undefined",
    )
)
# Java's Character.isWhitespace: Unicode separators except no-break spaces, plus ASCII controls.
_JAVA_SPACE = re.compile(
    "[\t\n\u000b\f\r\u001c-\u001f \u1680\u2000-\u2006\u2008-\u200a\u2028\u2029\u205f\u3000]"
)
_LONG = re.compile(r"[+-]?[0-9]+")
# Written so that no two parts can match the same digits: a failed match then costs time in
# proportion to the text, not its square (the obvious `[0-9]+\.?[0-9]*` backtracks).
_DOUBLE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fFdD]?")
_LETTERS = re.compile(r"[^\W\d_]*")
_LONG_DIGITS = 19  # 2^63-1 has 19 digits: longer numbers (leading zeros aside) overflow a Long


class InfiniteDurationError(SpecError):
    """The duration text names an infinite duration, which the server refuses."""


def parse_duration(text: str) -> timedelta:
    """Read a duration the way the server does (``"5s"``, ``"5 seconds"``, ``"1.5h"``, ...).

    Raises:
        SpecError: for text the server rejects, and for values the SDK cannot hold (negative or
            finer than a microsecond).
    """
    compact = _JAVA_SPACE.sub("", text)
    if compact in _INFINITE:
        raise InfiniteDurationError(f"infinite duration {shown(text)} is not allowed")
    # The unit is the trailing run of letters; matched on the reversed text because a search
    # for "letters at the end" retries from every position and costs the square of the length.
    unit = _LETTERS.match(compact[::-1]).group(0)[::-1]  # type: ignore[union-attr]
    unit_nanos = _NANOS_PER_UNIT.get(unit)
    if unit_nanos is None:
        raise SpecError(
            f"expected a duration such as '5s', '500ms' or '2 minutes', got {shown(text)} "
            "(units: d, h, m, s, ms, micros, ns and their long names; no ISO-8601)"
        )
    number = compact[: len(compact) - len(unit)]
    if _LONG.fullmatch(number):
        digits = number.lstrip("+-").lstrip("0") or "0"
        if len(digits) > _LONG_DIGITS:
            raise SpecError(f"duration {shown(text)} is out of the server's range (±2^63-1 ns)")
        nanos = (-1 if number[0] == "-" else 1) * int(digits) * unit_nanos
    elif _DOUBLE.fullmatch(number):
        exact = float(number.rstrip("fFdD")) * unit_nanos
        if not math.isfinite(exact) or abs(exact) > 2**63:
            raise SpecError(f"duration {shown(text)} is out of the server's range")
        nanos = math.floor(exact + 0.5)  # Java's Math.round
    else:
        raise SpecError(f"expected a number before the unit in duration {shown(text)}")
    if not INT64_MIN < nanos <= INT64_MAX:
        raise SpecError(f"duration {shown(text)} is out of the server's range (±2^63-1 ns)")
    if nanos < 0:
        raise SpecError(f"duration {shown(text)} is negative; the SDK only holds durations >= 0")
    if nanos % 1000:
        raise SpecError(
            f"duration {shown(text)} is finer than a microsecond, which Python cannot hold"
        )
    return timedelta(microseconds=nanos // 1000)


_INSTANT = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:(Z)|([+-])(\d{2}):(\d{2}))"
)


def parse_instant(text: str) -> datetime:
    """Read an ISO-8601 instant: ``2030-01-15T10:00:00Z`` or with a ``±HH:MM`` offset."""
    match = _INSTANT.fullmatch(text)
    if match is None:
        raise SpecError(
            f"expected an ISO-8601 instant such as '2030-01-15T10:00:00Z', got {shown(text)}"
        )
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    fraction = (fraction or "").ljust(9, "0")
    if fraction[6:] != "000":
        raise SpecError(
            f"instant {shown(text)} is finer than a microsecond, which Python cannot hold"
        )
    offset = timedelta(0)
    if not zulu:
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        if sign == "-":
            offset = -offset
    try:
        local = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int(fraction[:6]),
            tzinfo=timezone(offset),
        )
        return local.astimezone(timezone.utc)
    except (ValueError, OverflowError) as exc:
        raise SpecError(f"instant {shown(text)} is not a valid date and time ({exc})") from None
