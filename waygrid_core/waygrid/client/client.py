"""`WaygridClient`: submits specs to a Waygrid server over HTTP, with retries."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Final, Literal, TypeVar

import anyio
import httpx

from waygrid.errors import (
    SpecError,
    WaygridConnectionError,
    WaygridError,
    WaygridStatusError,
    WaygridTimeoutError,
)

from ._config import (
    check_base_url,
    check_deadline,
    check_idempotency_key,
    check_retries,
    default_headers,
)
from ._responses import Redactor, classify_status, parse_success
from ._retry import RetrySettings, TransportFailure, classify_transport_error
from .config import (
    DEFAULT_BACKOFF_BASE,
    DEFAULT_BACKOFF_CAP,
    DEFAULT_LIMITS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_RETRY_AFTER_CAP,
    DEFAULT_TIMEOUT,
    ClientConfig,
)
from .result import JsonPayload, SubmitResult

if TYPE_CHECKING:
    from waygrid.spec import Spec

__all__ = ["DEFAULT_LIMITS", "DEFAULT_TIMEOUT", "MAX_RESPONSE_BYTES", "WaygridClient"]

logger = logging.getLogger("waygrid")
_SERVER_REJECTS = frozenset({"unsupported-by-server"})
"""Warning codes that mean today's server will reject the spec."""

MAX_RESPONSE_BYTES: Final = 1024 * 1024
"""The most bytes of an answer the client reads (1 MiB). A longer body is cut there, its connection
closed, and the error says so; exceptions keep at most this much of it."""
_CAP_TEXT: Final = "1 MiB"

_ClientT = TypeVar("_ClientT", bound="WaygridClient")


@dataclass(frozen=True, slots=True)
class _Answer:
    """What one attempt got back: at most `MAX_RESPONSE_BYTES` of the body."""

    status: int
    phrase: str
    retry_after: str | None
    content: bytes
    cut: bool
    """Whether the body was longer than `MAX_RESPONSE_BYTES` and cut there."""


_PAYLOAD_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # not under asyncio (e.g. trio): connections are not tied to a loop
        return None


