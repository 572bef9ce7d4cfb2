"""Outbox rows: write them, claim them for one sender, and record what the server said."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connections, router, transaction
from django.db.models import F, Field, Q
from django.dispatch import Signal
from django.utils import timezone

from waygrid import (
    AuthenticationError,
    RateLimitError,
    ServerError,
    Spec,
    SpecError,
    SpecRejectedError,
    WaygridError,
    WaygridStatusError,
)
from waygrid.client import JsonPayload, SubmitResult, WaygridClient

from .conf import OutboxSettings
from .models import Submission
from .signals import submission_failed, submission_succeeded

__all__ = ["DispatchResult", "claim", "copy_state", "enqueue", "record", "send_rows"]

logger = logging.getLogger("waygrid_django")
Status = Submission.Status
SEND_CONCURRENCY = 32
"""Rows one process sends at once (the connection pool holds up to 100 connections)."""
_MAX_ERROR = 4000
_RECORDED = (
    "status",
    "traversal_id",
    "dag_hash",
    "last_error",
    "submitted_at",
    "next_attempt_at",
    "updated_at",
)
_SYNCED_FIELDS = (
    "status",
    "attempts",
    "last_error",
    "traversal_id",
    "dag_hash",
    "next_attempt_at",
    "submitted_at",
    "claim_token",
    "updated_at",
)


@dataclass(frozen=True, slots=True)
class DispatchResult:
    """What one pass of sending did to the rows it claimed."""

    submitted: int = 0
    """Rows the server accepted."""
    retrying: int = 0
    """Rows left pending for a later attempt (Waygrid unreachable, 5xx, 429, ...)."""
    failed: int = 0
    """Rows marked failed (spec rejected, or out of attempts)."""

    @property
    def claimed(self) -> int:
        """Every row this pass sent."""
        return self.submitted + self.retrying + self.failed

    def __add__(self, other: DispatchResult) -> DispatchResult:
        return DispatchResult(
            self.submitted + other.submitted,
            self.retrying + other.retrying,
            self.failed + other.failed,
        )

    def __str__(self) -> str:
        return f"{self.submitted} submitted, {self.retrying} to retry, {self.failed} failed"


def enqueue(spec: Spec, payload: JsonPayload, *, using: str | None) -> Submission:
    """Validate ``spec`` and ``payload``, then insert a pending row (in the current transaction).

    Raises:
        SpecValidationError: The spec has errors; nothing was written.
        SpecError: The payload is not JSON (NaN and infinities included); nothing was written.
    """
    if not isinstance(spec, Spec):
        raise TypeError(f"submit_on_commit() needs a waygrid.Spec, got {type(spec).__name__}")
    spec.validate()
    try:
        json.dumps(payload, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise SpecError(f"payload is not JSON-serializable: {exc}") from None
    return Submission.objects.using(using).create(spec=spec.to_dict(), payload=payload)


def _db(using: str | None) -> str:
    return using or router.db_for_write(Submission)


def claim(
    *,
    lease: float,
    limit: int,
    using: str | None = None,
    pks: Iterable[int] | None = None,
) -> list[Submission]:
    """Mark up to ``limit`` rows ``sending`` for this caller alone, and return them.

    Without ``pks``: pending rows that are due, and sending rows whose lease ran out (their
    sender died), oldest due first. With ``pks``: those rows if pending (due or not) or
    abandoned. Each claimed row gets one more attempt and a lease of ``lease`` seconds.

    On databases with ``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL, MySQL 8, Oracle) the rows
    are picked and marked in one short transaction, and concurrent senders skip each other's
    rows without waiting. Elsewhere (SQLite) the marking ``UPDATE`` repeats the conditions, so
    a row another sender claimed meanwhile is no longer matched: still one sender per row.
    """
    db = _db(using)
    now = timezone.now()
    if pks is None:  # due pending rows, and sending rows whose lease ran out
        due = {"status__in": [Status.PENDING, Status.SENDING], "next_attempt_at__lte": now}
        rows = Submission.objects.using(db).filter(**due)
    else:
        abandoned = Q(status=Status.SENDING, next_attempt_at__lte=now)
        rows = Submission.objects.using(db).filter(Q(status=Status.PENDING) | abandoned)
        rows = rows.filter(pk__in=list(pks))
    rows = rows.order_by("next_attempt_at", "pk")
    token = uuid.uuid4().hex
    changes = {
        "status": Status.SENDING,
        "claim_token": token,
        "attempts": F("attempts") + 1,
        "next_attempt_at": now + timedelta(seconds=lease),
        "updated_at": now,
    }
    if connections[db].features.has_select_for_update_skip_locked:
        with transaction.atomic(using=db):
            picked = list(
                rows.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit]
            )
            if picked:
                Submission.objects.using(db).filter(pk__in=picked).update(**changes)
    else:
        picked = list(rows.values_list("pk", flat=True)[:limit])
        if picked:
            rows.filter(pk__in=picked).update(**changes)
    if not picked:
        return []
    mine = Submission.objects.using(db).filter(pk__in=picked, claim_token=token)
    return list(mine.order_by("pk"))


async def send_rows(
    client: WaygridClient, rows: Sequence[Submission]
) -> list[SubmitResult | BaseException]:
    """Send claimed rows concurrently (at most `SEND_CONCURRENCY` at once); one outcome each.

    Each row is sent with its own idempotency key, without validation (done when it was
    written). Errors are returned, not raised: they are recorded on the rows.
    """
    gate = asyncio.Semaphore(SEND_CONCURRENCY)

    async def send(row: Submission) -> SubmitResult | BaseException:
        try:
            spec = Spec.from_dict(row.spec)
        except SpecError as exc:
            return exc
        async with gate:
            try:
                return await client.submit(
                    spec, row.payload, idempotency_key=row.idempotency_key, validate=False
                )
            except Exception as exc:  # recorded on the row; unexpected ones logged as well
                if not isinstance(exc, WaygridError):
                    logger.exception("Submission %s: unexpected error while sending", row.pk)
                return exc

    return list(await asyncio.gather(*(send(row) for row in rows)))


def _permanent(error: BaseException) -> bool:
    """Whether sending again cannot help (the spec itself is the problem)."""
    if isinstance(error, (SpecError, SpecRejectedError)):
        return True
    if isinstance(error, (AuthenticationError, RateLimitError, ServerError)):
        return False  # a fixed key, a quieter moment or a repaired server can still take it
    if isinstance(error, WaygridStatusError):
        return 400 <= error.status_code < 500 and error.status_code not in (408, 425)
    return False


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:_MAX_ERROR]


def record(
    rows: Sequence[Submission],
    outcomes: Sequence[SubmitResult | BaseException],
    settings: OutboxSettings,
    *,
    using: str | None = None,
) -> DispatchResult:
    """Store the claimed rows' outcomes (one ``UPDATE`` per claim), then send the signals.

    A row whose claim was taken over meanwhile (its lease ran out) is left to its new owner: the
    update only matches rows still holding this claim's token.
    """
    db = _db(using)
    now = timezone.now()
    kinds = [_apply(r, o, settings, now) for r, o in zip(rows, outcomes, strict=True)]
    ours: set[int] = set()
    with transaction.atomic(using=db):
        for token in {row.claim_token for row in rows}:
            group = [row for row in rows if row.claim_token == token]
            if _write(db, group, token) == len(group):
                ours.update(row.pk for row in group)
            else:
                claimed = Submission.objects.using(db).filter(claim_token=token)
                pks = [row.pk for row in group]
                ours.update(claimed.filter(pk__in=pks).values_list("pk", flat=True))
    counts = [0, 0, 0]
    for row, outcome, kind in zip(rows, outcomes, kinds, strict=True):
        if row.pk not in ours:
            continue
        counts[kind] += 1
        if isinstance(outcome, SubmitResult):
            _send(submission_succeeded, row, result=outcome)
        elif kind == 2:
            _send(submission_failed, row, error=outcome)
    return DispatchResult(*counts)


def _field(name: str) -> Field[Any, Any]:
    field = Submission._meta.get_field(name)
    assert isinstance(field, Field)
    return field


def _column(field: Field[Any, Any]) -> str:
    assert field.column is not None
    return field.column


def _write(db: str, rows: list[Submission], token: str) -> int:
    """``UPDATE`` each row still holding ``token``; how many matched.

    One prepared statement run for every row (``executemany``: one round trip with psycopg's
    pipeline), because the ORM's per-row ``update()`` or ``bulk_update()`` costs more in
    query compilation than the database spends on the rows.
    """
    connection = connections[db]
    quote = connection.ops.quote_name
    fields = [_field(name) for name in _RECORDED]
    assignments = ", ".join(f"{quote(_column(field))} = %s" for field in fields)
    sql = (
        f"UPDATE {quote(Submission._meta.db_table)} SET {assignments} WHERE "
        f"{quote(_column(_field('id')))} = %s AND {quote(_column(_field('claim_token')))} = %s"
    )
    params = [
        [field.get_db_prep_value(getattr(row, field.attname), connection) for field in fields]
        + [row.pk, token]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
        return int(cursor.rowcount)


def _apply(
    row: Submission, outcome: SubmitResult | BaseException, settings: OutboxSettings, now: datetime
) -> int:
    """Set the outcome on ``row`` (in memory): 0 submitted, 1 to retry, 2 failed."""
    row.updated_at = now
    if isinstance(outcome, SubmitResult):
        row.status = Status.SUBMITTED
        row.traversal_id, row.dag_hash = outcome.traversal_id, outcome.dag_hash
        row.last_error, row.submitted_at, row.next_attempt_at = "", now, now
        return 0
    row.last_error = _describe(outcome)
    if _permanent(outcome) or row.attempts >= settings.max_attempts:
        row.status = Status.FAILED
        return 2
    wait = settings.backoff_after(row.attempts)
    if isinstance(outcome, (RateLimitError, ServerError)) and outcome.retry_after:
        wait = max(wait, outcome.retry_after)
    row.status, row.next_attempt_at = Status.PENDING, now + timedelta(seconds=wait)
    return 1


def _send(signal: Signal, row: Submission, **kwargs: object) -> None:
    for receiver, response in signal.send_robust(sender=Submission, submission=row, **kwargs):
        if isinstance(response, Exception):
            # A broken receiver must not stop the outbox; the row is already recorded.
            logger.error("waygrid_django: signal receiver %r failed", receiver, exc_info=response)


def copy_state(source: Submission, target: Submission) -> None:
    """Copy what sending changed from ``source`` to ``target`` (the same row, another object)."""
    for name in _SYNCED_FIELDS:
        setattr(target, name, getattr(source, name))
