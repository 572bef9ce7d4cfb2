"""The outbox's cycle: claim rows as send slots free up, send each at once, record each outcome."""

from __future__ import annotations

import concurrent.futures
import logging
import os
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any

from django.db import connections

from waygrid import Spec, SpecError, WaygridError
from waygrid.client import JsonPayload, SubmitResult, WaygridClient

from ..conf import SEND_CONCURRENCY, OutboxSettings, lease_margin
from ._backoff import NotSent
from ._claim import claim
from ._record import DispatchResult, copy_state, record

if TYPE_CHECKING:
    from ..models import Submission

__all__ = ["COLLECT", "MIN_SEND", "InFlight", "Sender", "send_row"]

logger = logging.getLogger("waygrid_django")

COLLECT = 0.02
"""Seconds a sender waits after an answer for more, to record them together (20 ms)."""
MIN_SEND = 0.05
"""Seconds of lease below which a claimed row is released rather than sent."""

Attempt = SubmitResult | BaseException
"""What one send of a row ended in: the server's answer, or the error (recorded, not raised)."""
_Flying = dict["Future[SubmitResult | BaseException]", "Submission"]
"""Sends in flight, and their rows."""
_Take = Callable[[int, float], "list[Submission]"]
"""Claims up to n rows under a lease of s seconds."""


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


async def send_row(
    client: WaygridClient,
    row: Submission,
    spec: Spec | SpecError,
    send_until: float,
) -> SubmitResult | BaseException:
    """Send one claimed row, ending before ``send_until`` (``time.monotonic()``); its outcome.

    The row's lease ends ``lease_margin`` after ``send_until``: the send is given what is left
    as its deadline, so no answer can arrive after the lease ran out and another sender may have
    taken the row. With less than `MIN_SEND` seconds left it is not sent at all (`NotSent`).
    Errors are returned, not raised: they are recorded on the row.
    """
    if isinstance(spec, SpecError):
        return spec
    left = send_until - time.monotonic()
    if left < MIN_SEND:
        return NotSent(f"only {max(left, 0):.3f} s of the lease were left to send it")
    try:
        payload: JsonPayload = row.payload
    except (ValueError, RecursionError) as exc:
        return SpecError(f"the stored payload cannot be read: {type(exc).__name__}: {exc}")
    try:
        return await client.submit(
            spec,
            payload,
            idempotency_key=row.idempotency_key,
            validate=False,
            max_retries=0,
            deadline=left,
        )
    except Exception as exc:  # recorded on the row; unexpected ones logged as well
        if not isinstance(exc, WaygridError):
            logger.exception("Submission %s: unexpected error while sending", row.pk)
        return exc


class Sender:
    """Claims, sends and records outbox rows for one `WaygridService`.

    Each row is claimed right before it is sent, with a lease of ``WAYGRID_OUTBOX_LEASE``
    seconds; its send gets the lease minus `lease_margin` as deadline (measured from just
    before the claim), so an answer can only arrive while the row is still ours, and the
    outcome is written only where the claim token still matches. At most `SEND_CONCURRENCY`
    sends are in flight; outcomes are recorded as they arrive.
    """

    def __init__(
        self,
        settings: OutboxSettings,
        start: Callable[[Coroutine[Any, Any, Attempt]], Future[Attempt]],
        client: Callable[[], WaygridClient],
    ) -> None:
        """A sender for one service.

        Args:
            settings: How the outbox retries.
            start: Starts a coroutine on the service's event loop; a future of its result.
            client: The service's client, called on that loop only.
        """
        self.settings = settings
        """The outbox options this sender sends with."""
        self._start = start
        self._client = client
        self._recorder: tuple[int, ThreadPoolExecutor] | None = None
        self._recorder_lock = threading.Lock()

    def send_after_commit(self, row: Submission, using: str | None) -> None:
        """Send a row its transaction just committed; wait at most the inline budget. No raise."""
        try:
            self.send([row], using, budget=self.settings.inline_budget)
        except Exception:  # the caller's transaction is committed: never fail it afterwards
            logger.exception("Submission %s stays pending: sending after commit failed", row.pk)

    def send(
        self, submissions: list[Submission], using: str | None, budget: float | None = None
    ) -> DispatchResult:
        """Send these rows now, due or not (pending or abandoned ones; others skipped).

        The given objects are updated with the outcome. With ``budget``, the caller waits that
        many seconds at most; sends still running then are recorded in the background.
        """
        given = {row.pk: row for row in submissions}
        waiting = list(given)

        def take(count: int, lease: float) -> list[Submission]:
            # Skipping rows that cannot be claimed (submitted, failed, held): [] only at the end.
            rows: list[Submission] = []
            while waiting and not rows:
                picked, waiting[:] = waiting[:count], waiting[count:]
                rows = claim(lease=lease, limit=count, using=using, pks=picked)
            return rows

        result, claimed, _ = self._pump(take, len(given), using, budget, {}, drain=True)
        for row in claimed:
            copy_state(row, given[row.pk])
        return result

    def dispatch_pass(
        self, in_flight: InFlight, limit: int, using: str | None, *, drain: bool = True
    ) -> tuple[DispatchResult, bool]:
        """Claim up to ``limit`` due rows and record their outcomes (see `WaygridService`).

        Returns:
            The outcomes recorded, and whether more rows may be due.
        """

        def take(count: int, lease: float) -> list[Submission]:
            return claim(lease=lease, limit=count, using=using)

        flying = in_flight._sends
        result, claimed, more = self._pump(take, limit, using, None, flying, drain=drain)
        return result, more and len(claimed) >= limit

    def _pump(
        self,
        take: _Take,
        limit: int,
        using: str | None,
        budget: float | None,
        flying: _Flying,
        *,
        drain: bool,
    ) -> tuple[DispatchResult, list[Submission], bool]:
        """Claim rows as send slots free up, send each at once, record outcomes as they come.

        Without ``drain`` it returns once ``limit`` rows were claimed and some outcome recorded,
        leaving the rest in ``flying``. Returns the result, every row claimed, and whether the
        last claim found rows.
        """
        lease = self.settings.lease
        margin = lease_margin(lease)
        refill = max(1, SEND_CONCURRENCY // 2)
        stop_at = None if budget is None else time.monotonic() + budget
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
                    flying[self._start(send)] = row
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
                total += record(rows, [f.result() for f in done], self.settings, using=using)
            elif stop_at is not None and time.monotonic() >= stop_at:
                for future, row in flying.items():
                    future.add_done_callback(partial(self._record_later, row, using))
                flying.clear()
                break
        return total, claimed, more

    async def _send_row(
        self, row: Submission, spec: Spec | SpecError, send_until: float
    ) -> SubmitResult | BaseException:
        return await send_row(self._client(), row, spec, send_until)

    def _record_later(self, row: Submission, using: str | None, future: Future[Attempt]) -> None:
        """Record a send the committing thread stopped waiting for (in a recorder thread)."""
        if future.cancelled():
            return  # the service closed: the row's lease runs out, a dispatcher sends it
        try:
            self._recorder_pool().submit(self._record_in_thread, row, using, future.result())
        except RuntimeError:  # shutting down
            logger.warning("Submission %s: outcome not recorded (shutting down)", row.pk)

    def _record_in_thread(self, row: Submission, using: str | None, outcome: Attempt) -> None:
        try:
            record([row], [outcome], self.settings, using=using)
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

    def close(self) -> None:
        """Wait for outcomes still being recorded in the background (idempotent)."""
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
