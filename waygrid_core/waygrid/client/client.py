"""`WaygridClient`: submits specs to a Waygrid server over HTTP, with retries."""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

import httpx

from ._answers import MAX_RESPONSE_BYTES
from ._attempts import Endpoint, send_with_retries
from ._body import ingest_body
from ._config import (
    check_base_url,
    check_deadline,
    check_idempotency_key,
    check_retries,
    default_headers,
)
from ._pool import Pool
from ._responses import Redactor
from ._retry import RetrySettings
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

_ClientT = TypeVar("_ClientT", bound="WaygridClient")


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

    __slots__ = ("_config", "_depth", "_endpoint", "_has_key", "_pool")

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
        self._endpoint = Endpoint(
            url=ingest,
            display_url=display,
            redact=Redactor(secrets),
            retry=RetrySettings(
                max_retries=config.max_retries,
                backoff_base=config.backoff_base,
                backoff_cap=config.backoff_cap,
                retry_after_cap=config.retry_after_cap,
                retry_read_timeouts=config.retry_read_timeouts,
            ),
            attempt_timeout=config.effective_attempt_timeout,
        )
        self._has_key = bool(config.api_key)
        self._pool = Pool(default, config.http_timeout, config.limits, transport)
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
        return self._endpoint.display_url

    @property
    def max_retries(self) -> int:
        """Retries after the first attempt."""
        return self._config.max_retries

    @property
    def attempt_timeout(self) -> float | None:
        """The most seconds one attempt may take as a whole (None: no attempt deadline)."""
        return self._endpoint.attempt_timeout

    @property
    def deadline(self) -> float | None:
        """The default total deadline of a ``submit()``, in seconds (None: none)."""
        return self._config.deadline

    def __repr__(self) -> str:
        key = "'***'" if self._has_key else "None"
        return (
            f"{type(self).__name__}(base_url={self._endpoint.display_url!r}, api_key={key}, "
            f"max_retries={self._config.max_retries})"
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
        await self._pool.aclose()

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
            self._config.max_retries
            if max_retries is None
            else check_retries("max_retries", max_retries)
        )
        total = self._config.deadline if deadline is None else check_deadline("deadline", deadline)
        body = ingest_body(spec, payload, validate)
        if idempotency_key is None:
            key = os.urandom(16).hex()  # a random 128-bit key, cheaper than uuid4().hex
        else:
            key = check_idempotency_key(idempotency_key)
        return await send_with_retries(self._endpoint, self._pool, body, key, retries, total)
