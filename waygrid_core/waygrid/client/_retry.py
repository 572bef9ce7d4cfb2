"""When to retry a submit and how long to wait: backoff with jitter, ``Retry-After``."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

__all__ = [
    "RETRYABLE_STATUSES",
    "RetrySettings",
    "TransportFailure",
    "classify_transport_error",
    "parse_retry_after",
]

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
"""Statuses always retried. A 500 is retried too unless its body says the spec was rejected."""


@dataclass(frozen=True, slots=True)
class RetrySettings:
    """How many times to retry, and how long to wait between attempts (all in seconds)."""

    max_retries: int
    backoff_base: float
    backoff_cap: float
    retry_after_cap: float
    retry_read_timeouts: bool

    def delay(self, retry: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first retry).

        A ``Retry-After`` from the server wins, capped at ``retry_after_cap``. Otherwise capped
        exponential backoff with *equal jitter*: the step ``min(cap, base * 2**(retry-1))`` is
        halved and a random share of the other half is added, so a wait is never shorter than half
        its step (no hammering a struggling server) yet concurrent clients still spread out.
        """
        if retry_after is not None:
            return min(retry_after, self.retry_after_cap)
        step = min(self.backoff_cap, self.backoff_base * 2.0 ** min(retry - 1, 62))
        half = step / 2.0
        return half + random.uniform(0.0, half)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds the server asked us to wait: ``Retry-After`` as delta-seconds or an HTTP-date.

    Returns None when the header is absent or unreadable; never a negative number.
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT; be lenient with servers that omit it
            return None
        return max(0.0, when.timestamp() - time.time())
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return max(0.0, seconds)


@dataclass(frozen=True, slots=True)
class TransportFailure:
    """How the client treats an exception httpx raised while sending or reading."""

    retryable: bool
    """Whether another attempt is allowed (the request was not sent, or a resend is harmless)."""
    timeout: bool
    """Whether it is a timeout (reported as `WaygridTimeoutError`)."""
    phase: str
    """What failed, for messages: ``connecting``, ``sending the request``, ...."""


def classify_transport_error(exc: httpx.HTTPError, retry_read_timeouts: bool) -> TransportFailure:
    """Decide whether a network-level failure may be retried.

    Not sent at all (``ConnectError``, ``ConnectTimeout``, ``PoolTimeout``) or not sent in full
    (``WriteError``, ``WriteTimeout``): always retried. A connection dropped after the request went
    out (``ReadError``, ``RemoteProtocolError``): retried, because the ``Idempotency-Key`` is reused
    and a server that honours it will not start a second traversal. A ``ReadTimeout``: retried only
    with ``retry_read_timeouts``, since a slow server may still be processing the request (contract
    §6). Anything else (proxy errors, protocol violations on our side, undecodable responses):
    never.
    """
    if isinstance(exc, httpx.ReadTimeout):
        return TransportFailure(retry_read_timeouts, True, "waiting for the response")
    if isinstance(exc, httpx.ConnectTimeout):
        return TransportFailure(True, True, "connecting")
    if isinstance(exc, httpx.PoolTimeout):
        return TransportFailure(True, True, "waiting for a free connection")
    if isinstance(exc, httpx.WriteTimeout):
        return TransportFailure(True, True, "sending the request")
    if isinstance(exc, httpx.ConnectError):
        return TransportFailure(True, False, "connecting")
    if isinstance(exc, httpx.WriteError):
        return TransportFailure(True, False, "sending the request")
    if isinstance(exc, (httpx.ReadError, httpx.RemoteProtocolError)):
        return TransportFailure(True, False, "reading the response")
    if isinstance(exc, httpx.TimeoutException):
        return TransportFailure(False, True, "talking to the server")
    return TransportFailure(False, False, "talking to the server")
