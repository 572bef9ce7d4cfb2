"""`WaygridService`: submit specs from sync and async Django code, directly or via the outbox."""

from __future__ import annotations

import atexit
import logging
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
from waygrid.client import DEFAULT_LIMITS, DEFAULT_TIMEOUT, JsonPayload, SubmitResult, WaygridClient

from ._loop import LoopThread
from .conf import OutboxSettings, get_settings

if TYPE_CHECKING:  # the outbox needs the app registry; direct submission does not
    from .models import Submission
    from .outbox import DispatchResult

__all__ = ["WaygridService", "get_service"]

logger = logging.getLogger("waygrid_django")

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
        max_retries: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        outbox: OutboxSettings | None = None,
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

        Raises:
            ValueError: ``base_url``, ``api_key`` or another argument is malformed.
        """
        self._options: dict[str, Any] = {
            "base_url": base_url,
            "api_key": api_key,
            "timeout": DEFAULT_TIMEOUT if timeout is None else timeout,
            "headers": headers,
        }
        self._max_retries = max_retries
        self._transport = transport
        self.outbox_settings = outbox or OutboxSettings()
        """The outbox options this service sends with."""
        self._loop = LoopThread("waygrid-service")
        self._pools = 0
        self._clients = self._make_clients(generation=1)  # fails fast on a bad argument

    @classmethod
    def from_settings(cls, *, transport: httpx.AsyncBaseTransport | None = None) -> WaygridService:
        """A service configured by the ``WAYGRID_*`` settings.

        Raises:
            ImproperlyConfigured: A setting is missing or invalid (the message names the line).
        """
        s = get_settings()
        return cls(
            s.base_url,
            s.api_key,
            timeout=s.timeout,
            max_retries=s.max_retries,
            transport=transport,
            outbox=s.outbox,
        )

    def __repr__(self) -> str:
        key = "'***'" if self._options["api_key"] else "None"
        return f"WaygridService(base_url={self._options['base_url']!r}, api_key={key})"

    @property
    def pools_opened(self) -> int:
        """Connection pools this service has opened: 1 per process (plus 1 after a fork)."""
        return self._pools

    def _make_clients(self, generation: int) -> tuple[int, WaygridClient, WaygridClient]:
        transport = self._transport or httpx.AsyncHTTPTransport(limits=DEFAULT_LIMITS)
        # Both clients share the transport, which is the pool: one pool, two retry policies.
        direct = WaygridClient(**self._options, max_retries=self._max_retries, transport=transport)
        once = WaygridClient(**self._options, max_retries=0, transport=transport)
        self._pools += 1
        return generation, direct, once

    def _clients_here(self) -> tuple[WaygridClient, WaygridClient]:
        """The clients of the current loop generation; only ever called on the service loop."""
        generation = self._loop.generation
        if self._clients[0] != generation:  # a forked child: the parent's sockets are not ours
            self._clients = self._make_clients(generation)
        return self._clients[1], self._clients[2]

    # --- Direct submission ---------------------------------------------------------------------

    async def _submit(
        self, spec: Spec, payload: JsonPayload, idempotency_key: str | None, validate: bool
    ) -> SubmitResult:
        direct, _ = self._clients_here()
        return await direct.submit(
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

    def submit_on_commit(
        self, spec: Spec, payload: JsonPayload = None, *, using: str | None = None
    ) -> Submission:
        """Store ``spec`` in the outbox in the current transaction; send it once it commits.

        The row is written (and the spec validated) at once; the send happens after the
        transaction commits (at once in autocommit mode) and never raises: if Waygrid cannot
        take it, the row stays pending for ``manage.py waygrid_dispatch``. A rolled-back
        transaction leaves no row and sends nothing. The returned object reflects the send
        when it happened in this call (status, traversal id).

        Raises:
            SpecValidationError: The spec has errors; nothing was written.
            SpecError: The payload is not JSON; nothing was written.
        """
        from .outbox import enqueue

        row = enqueue(spec, payload, using=using)
        if self.outbox_settings.send_on_commit:
            transaction.on_commit(partial(self._send_after_commit, row, using), using=using)
        return row

    async def asubmit_on_commit(
        self, spec: Spec, payload: JsonPayload = None, *, using: str | None = None
    ) -> Submission:
        """`submit_on_commit` for async code (runs in Django's sync thread, in autocommit)."""
        return await sync_to_async(self.submit_on_commit)(spec, payload, using=using)

    def _send_after_commit(self, row: Submission, using: str | None) -> None:
        try:
            self.send([row], using=using)
        except Exception:  # the caller's transaction is committed: never fail it afterwards
            logger.exception("Submission %s stays pending: sending after commit failed", row.pk)

    @async_unsafe(_SYNC_ONLY.format("send()", "send"))
    def send(
        self, submissions: Iterable[Submission], *, using: str | None = None
    ) -> DispatchResult:
        """Send these outbox rows now, due or not (pending or abandoned ones; others skipped).

        The given objects are updated with the outcome.
        """
        from .outbox import claim, copy_state

        given = {row.pk: row for row in submissions}
        rows = claim(lease=self.outbox_settings.lease, limit=len(given), using=using, pks=given)
        result = self._deliver(rows, using)
        for row in rows:
            copy_state(row, given[row.pk])
        return result

    @async_unsafe(_SYNC_ONLY.format("dispatch()", "dispatch"))
    def dispatch(
        self, *, batch_size: int | None = None, using: str | None = None
    ) -> DispatchResult:
        """Claim one batch of due outbox rows, send them concurrently, record the outcomes."""
        from .outbox import claim

        limit = batch_size or self.outbox_settings.batch_size
        rows = claim(lease=self.outbox_settings.lease, limit=limit, using=using)
        return self._deliver(rows, using)

    def _deliver(self, rows: list[Submission], using: str | None) -> DispatchResult:
        from .outbox import DispatchResult, record

        if not rows:
            return DispatchResult()
        outcomes = self._loop.run(self._send_rows(rows))
        return record(rows, outcomes, self.outbox_settings, using=using)

    async def _send_rows(self, rows: list[Submission]) -> list[SubmitResult | BaseException]:
        from .outbox import send_rows

        _, client = self._clients_here()
        return await send_rows(client, rows)

    # --- Lifecycle -----------------------------------------------------------------------------

    async def _aclose_clients(self) -> None:
        for client in self._clients[1:]:
            await client.aclose()

    def close(self) -> None:
        """Close the connection pool and stop the service's loop thread (idempotent)."""
        self._loop.close(self._aclose_clients())


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
