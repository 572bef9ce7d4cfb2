"""Durations, instants and numbers: the wire forms the contract fixes and the server reads."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from waygrid import DeliveryStrategy, Node, RepeatPolicy, RetryPolicy, SpecError
from waygrid._values import format_duration, format_instant, parse_duration, parse_instant


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(seconds=5), "5s"),
        (timedelta(seconds=90), "90s"),
        (timedelta(minutes=1), "1m"),
        (timedelta(minutes=90), "90m"),
        (timedelta(hours=2), "2h"),
        (timedelta(days=7), "7d"),
        (timedelta(milliseconds=1500), "1500ms"),
        (timedelta(microseconds=1500), "1500micros"),
        (timedelta(microseconds=1), "1micros"),
        (timedelta(days=1, seconds=1), "86401s"),
    ],
)
def test_duration_canonical_form(value: timedelta, text: str) -> None:
    """Durations are written as an integer of the largest unit that divides them exactly."""
    assert format_duration(value) == text
    assert parse_duration(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("5 seconds", timedelta(seconds=5)),
        ("1 second", timedelta(seconds=1)),
        ("1 minute", timedelta(minutes=1)),
        ("2 hrs", timedelta(hours=2)),
        ("1.5h", timedelta(minutes=90)),
        ("0.5s", timedelta(milliseconds=500)),
        (".5s", timedelta(milliseconds=500)),
        ("1e3ms", timedelta(seconds=1)),
        ("500 milliseconds", timedelta(milliseconds=500)),
        ("1  minute", timedelta(minutes=1)),
        ("+3s", timedelta(seconds=3)),
        ("1000ns", timedelta(microseconds=1)),
        ("7days", timedelta(days=7)),
        ("3\u00b5s", timedelta(microseconds=3)),
    ],
)
def test_duration_forms_the_server_reads(text: str, value: timedelta) -> None:
    """Every form Scala's Duration(String) accepts is read, as the docs promise."""
    assert parse_duration(text) == value


@pytest.mark.parametrize(
    "text",
    ["5 Seconds", "PT5S", "5", "Inf", "-Inf", "5w", "1 week", "", "s", "1.5.5s", "5 S", "-5s"],
)
def test_duration_forms_refused(text: str) -> None:
    """Forms the server refuses (and negative durations, which the SDK cannot hold) raise."""
    with pytest.raises(SpecError):
        parse_duration(text)


def test_sub_microsecond_duration_is_refused_not_rounded() -> None:
    """A duration finer than Python's microsecond is an error, never silently rounded."""
    with pytest.raises(SpecError, match="microsecond"):
        parse_duration("1500ns")


def test_duration_limits() -> None:
    """Negative durations and durations over 2^63-1 ns are refused when building."""
    with pytest.raises(SpecError, match="negative"):
        RetryPolicy.linear(timedelta(seconds=-1), 3)
    with pytest.raises(SpecError, match="2\\^63"):
        DeliveryStrategy.schedule_after(timedelta(days=300 * 365))
    assert DeliveryStrategy.schedule_after(timedelta(days=100 * 365)).delay.days == 36500


def test_duration_must_be_a_timedelta() -> None:
    """A string or number where a timedelta belongs gets a clear error."""
    with pytest.raises(SpecError, match="timedelta"):
        RetryPolicy.linear("5s", 3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2030, 1, 15, 10, 0, tzinfo=timezone.utc), "2030-01-15T10:00:00Z"),
        (
            datetime(2030, 1, 15, 10, 0, 0, 250000, tzinfo=timezone.utc),
            "2030-01-15T10:00:00.250000Z",
        ),
        (datetime(2030, 1, 15, 12, 0, tzinfo=timezone(timedelta(hours=2))), "2030-01-15T10:00:00Z"),
        (datetime(1, 1, 1, tzinfo=timezone.utc), "0001-01-01T00:00:00Z"),
    ],
)
def test_instant_canonical_form(value: datetime, text: str) -> None:
    """Instants are written in UTC with Z, microseconds only when not zero."""
    assert format_instant(DeliveryStrategy.schedule_at(value).time) == text


def test_instants_with_offsets_are_read() -> None:
    """Timestamps with ±HH:MM offsets are read and converted to UTC."""
    expected = datetime(2030, 1, 15, 10, 0, tzinfo=timezone.utc)
    assert parse_instant("2030-01-15T12:00:00+02:00") == expected
    assert parse_instant("2030-01-15T05:30:00-04:30") == expected
    assert parse_instant("2030-01-15T10:00:00.000000000Z") == expected


@pytest.mark.parametrize(
    "text", ["2030-01-15", "2030-01-15T10:00Z", "2030-01-15 10:00:00Z", "2030-02-30T00:00:00Z"]
)
def test_bad_instants_are_refused(text: str) -> None:
    """Instants without seconds, without a zone, or impossible dates raise."""
    with pytest.raises(SpecError):
        parse_instant(text)


def test_naive_datetimes_are_refused() -> None:
    """A naive datetime is refused with a message that shows how to make it aware."""
    with pytest.raises(SpecError, match="timezone-aware"):
        DeliveryStrategy.schedule_at(datetime(2030, 1, 1))
    with pytest.raises(SpecError, match="timezone-aware"):
        RepeatPolicy.until(every=timedelta(hours=1), until=datetime(2030, 1, 1))


@pytest.mark.parametrize("value", [2**31, -(2**31) - 1, True, 3.0, "3"])
def test_32_bit_integers(value: object) -> None:
    """maxRetries is a 32-bit int: out-of-range values, bools and non-ints are refused."""
    with pytest.raises(SpecError):
        RetryPolicy.linear(timedelta(seconds=1), value)  # type: ignore[arg-type]


def test_64_bit_repeat_times() -> None:
    """Times.time is 64-bit on the server."""
    assert RepeatPolicy.times(timedelta(hours=1), 2**40).times == 2**40
    with pytest.raises(SpecError):
        RepeatPolicy.times(timedelta(hours=1), 2**63)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_floats_are_refused(value: float) -> None:
    """NaN and infinities are refused in parameters and powers."""
    with pytest.raises(SpecError):
        RetryPolicy.polynomial(timedelta(seconds=1), 3, value)
    with pytest.raises(SpecError):
        Node.standard("waygrid://a/b").with_parameters({"x": value})


@pytest.mark.parametrize(
    "address",
    ["", "waygrid://a/b c", "waygrid://a/b\n", "waygrid://a/{b}", 'waygrid://a/"b"', "a|b"],
)
def test_bad_addresses_are_refused(address: str) -> None:
    """Addresses with whitespace, control characters or URI-forbidden characters raise."""
    with pytest.raises(SpecError, match="address"):
        Node.standard(address)
