"""One submit's attempts: send, classify the answer or failure, wait, retry, within deadlines."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import anyio
import httpx

from waygrid.errors import (
    WaygridConnectionError,
    WaygridError,
    WaygridStatusError,
    WaygridTimeoutError,
)

from ._answers import CAP_TEXT, Answer, read_answer
from ._responses import Redactor, classify_status, parse_success
from ._retry import RetrySettings, TransportFailure, classify_transport_error
from .result import SubmitResult

__all__ = ["Endpoint", "send_with_retries"]

logger = logging.getLogger("waygrid")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a client sends and how it retries: everything an attempt needs but the pool."""

    url: httpx.URL
    """The ingest URL requests go to."""
    display_url: str
    """The same URL for messages, credentials hidden."""
    redact: Redactor
    """Scrubs the API key and credential headers from text meant for people."""
    retry: RetrySettings
    """Retry count, backoff and ``Retry-After`` caps, whether read timeouts are retried."""
    attempt_timeout: float | None
    """The most seconds one attempt may take as a whole (None: no attempt deadline)."""


async def send_with_retries(
    endpoint: Endpoint,
    pool: Callable[[], httpx.AsyncClient],
    body: bytes,
    key: str,
    retries: int,
    total: float | None,
) -> SubmitResult:
    """Send ``body`` with ``Idempotency-Key: key`` until an answer settles it.

    Args:
        endpoint: Where to send, and the retry settings.
        pool: The HTTP client to use for each attempt (opened anew for a new event loop).
        body: The request body.
        key: The idempotency key, the same on every attempt.
        retries: Retries after the first attempt.
        total: The most seconds for the whole call, or None.

    Raises:
        WaygridError: The last attempt's error (see `WaygridClient.submit`).
    """
    headers = {"Idempotency-Key": key}
    url = endpoint.url
    settings = endpoint.retry
    per_attempt = endpoint.attempt_timeout
    total_at = math.inf if total is None else anyio.current_time() + total
    attempt = 0
    while True:
        attempt += 1
        debug = logger.isEnabledFor(logging.DEBUG)
        started = time.perf_counter() if debug else 0.0
        attempt_at = math.inf if per_attempt is None else anyio.current_time() + per_attempt
        answer: Answer | None = None
        error: WaygridError | None = None
        retryable, retry_after, summary = False, None, ""
        with anyio.CancelScope(deadline=min(attempt_at, total_at)) as scope:
            try:
                answer = await read_answer(pool(), url, body, headers)
            except httpx.HTTPError as exc:
                failure = classify_transport_error(exc, settings.retry_read_timeouts)
                error = _transport_error(endpoint, exc, failure, attempt)
                retryable, summary = failure.retryable, type(exc).__name__
        if scope.cancelled_caught:
            which: Literal["attempt", "total"] = "total" if total_at <= attempt_at else "attempt"
            error = _deadline_error(
                endpoint, which, total if which == "total" else per_attempt, attempt
            )
            retryable = which == "attempt" and settings.retry_read_timeouts
            summary = f"{which} deadline"
            answer = None
        if answer is not None:
            status = answer.status
            if debug:
                logger.debug(
                    "POST %s -> %d (attempt %d, %.1f ms)",
                    endpoint.display_url,
                    status,
                    attempt,
                    (time.perf_counter() - started) * 1000.0,
                )
            if 200 <= status < 300:
                ids = None if answer.cut else parse_success(answer.content)
                if ids is not None:
                    return SubmitResult(ids[0], ids[1], key, attempt, status)
                error = _malformed_success(endpoint, status, answer)
            else:
                outcome = classify_status(
                    status,
                    answer.phrase,
                    answer.content,
                    answer.retry_after,
                    url=endpoint.display_url,
                    idempotency_key=key,
                    attempts=attempt,
                    redact=endpoint.redact,
                    cut=answer.cut,
                )
                error, retryable = outcome.error, outcome.retryable
                retry_after, summary = outcome.retry_after, outcome.summary
        assert error is not None
        if not retryable or attempt > retries:
            raise error
        delay = settings.delay(attempt, retry_after)
        if anyio.current_time() + delay >= total_at:
            raise WaygridTimeoutError(
                f"POST {endpoint.display_url}: the total deadline (deadline={total:g} s) would "
                f"run out before retry {attempt} of {retries} (due in {delay:.2f} s); "
                f"gave up after {attempt} attempt{'s' if attempt > 1 else ''}. "
                f"Last failure: {error}",
                deadline="total",
            ) from None
        logger.info(
            "POST %s failed (%s), retry %d of %d in %.2f s",
            endpoint.display_url,
            summary,
            attempt,
            retries,
            delay,
        )
        await anyio.sleep(delay)


def _deadline_error(
    endpoint: Endpoint, which: Literal["attempt", "total"], seconds: float | None, attempt: int
) -> WaygridTimeoutError:
    after = f" (attempt {attempt})" if attempt > 1 else ""
    if which == "total":
        limit = f"the total deadline (deadline={seconds:g} s) ran out"
    else:
        limit = f"the attempt deadline (attempt_timeout={seconds:g} s) ran out"
    retry = (
        ""
        if which == "total" or endpoint.retry.retry_read_timeouts
        else "; not retried, as the server may have processed the request "
        "(pass retry_read_timeouts=True to retry)"
    )
    logger.debug("POST %s: %s%s", endpoint.display_url, limit, after)
    return WaygridTimeoutError(
        f"POST {endpoint.display_url} timed out: {limit} before the answer was complete"
        f"{after}{retry}",
        deadline=which,
    )


def _transport_error(
    endpoint: Endpoint, exc: httpx.HTTPError, failure: TransportFailure, attempt: int
) -> WaygridConnectionError:
    display = endpoint.display_url
    detail = endpoint.redact(str(exc).strip())
    cause = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    after = f" after {attempt} attempts" if attempt > 1 else ""
    logger.debug("POST %s: %s while %s", display, cause, failure.phase)
    if isinstance(exc, httpx.ReadTimeout) and not endpoint.retry.retry_read_timeouts:
        return WaygridTimeoutError(
            f"POST {display} timed out {failure.phase}{after} ({cause}); not "
            "retried, as the server may have processed the request "
            "(pass retry_read_timeouts=True to retry)"
        )
    if failure.timeout:
        return WaygridTimeoutError(f"POST {display} timed out {failure.phase}{after} ({cause})")
    return WaygridConnectionError(f"POST {display} failed while {failure.phase}{after} ({cause})")


def _malformed_success(endpoint: Endpoint, status: int, answer: Answer) -> WaygridError:
    text = endpoint.redact(answer.content.decode("utf-8", errors="replace"))
    shown = text.strip()[:200]
    if answer.cut:
        what = f"a body longer than {CAP_TEXT} (cut at {CAP_TEXT}) instead of the expected"
    else:
        what = "without the expected"
    error = WaygridStatusError(
        f"POST {endpoint.display_url} answered {status} {what} "
        f'{{"traversalId": ..., "dagHash": ...}} body; is base_url the address of a Waygrid '
        f"server? (got {shown!r})",
        status_code=status,
        body=text,
    )
    error.body_truncated = answer.cut
    return error