class WaygridClient:
    """Async client of a Waygrid server: ``submit()`` a spec, get the traversal id back.

    One pooled ``httpx.AsyncClient`` serves every request, so create the client once and share it
    (it is safe to use from many tasks at once). ``async with client:`` closes the pool on exit,
    but the client stays usable: the next ``submit()`` opens a new pool, so per-request
    ``async with client: await client.submit(...)`` works, including from nested or concurrent
    blocks (the pool closes when the outermost block exits). Without ``async with``, call
    ``await client.aclose()`` when done. A client used from a new event loop (after
    ``asyncio.run`` returned, say) opens a fresh pool for it.

    Retries: ``max_retries`` more attempts after the first, all carrying the same
    ``Idempotency-Key``. Retried: 429, 500 (unless the spec was rejected), 502, 503, 504, and
    network failures where a resend is harmless: not connected (``ConnectError``,
    ``ConnectTimeout``, ``PoolTimeout``), request not fully sent (``WriteError``,
    ``WriteTimeout``), and connections dropped before an answer (``ReadError``,
    ``RemoteProtocolError``), because a server that honours the key (the dev server does) will not
    start a second traversal. A *read timeout* is not retried unless ``retry_read_timeouts=True``:
    a slow server may still be working on the request, and today's server ignores the key.
    Waits use capped exponential backoff with equal jitter (``backoff_base * 2**n`` up to
    ``backoff_cap``, of which a random half is added to the other half); a ``Retry-After`` header
    (seconds or HTTP-date) replaces the backoff, capped at ``retry_after_cap``.

    Deadlines: httpx's ``timeout`` applies per phase and per read, so each attempt as a whole
    (pool wait, connect, send, reading the entire answer) is also bounded by ``attempt_timeout``
    (by default the connect plus the read timeout); an attempt cut by it counts as a read timeout.
    ``deadline`` (here or per ``submit()``) bounds a whole call, attempts and backoff waits
    together; a wait that would cross it is not taken. Answers are read up to
    `MAX_RESPONSE_BYTES` (1 MiB); a longer body is cut and its connection closed.

    The API key is sent as ``Authorization: Bearer <key>`` and appears in no repr, log line or
    exception; request and response headers are never logged. Log lines go to the ``waygrid``
    logger: each attempt at DEBUG, each retry at INFO.

    Example:
        >>> async with WaygridClient("http://127.0.0.1:1337") as client:  # doctest: +SKIP
        ...     result = await client.submit(spec, payload={"orderId": 42})
        >>> result.traversal_id  # doctest: +SKIP
        '01J9Z8Q4W5X6Y7Z8A9B0C1D2E3'
    """

    __slots__ = (
        "_attempt_timeout",
        "_config",
        "_deadline",
        "_depth",
        "_display_url",
        "_has_key",
        "_headers",
        "_http",
        "_http_loop",
        "_ingest_url",
        "_limits",
        "_redact",
        "_retry",
        "_timeout",
        "_transport",
    )

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        retry_read_timeouts: bool = False,
        backoff_base: float = DEFAULT_BACKOFF_BASE,
        backoff_cap: float = DEFAULT_BACKOFF_CAP,
        retry_after_cap: float = DEFAULT_RETRY_AFTER_CAP,
        limits: httpx.Limits = DEFAULT_LIMITS,
        attempt_timeout: float | None = None,
        deadline: float | None = None,
    ) -> None:
        """Configure a client; no connection is made until the first ``submit()``.

        Args:
            base_url: The server's address, e.g. ``"https://api.waygrid.io"``; a path prefix
                (``"https://gw.example.com/waygrid/"``) is kept and ``/v1/ingest`` appended.
            api_key: Sent as ``Authorization: Bearer <api_key>``; None sends no credentials.
            timeout: Seconds for every phase, an ``httpx.Timeout`` for each phase separately, or
                None for no timeout. Defaults to 10 s to connect and 30 s to read.
            max_retries: Retries after the first attempt (0 disables retrying).
            transport: An httpx transport to send requests through (tests, proxies, ASGI apps).
                Like httpx, the client closes it in ``aclose()``.
            headers: Extra headers for every request (they may replace ``User-Agent``).
            retry_read_timeouts: Also retry when the server accepted the request but did not
                answer in time (the request may have been processed already).
            backoff_base: Seconds of the first backoff step; each retry doubles it.
            backoff_cap: Longest backoff step, in seconds.
            retry_after_cap: Longest wait, in seconds, that a ``Retry-After`` header can impose.
            limits: Connection pool limits; the default allows 100 requests in flight.
            attempt_timeout: The most seconds one attempt may take as a whole: waiting for a
                pooled connection, connecting, sending, and reading the entire answer. None
                (the default) derives it from ``timeout``: its connect timeout plus its read
                timeout (40 s with the default timeout, 4 s with ``timeout=2``), or no attempt
                deadline when ``timeout`` has no read timeout. httpx's own timeouts are per
                phase and per read, so without this a server trickling its answer byte by byte
                could hold a submit forever. An attempt cut by it counts as a read timeout.
            deadline: The most seconds one ``submit()`` may take in total, across all its
                attempts and the backoff waits between them; None (the default) for no total
                deadline. ``submit(deadline=...)`` overrides it for one call.

        Raises:
            ValueError: An argument is malformed (the message never repeats the API key).
        """
        self._configure(
            ClientConfig(
                base_url,
                api_key,
                timeout=timeout,
                max_retries=max_retries,
                retry_read_timeouts=retry_read_timeouts,
                backoff_base=backoff_base,
                backoff_cap=backoff_cap,
                retry_after_cap=retry_after_cap,
                attempt_timeout=attempt_timeout,
                deadline=deadline,
                headers=headers or {},
                limits=limits,
            ),
            transport,
        )

    @classmethod
    def from_config(
        cls: type[_ClientT],
        config: ClientConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> _ClientT:
        """A client with the options of ``config``; no connection is made until ``submit()``.

        Args:
            config: Every option, already checked.
            transport: An httpx transport to send requests through (tests, proxies, ASGI apps).
                Like httpx, the client closes it in ``aclose()``.

        Example:
            >>> client = WaygridClient.from_config(ClientConfig("http://127.0.0.1:1337"))
            >>> client.config.max_retries
            3
        """
        if not isinstance(config, ClientConfig):
            raise TypeError(f"config must be a ClientConfig, got {type(config).__name__}")
        client = cls.__new__(cls)
        client._configure(config, transport)
        return client

    def _configure(self, config: ClientConfig, transport: httpx.AsyncBaseTransport | None) -> None:
        ingest, display = check_base_url(config.base_url)
        default, secrets = default_headers(config.api_key, config.headers)
        if ingest.password:
            secrets.append(ingest.password)
        self._config = config
        self._ingest_url = ingest
        self._display_url = display
        self._has_key = bool(config.api_key)
        self._headers = default
        self._redact = Redactor(secrets)
        self._timeout = config.http_timeout
        self._attempt_timeout = config.effective_attempt_timeout
        self._deadline = config.deadline
        self._limits = config.limits
        self._transport = transport
        self._retry = RetrySettings(
            max_retries=config.max_retries,
            backoff_base=config.backoff_base,
            backoff_cap=config.backoff_cap,
            retry_after_cap=config.retry_after_cap,
            retry_read_timeouts=config.retry_read_timeouts,
        )
        self._http: httpx.AsyncClient | None = None
        self._http_loop: asyncio.AbstractEventLoop | None = None
        self._depth = 0

    @classmethod
    def from_env(
        cls: type[_ClientT],
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        retry_read_timeouts: bool = False,
        backoff_base: float = DEFAULT_BACKOFF_BASE,
        backoff_cap: float = DEFAULT_BACKOFF_CAP,
        retry_after_cap: float = DEFAULT_RETRY_AFTER_CAP,
        limits: httpx.Limits = DEFAULT_LIMITS,
        attempt_timeout: float | None = None,
        deadline: float | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> _ClientT:
        """A client configured from environment variables.

        Reads ``WAYGRID_BASE_URL`` (required), ``WAYGRID_API_KEY`` (optional; empty means none),
        ``WAYGRID_TIMEOUT`` (seconds for every phase, optional) and ``WAYGRID_MAX_RETRIES``
        (optional). ``timeout`` and ``max_retries`` passed here win over the variables; the other
        arguments are as in the constructor.

        Args:
            timeout: Overrides ``WAYGRID_TIMEOUT`` (None: read the variable, else the default).
            max_retries: Overrides ``WAYGRID_MAX_RETRIES`` (None: read it, else 3).
            transport: As in the constructor.
            headers: As in the constructor.
            retry_read_timeouts: As in the constructor.
            backoff_base: As in the constructor.
            backoff_cap: As in the constructor.
            retry_after_cap: As in the constructor.
            limits: As in the constructor.
            attempt_timeout: As in the constructor.
            deadline: As in the constructor.
            environ: Where to read the variables; ``os.environ`` by default.

        Raises:
            WaygridError: A variable is missing or malformed; the message names it.

        Example:
            >>> client = WaygridClient.from_env()  # doctest: +SKIP
        """
        config = ClientConfig.from_env(
            environ,
            timeout=timeout,
            max_retries=max_retries,
            headers=headers,
            retry_read_timeouts=retry_read_timeouts,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            retry_after_cap=retry_after_cap,
            limits=limits,
            attempt_timeout=attempt_timeout,
            deadline=deadline,
        )
        return cls.from_config(config, transport=transport)

    @property
    def config(self) -> ClientConfig:
        """Every option of this client, as one frozen value."""
        return self._config

    @property
    def base_url(self) -> str:
        """The ingest address requests go to (credentials in the URL, if any, hidden)."""
        return self._display_url

    @property
    def max_retries(self) -> int:
        """Retries after the first attempt."""
        return self._retry.max_retries

    @property
    def attempt_timeout(self) -> float | None:
        """The most seconds one attempt may take as a whole (None: no attempt deadline)."""
        return self._attempt_timeout

    @property
    def deadline(self) -> float | None:
        """The default total deadline of a ``submit()``, in seconds (None: none)."""
        return self._deadline

    def __repr__(self) -> str:
        key = "'***'" if self._has_key else "None"
        return (
            f"{type(self).__name__}(base_url={self._display_url!r}, api_key={key}, "
            f"max_retries={self._retry.max_retries})"
        )

    async def __aenter__(self: _ClientT) -> _ClientT:
        self._depth += 1
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._depth = max(0, self._depth - 1)
        if self._depth == 0:
            await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool. The client stays usable: a later submit opens a new one."""
        http, self._http = self._http, None
        if http is not None and self._http_loop is _running_loop():
            await http.aclose()

    def _client(self) -> httpx.AsyncClient:
        http = self._http
        loop = _running_loop()
        if http is None or http.is_closed or loop is not self._http_loop:
            # A pool opened under another (probably finished) event loop cannot be used or even
            # closed from this one; it is dropped.
            http = httpx.AsyncClient(
                headers=self._headers,
                timeout=self._timeout,
                limits=self._limits,
                transport=self._transport,
                follow_redirects=False,
            )
            self._http, self._http_loop = http, loop
        return http

    def _body(self, spec: Spec, payload: JsonPayload, validate: bool) -> bytes:
        if not callable(getattr(spec, "to_json", None)):
            raise TypeError(f"submit() needs a waygrid.Spec, got {type(spec).__name__}")
        if validate:  # the spec computes its warnings and its JSON once (it is immutable)
            self._validate(spec)
        try:
            graph = spec.to_json().encode("utf-8")
        except UnicodeEncodeError:
            raise SpecError("the spec contains text that is not valid Unicode") from None
        prefix = b'{"graph":' + graph
        if payload is None:
            return prefix + b"}"
        try:
            encoded = _PAYLOAD_ENCODER.encode(payload)
        except (TypeError, ValueError, RecursionError) as exc:
            raise SpecError(f"payload is not JSON-serializable: {exc}") from None
        return b"".join((prefix, b',"payload":', encoded.encode("ascii"), b"}"))

    def _validate(self, spec: Spec) -> None:
        for issue in spec.validate():
            # A warning that today's server will reject the spec is worth a WARNING; the
            # others describe documented limits or runtime behaviour.
            level = logging.WARNING if issue.code in _SERVER_REJECTS else logging.INFO
            logger.log(level, "spec validation: %s", issue)

    async def submit(
        self,
        spec: Spec,
        payload: JsonPayload = None,
        *,
        idempotency_key: str | None = None,
        validate: bool = True,
        max_retries: int | None = None,
        deadline: float | None = None,
    ) -> SubmitResult:
        """Send a spec to ``POST {base_url}/v1/ingest`` and return the started traversal.

        The body is ``{"graph": <spec.to_json()>, "payload": <payload>}`` (``payload`` only when
        it is not None). Today's server ignores the payload; the dev server stores it.

        Args:
            spec: The traversal spec.
            payload: Any JSON value for the traversal (dicts, lists, str, int, float, bool).
            idempotency_key: Sent as ``Idempotency-Key`` on every attempt. By default a new
                random key per call; pass your own (printable ASCII, up to 255 characters) to
                make a submit repeatable across processes.
            validate: Run ``spec.validate()`` first, so a graph the server would reject fails
                here without a network round trip.
            max_retries: Retries after the first attempt for this call; None uses the
                client's ``max_retries``.
            deadline: The most seconds this call may take in total, across all attempts and
                backoff waits; None uses the client's ``deadline`` (itself None by default: no
                total deadline). An attempt in flight when it runs out is abandoned, and a
                backoff wait that would end after it is not taken.

        Returns:
            The traversal id and DAG hash the server returned, with the key and attempt count.

        Raises:
            SpecValidationError: ``validate`` is on and the spec has errors (nothing was sent).
            SpecError: The payload is not JSON-serializable (including NaN and infinities, which
                JSON cannot express); nothing was sent. A `SpecError` because it is, like a bad
                spec, a value that cannot be sent, and it is a ``ValueError`` too.
            SpecRejectedError: The server rejected the spec (not retried).
            AuthenticationError: 401 or 403.
            RateLimitError: 429 after the last retry.
            ServerError: 5xx after the last retry.
            WaygridStatusError: Any other error status (e.g. 409 for a reused key).
            WaygridTimeoutError: No answer in time (after the last retry, when retried), or the
                attempt or total deadline ran out (``.deadline`` says which).
            WaygridConnectionError: The server could not be reached or dropped the connection.
            ValueError: ``max_retries`` or ``deadline`` is malformed (nothing was sent).
        """
        retries = (
            self._retry.max_retries
            if max_retries is None
            else check_retries("max_retries", max_retries)
        )
        total = self._deadline if deadline is None else check_deadline("deadline", deadline)
        body = self._body(spec, payload, validate)
        if idempotency_key is None:
            key = os.urandom(16).hex()  # a random 128-bit key, cheaper than uuid4().hex
        else:
            key = check_idempotency_key(idempotency_key)
        headers = {"Idempotency-Key": key}
        url = self._ingest_url
        settings = self._retry
        per_attempt = self._attempt_timeout
        total_at = math.inf if total is None else anyio.current_time() + total
        attempt = 0
        while True:
            attempt += 1
            debug = logger.isEnabledFor(logging.DEBUG)
            started = time.perf_counter() if debug else 0.0
            attempt_at = math.inf if per_attempt is None else anyio.current_time() + per_attempt
            answer: _Answer | None = None
            error: WaygridError | None = None
            retryable, retry_after, summary = False, None, ""
            with anyio.CancelScope(deadline=min(attempt_at, total_at)) as scope:
                try:
                    answer = await self._send(url, body, headers)
                except httpx.HTTPError as exc:
                    failure = classify_transport_error(exc, settings.retry_read_timeouts)
                    error = self._transport_error(exc, failure, attempt)
                    retryable, summary = failure.retryable, type(exc).__name__
            if scope.cancelled_caught:
                which: Literal["attempt", "total"] = (
                    "total" if total_at <= attempt_at else "attempt"
                )
                error = self._deadline_error(
                    which, total if which == "total" else per_attempt, attempt
                )
                retryable = which == "attempt" and settings.retry_read_timeouts
                summary = f"{which} deadline"
                answer = None
            if answer is not None:
                status = answer.status
                if debug:
                    logger.debug(
                        "POST %s -> %d (attempt %d, %.1f ms)",
                        self._display_url,
                        status,
                        attempt,
                        (time.perf_counter() - started) * 1000.0,
                    )
                if 200 <= status < 300:
                    ids = None if answer.cut else parse_success(answer.content)
                    if ids is not None:
                        return SubmitResult(ids[0], ids[1], key, attempt, status)
                    error = self._malformed_success(status, answer)
                else:
                    outcome = classify_status(
                        status,
                        answer.phrase,
                        answer.content,
                        answer.retry_after,
                        url=self._display_url,
                        idempotency_key=key,
                        attempts=attempt,
                        redact=self._redact,
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
                    f"POST {self._display_url}: the total deadline (deadline={total:g} s) would "
                    f"run out before retry {attempt} of {retries} (due in {delay:.2f} s); "
                    f"gave up after {attempt} attempt{'s' if attempt > 1 else ''}. "
                    f"Last failure: {error}",
                    deadline="total",
                ) from None
            logger.info(
                "POST %s failed (%s), retry %d of %d in %.2f s",
                self._display_url,
                summary,
                attempt,
                retries,
                delay,
            )
            await anyio.sleep(delay)

    def _deadline_error(
        self, which: Literal["attempt", "total"], seconds: float | None, attempt: int
    ) -> WaygridTimeoutError:
        after = f" (attempt {attempt})" if attempt > 1 else ""
        if which == "total":
            limit = f"the total deadline (deadline={seconds:g} s) ran out"
        else:
            limit = f"the attempt deadline (attempt_timeout={seconds:g} s) ran out"
        retry = (
            ""
            if which == "total" or self._retry.retry_read_timeouts
            else "; not retried, as the server may have processed the request "
            "(pass retry_read_timeouts=True to retry)"
        )
        logger.debug("POST %s: %s%s", self._display_url, limit, after)
        return WaygridTimeoutError(
            f"POST {self._display_url} timed out: {limit} before the answer was complete"
            f"{after}{retry}",
            deadline=which,
        )

    def _transport_error(
        self, exc: httpx.HTTPError, failure: TransportFailure, attempt: int
    ) -> WaygridConnectionError:
        detail = self._redact(str(exc).strip())
        cause = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
        after = f" after {attempt} attempts" if attempt > 1 else ""
        logger.debug("POST %s: %s while %s", self._display_url, cause, failure.phase)
        if isinstance(exc, httpx.ReadTimeout) and not self._retry.retry_read_timeouts:
            return WaygridTimeoutError(
                f"POST {self._display_url} timed out {failure.phase}{after} ({cause}); not "
                "retried, as the server may have processed the request "
                "(pass retry_read_timeouts=True to retry)"
            )
        if failure.timeout:
            return WaygridTimeoutError(
                f"POST {self._display_url} timed out {failure.phase}{after} ({cause})"
            )
        return WaygridConnectionError(
            f"POST {self._display_url} failed while {failure.phase}{after} ({cause})"
        )

    async def _send(self, url: httpx.URL, body: bytes, headers: dict[str, str]) -> _Answer:
        """POST and read at most `MAX_RESPONSE_BYTES` of the answer; a longer one is cut and its
        connection closed (closing a partly read response never returns it to the pool)."""
        http = self._client()
        request = http.build_request("POST", url, content=body, headers=headers)
        response = await http.send(request, stream=True)
        try:
            chunks: list[bytes] = []
            room = MAX_RESPONSE_BYTES
            cut = False
            async for chunk in response.aiter_bytes():
                if len(chunk) > room:
                    chunks.append(chunk[:room])
                    cut = True
                    break
                chunks.append(chunk)
                room -= len(chunk)
        finally:
            await response.aclose()
        return _Answer(
            response.status_code,
            response.reason_phrase,
            response.headers.get("retry-after"),
            b"".join(chunks),
            cut,
        )

    def _malformed_success(self, status: int, answer: _Answer) -> WaygridError:
        text = self._redact(answer.content.decode("utf-8", errors="replace"))
        shown = text.strip()[:200]
        if answer.cut:
            what = f"a body longer than {_CAP_TEXT} (cut at {_CAP_TEXT}) instead of the expected"
        else:
            what = "without the expected"
        error = WaygridStatusError(
            f"POST {self._display_url} answered {status} {what} "
            f'{{"traversalId": ..., "dagHash": ...}} body; is base_url the address of a Waygrid '
            f"server? (got {shown!r})",
            status_code=status,
            body=text,
        )
        error.body_truncated = answer.cut
        return error
