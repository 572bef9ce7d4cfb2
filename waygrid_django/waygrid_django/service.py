"""`WaygridService`: submit specs from sync and async Django code, directly or via the outbox."""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

import httpx
from asgiref.sync import sync_to_async
from django.db import transaction
from django.dispatch import receiver
from django.test.signals import setting_changed
from django.utils.asyncio import async_unsafe

from waygrid import Spec
from waygrid.client import (
    DEFAULT_MAX_RETRIES,
    ClientConfig,
    JsonPayload,
    SubmitResult,
    WaygridClient,
    redact_url,
)

from ._loop import LoopThread
from .conf import OutboxSettings, get_settings
from .outbox import DispatchResult, InFlight, Sender, enqueue_new

if TYPE_CHECKING:
    from .models import Submission

__all__ = ["InFlight", "WaygridService", "get_service"]

_SYNC_ONLY = "WaygridService.{} blocks: from async code, use `await service.a{}(...)`."


class WaygridService:
    """Submits specs to Waygrid from any thread or event loop, over one connection pool.

    Every request runs on one event loop that the service owns, in a daemon thread: the sync
    methods wait for it, ``asubmit`` awaits it from the caller's loop. So WSGI threads, ASGI
    views and ``async_to_sync``'s short-lived loops all share one pool, and nothing bound to a
    loop is used from another one. The service is safe to share; build it once (see
    `get_service`) and call `close` at shutdown.

    Example:
        >>> service = WaygridService("http://127.0.0.1:1337")  # doctest: +SKIP
        >>> service.submit(spec, payload={"orderId": 42}).traversal_id  # doctest: +SKIP
        '01J9Z8Q4W5X6Y7Z8A9B0C1D2E3'
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        outbox: OutboxSettings | None = None,
        config: ClientConfig | None = None,
    ) -> None:
        """Configure the service; nothing connects until the first submission.

        Args:
            base_url: The Waygrid server, e.g. ``"https://api.waygrid.io"``.
            api_key: Sent as ``Authorization: Bearer <api_key>``; None sends none.
            timeout: Seconds for every phase of a request, or an ``httpx.Timeout``; None keeps
                the core's default (10 s to connect, 30 s to read).
            max_retries: Retries after the first attempt of `submit` / `asubmit`. Outbox sends
                try once per claim: the outbox's own backoff spaces the attempts.
            transport: An httpx transport for every request (tests); by default one pool.
            headers: Extra headers for every request.
            outbox: How the outbox retries; the defaults of `OutboxSettings` when None.
            config: Every client option as one `ClientConfig`; when given, the client
                arguments above (``base_url`` to ``headers``) are ignored (see `from_config`).

        Raises:
            ValueError: ``base_url``, ``api_key`` or another argument is malformed.
        """
        if config is None:
            options: dict[str, Any] = {"max_retries": max_retries, "headers": headers}
            if timeout is not None:  # None keeps the core's default, not "no timeout"
                options["timeout"] = timeout
            config = ClientConfig(base_url, api_key, **options)
        self._config = config
        self._transport = transport
        self._loop = LoopThread("waygrid-service")
        self._pools = 0
        self._client = self._make_client(generation=1)  # fails fast on a bad argument
        self._display_url = redact_url(config.base_url)
        self._outbox = Sender(outbox or OutboxSettings(), self._loop.submit, self._client_here)

    @classmethod
    def from_settings(cls, *, transport: httpx.AsyncBaseTransport | None = None) -> WaygridService:
        """A service configured by the ``WAYGRID_*`` settings.

        Raises:
            ImproperlyConfigured: A setting is missing or invalid (the message names the line).
        """
        s = get_settings()
        return cls.from_config(s.client_config(), transport=transport, outbox=s.outbox)

    @classmethod
    def from_config(
        cls,
        config: ClientConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        outbox: OutboxSettings | None = None,
    ) -> WaygridService:
        """A service whose client has the options of ``config``.

        Args:
            config: Every client option, already checked.
            transport: An httpx transport for every request (tests); by default one pool.
            outbox: How the outbox retries; the defaults of `OutboxSettings` when None.
        """
        return cls(config.base_url, transport=transport, outbox=outbox, config=config)

    def __repr__(self) -> str:
        key = "'***'" if self._config.api_key else "None"
        return f"WaygridService(base_url={self._display_url!r}, api_key={key})"

    @property
    def pools_opened(self) -> int:
        """Connection pools this service has opened: 1 per process (plus 1 after a fork)."""
        return self._pools

    def _make_client(self, generation: int) -> tuple[int, WaygridClient]:
        config = self._config
        transport = self._transport or httpx.AsyncHTTPTransport(limits=config.limits)
        # One client, one pool: outbox sends pass max_retries=0 and a deadline per call.
        client = WaygridClient.from_config(config, transport=transport)
        self._pools += 1
        return generation, client

    def _client_here(self) -> WaygridClient:
        """The client of the current loop generation; only ever called on the service loop."""
        generation = self._loop.generation
        if self._client[0] != generation:  # a forked child: the parent's sockets are not ours
            self._client = self._make_client(generation)
        return self._client[1]

    # --- Direct submission ---------------------------------------------------------------------

    async def _submit(
        self, spec: Spec, payload: JsonPayload, idempotency_key: str | None, validate: bool
    ) -> SubmitResult:
        return await self._client_here().submit(
            spec, payload, idempotency_key=idempotency_key, validate=validate
        )

    async def asubmit(
        self,
        spec: Spec,
        payload: JsonPayload = None,
        *,
        idempotency_key: str | None = None,
        validate: bool = True,
    ) -> SubmitResult:
        """Submit ``spec`` now, from async code (ASGI views, tasks); see the core's ``submit``.

        Raises:
            WaygridError: As ``WaygridClient.submit``: `SpecValidationError`,
                `SpecRejectedError`, `WaygridConnectionError`, ...
        """
        return await self._loop.arun(self._submit(spec, payload, idempotency_key, validate))

    @async_unsafe(_SYNC_ONLY.format("submit()", "submit"))
    def submit(
        self,
        spec: Spec,
        payload: JsonPayload = None,
        *,
        idempotency_key: str | None = None,
        validate: bool = True,
    ) -> SubmitResult:
        """Submit ``spec`` now and wait for the result, from sync code (views, commands, shells).

        Raises:
            SynchronousOnlyOperation: Called from a running event loop; use `asubmit`.
            WaygridError: As `asubmit`.
        """
        return self._loop.run(self._submit(spec, payload, idempotency_key, validate))

    # --- The outbox ----------------------------------------------------------------------------

    @property
    def outbox_settings(self) -> OutboxSettings:
        """The outbox options this service sends with."""
        return self._outbox.settings

    def submit_on_commit(
        self,
        spec: Spec,
        payload: object = None,
        *,
        idempotency_key: str | None = None,
        reference: str = "",
        using: str | None = None,
    ) -> Submission:
        """Store ``spec`` in the outbox in the current transaction; send it once it commits.

        The row is written (and the spec validated) at once; the send happens after the
        transaction commits (at once in autocommit mode) and never raises. The committing
        thread waits for it at most ``WAYGRID_OUTBOX_INLINE_BUDGET`` seconds: a slower send
        carries on in the background (the row stays ``sending``, under its lease, and is
        recorded when the answer comes), and if Waygrid cannot take it the row stays pending
        for ``manage.py waygrid_dispatch``. A rolled-back transaction leaves no row and sends
        nothing. The returned object reflects the send when it ended in this call.

        Args:
            spec: The spec to submit.
            payload: Any JSON value; ``datetime``, ``date``, ``time``, ``timedelta``,
                ``Decimal`` and ``UUID`` are encoded as ``DjangoJSONEncoder`` does.
            idempotency_key: Your own key (1 to 255 printable ASCII characters), sent as
                ``Idempotency-Key``. Calling again with a key already in the outbox returns
                that row and sends nothing more. By default a random key per row.
            reference: Your own object this submission belongs to (e.g. ``"order:42"``): shown,
                filtered and searched in the admin.
            using: The database alias (default: the router's choice for writes).

        Raises:
            SpecValidationError: The spec has errors; nothing was written.
            SpecError: The payload is not JSON; nothing was written.
            ValueError: ``idempotency_key`` or ``reference`` is malformed, or the key is taken
                by a row with another spec or payload; nothing was written.
        """
        row, created = enqueue_new(
            spec, payload, using=using, idempotency_key=idempotency_key, reference=reference
        )
        if self.outbox_settings.send_on_commit and created:
            send = partial(self._outbox.send_after_commit, row, using)
            transaction.on_commit(send, using=using)
        return row

    async def asubmit_on_commit(
        self,
        spec: Spec,
        payload: object = None,
        *,
        idempotency_key: str | None = None,
        reference: str = "",
        using: str | None = None,
    ) -> Submission:
        """`submit_on_commit` for async code (runs in Django's sync thread, in autocommit)."""
        return await sync_to_async(self.submit_on_commit)(
            spec, payload, idempotency_key=idempotency_key, reference=reference, using=using
        )

    @async_unsafe(_SYNC_ONLY.format("send()", "send"))
    def send(
        self, submissions: Iterable[Submission], *, using: str | None = None
    ) -> DispatchResult:
        """Send these outbox rows now, due or not (pending or abandoned ones; others skipped).

        The given objects are updated with the outcome.
        """
        return self._outbox.send(list(submissions), using)

    @async_unsafe(_SYNC_ONLY.format("dispatch()", "dispatch"))
    def dispatch(
        self, *, batch_size: int | None = None, using: str | None = None
    ) -> DispatchResult:
        """Send up to ``batch_size`` due outbox rows, and record each outcome as it arrives.

        Rows are claimed only when they can be sent at once (at most `SEND_CONCURRENCY` in
        flight), each with its own lease that its send cannot outlive.
        """
        limit = batch_size or self.outbox_settings.batch_size
        return self._outbox.dispatch_pass(InFlight(), limit, using)[0]

    @async_unsafe(_SYNC_ONLY.format("dispatch_pass()", "dispatch_pass"))
    def dispatch_pass(
        self,
        in_flight: InFlight,
        *,
        batch_size: int | None = None,
        using: str | None = None,
        drain: bool = True,
    ) -> tuple[DispatchResult, bool]:
        """One pass of a long-running dispatcher: claim up to ``batch_size`` due rows, record.

        Without ``drain`` it returns as soon as ``batch_size`` rows were claimed and some
        outcome recorded, leaving sends in flight in ``in_flight`` for the next pass (so
        ``manage.py waygrid_dispatch`` keeps its send slots full); it always drains once
        nothing more is due. ``batch_size=0`` only drains ``in_flight``.

        Returns:
            The outcomes recorded, and whether more rows may be due.
        """
        limit = self.outbox_settings.batch_size if batch_size is None else batch_size
        return self._outbox.dispatch_pass(in_flight, limit, using, drain=drain)

    # --- Lifecycle -----------------------------------------------------------------------------

    async def _aclose_client(self) -> None:
        await self._client[1].aclose()

    def close(self) -> None:
        """Close the connection pool and stop the service's loop thread (idempotent)."""
        self._loop.close(self._aclose_client())
        self._outbox.close()


_default: WaygridService | None = None
_default_is_ours = False  # built here from settings (not installed by swap_default_service)
_default_lock = threading.Lock()


def get_service() -> WaygridService:
    """The process-wide service built from the ``WAYGRID_*`` settings (created on first use).

    It is closed at interpreter exit, and rebuilt when a test overrides a ``WAYGRID_*`` setting
    (``override_settings``).

    Raises:
        ImproperlyConfigured: A setting is missing or invalid (the message names the line).
    """
    global _default, _default_is_ours
    service = _default
    if service is None:
        with _default_lock:
            if _default is None:
                _default, _default_is_ours = WaygridService.from_settings(), True
            service = _default
    return service


def swap_default_service(
    service: WaygridService | None, *, owned: bool = False
) -> tuple[WaygridService | None, bool]:
    """Make ``service`` what `get_service` returns (None: rebuild from settings on next use).

    Args:
        service: The new default.
        owned: Whether this module closes it (at exit, or when a ``WAYGRID_*`` setting changes).

    Returns:
        The previous default and whether it was owned, to restore it with a second call.
    """
    global _default, _default_is_ours
    with _default_lock:
        old = _default, _default_is_ours
        _default, _default_is_ours = service, owned and service is not None
    return old


def _close_own_default() -> None:
    global _default, _default_is_ours
    with _default_lock:
        old, ours = _default, _default_is_ours
        if ours:
            _default, _default_is_ours = None, False
    if ours and old is not None:
        old.close()


atexit.register(_close_own_default)


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: object) -> None:
    if setting.startswith("WAYGRID_"):
        _close_own_default()
