"""`WaygridService`: submit specs from sync and async Django code, directly or via the outbox."""

from __future__ import annotations

import atexit
import concurrent.futures
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any

import httpx
from asgiref.sync import sync_to_async
from django.db import connections, transaction
from django.dispatch import receiver
from django.test.signals import setting_changed
from django.utils.asyncio import async_unsafe

from waygrid import Spec, SpecError
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

if TYPE_CHECKING:  # the outbox needs the app registry; direct submission does not
    from .models import Submission
    from .outbox import DispatchResult

__all__ = ["InFlight", "WaygridService", "get_service"]

logger = logging.getLogger("waygrid_django")

_Flying = dict["concurrent.futures.Future[SubmitResult | BaseException]", "Submission"]
"""Sends in flight, and their rows."""

COLLECT = 0.02
"""Seconds a sender waits after an answer for more, to record them together (20 ms)."""


class InFlight:
    """Sends a dispatcher carries over from one `WaygridService.dispatch_pass` to the next."""

    __slots__ = ("_sends",)

    def __init__(self) -> None:
        """Nothing in flight yet."""
        self._sends: _Flying = {}

    def __bool__(self) -> bool:
        return bool(self._sends)

    def __len__(self) -> int:
        return len(self._sends)


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
        self.outbox_settings = outbox or OutboxSettings()
        """The outbox options this service sends with."""
        self._loop = LoopThread("waygrid-service")
        self._pools = 0
        self._client = self._make_client(generation=1)  # fails fast on a bad argument
        self._display_url = redact_url(config.base_url)
        self._recorder: tuple[int, ThreadPoolExecutor] | None = None
        self._recorder_lock = threading.Lock()

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
        from .outbox import enqueue_new

        row, created = enqueue_new(
            spec, payload, using=using, idempotency_key=idempotency_key, reference=reference
        )
        if self.outbox_settings.send_on_commit and created:
            transaction.on_commit(partial(self._send_after_commit, row, using), using=using)
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

    def _send_after_commit(self, row: Submission, using: str | None) -> None:
        try:
            self._send_given([row], using, budget=self.outbox_settings.inline_budget)
        except Exception:  # the caller's transaction is committed: never fail it afterwards
            logger.exception("Submission %s stays pending: sending after commit failed", row.pk)

    @async_unsafe(_SYNC_ONLY.format("send()", "send"))
    def send(
        self, submissions: Iterable[Submission], *, using: str | None = None
    ) -> DispatchResult:
        """Send these outbox rows now, due or not (pending or abandoned ones; others skipped).

        The given objects are updated with the outcome.
        """
        return self._send_given(list(submissions), using, budget=None)

    def _send_given(
        self, submissions: list[Submission], using: str | None, budget: float | None
    ) -> DispatchResult:
        from .outbox import claim, copy_state

        given = {row.pk: row for row in submissions}
        waiting = list(given)

        def take(count: int, lease: float) -> list[Submission]:
            # Skipping rows that cannot be claimed (submitted, failed, held): [] only at the end.
            rows: list[Submission] = []
            while waiting and not rows:
                picked, waiting[:] = waiting[:count], waiting[count:]
                rows = claim(lease=lease, limit=count, using=using, pks=picked)
            return rows

        result, claimed, _ = self._pump(take, len(given), using, budget)
        for row in claimed:
            copy_state(row, given[row.pk])
        return result

    @async_unsafe(_SYNC_ONLY.format("dispatch()", "dispatch"))
    def dispatch(
        self, *, batch_size: int | None = None, using: str | None = None
    ) -> DispatchResult:
        """Send up to ``batch_size`` due outbox rows, and record each outcome as it arrives.

        Rows are claimed only when they can be sent at once (at most `SEND_CONCURRENCY` in
        flight), each with its own lease that its send cannot outlive.
        """
        limit = batch_size or self.outbox_settings.batch_size
        return self._dispatch_pass(limit, using, {})[0]

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
        return self._dispatch_pass(limit, using, in_flight._sends, drain=drain)

    def _dispatch_pass(
        self, limit: int, using: str | None, flying: _Flying, *, drain: bool = True
    ) -> tuple[DispatchResult, bool]:
        from .outbox import claim

        def take(count: int, lease: float) -> list[Submission]:
            return claim(lease=lease, limit=count, using=using)

        result, claimed, more = self._pump(take, limit, using, None, flying=flying, drain=drain)
        return result, more and len(claimed) >= limit

    def _pump(
        self,
        take: Callable[[int, float], list[Submission]],
        limit: int,
        using: str | None,
        budget: float | None,
        *,
        flying: _Flying | None = None,
        drain: bool = True,
    ) -> tuple[DispatchResult, list[Submission], bool]:
        """Claim rows as send slots free up, send each at once, record outcomes as they come.

        Each row is claimed right before it is sent, with a lease of ``WAYGRID_OUTBOX_LEASE``
        seconds; its send gets the lease minus `lease_margin` as deadline (measured from just
        before the claim), so an answer can only arrive while the row is still ours, and the
        outcome is written only where the claim token still matches. With ``budget``, the
        caller waits that long at most; sends still running then are recorded in the
        background when they end. ``flying`` carries sends over between passes (see
        `dispatch_pass`). Returns the result, every row claimed, and whether the last claim
        found rows.
        """
        from .outbox import SEND_CONCURRENCY, DispatchResult, lease_margin

        settings = self.outbox_settings
        lease = settings.lease
        margin = lease_margin(lease)
        refill = max(1, SEND_CONCURRENCY // 2)
        stop_at = None if budget is None else time.monotonic() + budget
        flying = {} if flying is None else flying
        specs: dict[str, Spec | SpecError] = {}
        claimed: list[Submission] = []
        total = DispatchResult()
        more = True
        while True:
            free = SEND_CONCURRENCY - len(flying)
            if more and len(claimed) < limit and (free >= refill or not flying):
                started = time.monotonic()
                rows = take(min(free, limit - len(claimed)), lease)
                more = bool(rows)
                claimed.extend(rows)
                for row in rows:
                    spec = specs.get(row.spec_json)
                    if spec is None:
                        spec = specs[row.spec_json] = _read_spec(row.spec_json)
                    send = self._send_row(row, spec, started + lease - margin)
                    flying[self._loop.submit(send)] = row
            if not flying:
                break
            if not drain and more and len(claimed) >= limit and total.claimed:
                break  # the rest stay in flight for the next pass
            timeout = None if stop_at is None else max(0.0, stop_at - time.monotonic())
            done, _ = concurrent.futures.wait(
                flying, timeout=timeout, return_when=concurrent.futures.FIRST_COMPLETED
            )
            if done and len(done) < refill < len(flying):
                # Give the next answers a moment (COLLECT s) to arrive as well: one statement
                # records them all, and the database commits once instead of once per row.
                done, _ = concurrent.futures.wait(flying, timeout=COLLECT)
            if done:
                rows = [flying.pop(future) for future in done]
                total += self._record(rows, [future.result() for future in done], using)
            elif stop_at is not None and time.monotonic() >= stop_at:
                for future, row in flying.items():
                    future.add_done_callback(partial(self._record_later, row, using))
                flying.clear()
                break
        return total, claimed, more

    async def _send_row(
        self, row: Submission, spec: Spec | SpecError, send_until: float
    ) -> SubmitResult | BaseException:
        from .outbox import send_row

        return await send_row(self._client_here(), row, spec, send_until)

    def _record(
        self,
        rows: list[Submission],
        outcomes: list[SubmitResult | BaseException],
        using: str | None,
    ) -> DispatchResult:
        from .outbox import record

        return record(rows, outcomes, self.outbox_settings, using=using)

    def _record_later(
        self,
        row: Submission,
        using: str | None,
        future: concurrent.futures.Future[SubmitResult | BaseException],
    ) -> None:
        """Record a send the committing thread stopped waiting for (in a recorder thread)."""
        if future.cancelled():
            return  # the service closed: the row's lease runs out, a dispatcher sends it
        try:
            self._recorder_pool().submit(self._record_in_thread, row, using, future.result())
        except RuntimeError:  # shutting down
            logger.warning("Submission %s: outcome not recorded (shutting down)", row.pk)

    def _record_in_thread(
        self, row: Submission, using: str | None, outcome: SubmitResult | BaseException
    ) -> None:
        try:
            self._record([row], [outcome], using)
        except Exception:
            logger.exception("Submission %s: recording the outcome failed", row.pk)
        finally:
            connections.close_all()  # this thread's connections only

    def _recorder_pool(self) -> ThreadPoolExecutor:
        with self._recorder_lock:
            recorder = self._recorder
            if recorder is None or recorder[0] != os.getpid():
                pool = ThreadPoolExecutor(1, thread_name_prefix="waygrid-record")
                recorder = self._recorder = (os.getpid(), pool)
            return recorder[1]

    # --- Lifecycle -----------------------------------------------------------------------------

    async def _aclose_client(self) -> None:
        await self._client[1].aclose()

    def close(self) -> None:
        """Close the connection pool and stop the service's loop thread (idempotent)."""
        self._loop.close(self._aclose_client())
        with self._recorder_lock:
            recorder, self._recorder = self._recorder, None
        if recorder is not None and recorder[0] == os.getpid():
            recorder[1].shutdown(wait=True)


def _read_spec(text: str) -> Spec | SpecError:
    """The spec of a stored row, or why it cannot be read (the row then fails for good)."""
    try:
        return Spec.from_json(text)
    except SpecError as exc:
        return exc


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
