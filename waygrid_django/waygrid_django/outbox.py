"""Outbox rows: write them, claim them for one sender, and record what the server said."""

from __future__ import annotations

import contextlib
import enum
import logging
import random
import sqlite3
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connections, router, transaction
from django.db.models import F, Field, Q
from django.dispatch import Signal
from django.utils import timezone

from waygrid import RateLimitError, ServerError, Spec, SpecError, WaygridError
from waygrid.client import JsonPayload, SubmitResult, WaygridClient
from waygrid.errors import is_permanent

from .conf import SEND_CONCURRENCY, OutboxSettings, lease_margin
from .models import Submission, encode_payload
from .signals import submission_failed, submission_succeeded

__all__ = [
    "DispatchResult",
    "SEND_CONCURRENCY",
    "NotSent",
    "claim",
    "copy_state",
    "enqueue",
    "enqueue_new",
    "lease_margin",
    "record",
    "send_row",
]

logger = logging.getLogger("waygrid_django")
Status = Submission.Status
MIN_SEND = 0.05
"""Seconds of lease below which a claimed row is released rather than sent."""
_MAX_ERROR = 4000
_RECORDED = (
    "status",
    "attempts",
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


class _Outcome(enum.Enum):
    """What recording an attempt did to its row: the `DispatchResult` field it counts in."""

    SUBMITTED = "submitted"
    RETRYING = "retrying"
    FAILED = "failed"


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


_KEY_CHARS = frozenset(chr(c) for c in range(0x21, 0x7F))


def enqueue(
    spec: Spec,
    payload: object,
    *,
    using: str | None,
    idempotency_key: str | None = None,
    reference: str = "",
) -> Submission:
    """Validate ``spec`` and ``payload``, then insert a pending row (in the current transaction).

    `enqueue_new` without the "created" flag; see it for what is stored and what is raised.
    """
    row, _ = enqueue_new(
        spec, payload, using=using, idempotency_key=idempotency_key, reference=reference
    )
    return row


def enqueue_new(
    spec: Spec,
    payload: object,
    *,
    using: str | None,
    idempotency_key: str | None = None,
    reference: str = "",
) -> tuple[Submission, bool]:
    """`enqueue`, and whether the row was created (False: the key's row already existed).

    The row stores the exact JSON text that will be sent, ASCII-escaped: any text ``submit()``
    accepts (U+0000 and lone surrogates included) is storable on every database. With a
    caller-chosen ``idempotency_key`` already in the outbox, that row is returned (nothing is
    written) when it holds the same spec and payload.

    Raises:
        SpecValidationError: The spec has errors; nothing was written.
        SpecError: The payload is not JSON (NaN and infinities included, or nested too deeply);
            nothing was written.
        ValueError: ``idempotency_key`` or ``reference`` is malformed, or the key is already
            used by a row with another spec or payload; nothing was written.
    """
    if not isinstance(spec, Spec):
        raise TypeError(f"submit_on_commit() needs a waygrid.Spec, got {type(spec).__name__}")
    if not isinstance(reference, str) or len(reference) > 255 or "\x00" in reference:
        raise ValueError("reference must be a str of at most 255 characters, without U+0000")
    if reference and not reference.isprintable():
        raise ValueError("reference must be printable text")
    spec.validate()
    spec_json = spec.to_json()  # ASCII-only: the core escapes every non-ASCII character
    payload_json = encode_payload(payload)
    db = _db(using)
    fields = {"spec_json": spec_json, "payload_json": payload_json, "reference": reference}
    if idempotency_key is None:
        return Submission.objects.using(db).create(**fields), True
    if (
        not isinstance(idempotency_key, str)
        or not 1 <= len(idempotency_key) <= 255
        or not _KEY_CHARS.issuperset(idempotency_key)
    ):
        raise ValueError("idempotency_key must be 1 to 255 printable ASCII characters, no spaces")
    existing: Submission | None = (
        Submission.objects.using(db).filter(idempotency_key=idempotency_key).first()
    )
    if existing is None:
        try:
            with transaction.atomic(using=db):  # a savepoint: a lost race leaves the caller's
                created = Submission.objects.using(db).create(  # transaction usable
                    idempotency_key=idempotency_key, **fields
                )
                return created, True
        except IntegrityError:
            existing = Submission.objects.using(db).get(idempotency_key=idempotency_key)
    if (existing.spec_json, existing.payload_json) != (spec_json, payload_json):
        raise ValueError(
            f"idempotency_key {idempotency_key!r} is already used by submission {existing.pk} "
            "with another spec or payload"
        )
    return existing, False


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
    abandoned. Each claimed row gets one more attempt and a lease of ``lease`` seconds; the
    caller must send it right away (the send must end ``lease_margin`` before the lease does).

    On databases with ``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL, MySQL 8, Oracle) the rows
    are picked and marked in one short transaction, and concurrent senders skip each other's
    rows without waiting. Elsewhere (SQLite) one ``UPDATE ... WHERE pk IN (SELECT ... LIMIT n)``
    picks and marks them: the statement holds the database's write lock, so each row goes to
    one sender and no sender comes back empty-handed while rows are due.
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
    returned = _claim_returning(db, now, lease, limit, token, pks)
    if returned is not None:
        return returned
    if connections[db].features.has_select_for_update_skip_locked:
        with transaction.atomic(using=db):
            picked = list(
                rows.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit]
            )
            if picked:
                Submission.objects.using(db).filter(pk__in=picked).update(**changes)
        if not picked:
            return []
    else:
        subquery = rows.values("pk")[:limit]
        if not Submission.objects.using(db).filter(pk__in=subquery).update(**changes):
            return []
    mine = Submission.objects.using(db).filter(claim_token=token)
    return list(mine.order_by("pk"))


def _claim_returning(
    db: str,
    now: datetime,
    lease: float,
    limit: int,
    token: str,
    pks: Iterable[int] | None,
) -> list[Submission] | None:
    """`claim` in one ``UPDATE ... RETURNING`` statement, one round trip (None: not here).

    PostgreSQL picks with ``FOR UPDATE SKIP LOCKED`` in the subquery; SQLite (3.35 or later)
    holds its write lock for the statement. Other databases use the ORM's statements.
    """
    connection = connections[db]
    if connection.vendor == "postgresql":
        lock = " FOR UPDATE SKIP LOCKED"
    elif connection.vendor == "sqlite" and sqlite3.sqlite_version_info >= (3, 35):
        lock = ""
    else:
        return None
    quote = connection.ops.quote_name
    table = quote(Submission._meta.db_table)
    pk, status, due = (quote(_column(_field(name))) for name in ("id", "status", "next_attempt_at"))
    when = _field("next_attempt_at")
    at = when.get_db_prep_value(now, connection)
    params: list[object]
    if pks is None:
        where = f"{status} IN (%s, %s) AND {due} <= %s"
        params = [str(Status.PENDING), str(Status.SENDING), at]
    else:
        wanted = [int(key) for key in pks]
        if not wanted:
            return []
        marks = ", ".join(["%s"] * len(wanted))
        where = f"{pk} IN ({marks}) AND ({status} = %s OR ({status} = %s AND {due} <= %s))"
        params = [*wanted, str(Status.PENDING), str(Status.SENDING), at]
    columns = ", ".join(quote(_column(field)) for field in Submission._meta.concrete_fields)
    sets = ", ".join(
        f"{quote(_column(_field(name)))} = %s"
        for name in ("status", "claim_token", "next_attempt_at", "updated_at")
    )
    attempts = quote(_column(_field("attempts")))
    sql = (
        f"UPDATE {table} SET {sets}, {attempts} = {attempts} + 1 WHERE {pk} IN "
        f"(SELECT {pk} FROM {table} WHERE {where} ORDER BY {due}, {pk} LIMIT %s{lock}) "
        f"RETURNING {columns}"
    )
    changes = [
        str(Status.SENDING),
        token,
        when.get_db_prep_value(now + timedelta(seconds=lease), connection),
        _field("updated_at").get_db_prep_value(now, connection),
    ]
    rows = list(Submission.objects.using(db).raw(sql, [*changes, *params, limit]))
    rows.sort(key=lambda row: row.pk)
    return rows


class NotSent(Exception):
    """A claimed row was not sent: too little of its lease was left (it is released)."""


async def send_row(
    client: WaygridClient,
    row: Submission,
    spec: Spec | SpecError,
    send_until: float,
    limit: float | None = None,
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
    if limit is not None:
        left = min(left, limit)
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


def _permanent(error: BaseException) -> bool:
    """Whether sending again cannot help: the spec itself is the problem.

    Only a `SpecError` (a stored row that cannot be read back) and a `SpecRejectedError` (an
    answer recognisably from Waygrid's decoder or compiler rejecting the spec) are permanent
    (the core's ``is_permanent``).
    Any other status, a proxy's 400/404/421 or 502 during a rollout included, is retried with
    backoff until ``max_attempts``.
    """
    return is_permanent(error)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:_MAX_ERROR]


def record(
    rows: Sequence[Submission],
    outcomes: Sequence[SubmitResult | BaseException],
    settings: OutboxSettings,
    *,
    using: str | None = None,
) -> DispatchResult:
    """Store the claimed rows' outcomes (one ``executemany``), then send the signals.

    A row whose claim was taken over meanwhile (its lease ran out) is left to its new owner: the
    update only matches rows still holding this claim's token.
    """
    db = _db(using)
    if not rows:
        return DispatchResult()
    now = timezone.now()
    kinds = [_apply(r, o, settings, now) for r, o in zip(rows, outcomes, strict=True)]
    # Each row is matched on its own claim's token.
    if _write(db, rows) == len(rows):
        ours = {row.pk for row in rows}
    else:
        tokens = {row.pk: row.claim_token for row in rows}
        held = Submission.objects.using(db).filter(pk__in=list(tokens))
        ours = {pk for pk, token in held.values_list("pk", "claim_token") if tokens[pk] == token}
    counts = dict.fromkeys((kind.value for kind in _Outcome), 0)
    for row, outcome, kind in zip(rows, outcomes, kinds, strict=True):
        if row.pk not in ours:
            continue
        counts[kind.value] += 1
        if isinstance(outcome, SubmitResult):
            _send(submission_succeeded, row, result=outcome)
        elif kind is _Outcome.FAILED:
            _send(submission_failed, row, error=outcome)
    return DispatchResult(**counts)


def _field(name: str) -> Field[Any, Any]:
    field = Submission._meta.get_field(name)
    assert isinstance(field, Field)
    return field


def _column(field: Field[Any, Any]) -> str:
    assert field.column is not None
    return field.column


def _write(db: str, rows: Sequence[Submission]) -> int:
    """``UPDATE`` each row still holding its claim token; how many matched.

    PostgreSQL: one ``UPDATE ... FROM (VALUES ...)`` statement, one round trip. Elsewhere one
    prepared statement run for every row (``executemany``). Either costs less than the ORM's
    ``bulk_update()``, whose query compilation outweighs what the database spends on the rows.
    """
    connection = connections[db]
    quote = connection.ops.quote_name
    fields = [_field(name) for name in _RECORDED]
    table = quote(Submission._meta.db_table)
    pk, token = quote(_column(_field("id"))), quote(_column(_field("claim_token")))
    values = [
        [field.get_db_prep_value(getattr(row, field.attname), connection) for field in fields]
        + [row.pk, row.claim_token]
        for row in rows
    ]
    if connection.vendor == "postgresql":
        kinds = [field.db_type(connection) for field in fields]
        kinds += [_field("id").db_type(connection), _field("claim_token").db_type(connection)]
        row_sql = "(" + ", ".join(f"%s::{kind}" for kind in kinds) + ")"
        names = [f"c{index}" for index in range(len(fields))]
        assignments = ", ".join(
            f"{quote(_column(field))} = v.{name}" for field, name in zip(fields, names, strict=True)
        )
        sql = (
            f"UPDATE {table} SET {assignments} FROM (VALUES "
            + ", ".join([row_sql] * len(rows))
            + f") AS v({', '.join(names)}, id, token) "
            f"WHERE {table}.{pk} = v.id AND {table}.{token} = v.token"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for row in values for value in row])
            return int(cursor.rowcount)
    assignments = ", ".join(f"{quote(_column(field))} = %s" for field in fields)
    sql = f"UPDATE {table} SET {assignments} WHERE {pk} = %s AND {token} = %s"
    several = len(rows) > 1  # one transaction: one commit for them all
    atomic = transaction.atomic(using=db) if several else contextlib.nullcontext()
    with atomic, connection.cursor() as cursor:
        cursor.executemany(sql, values)
        return int(cursor.rowcount)


def _apply(
    row: Submission, outcome: SubmitResult | BaseException, settings: OutboxSettings, now: datetime
) -> _Outcome:
    """Set the outcome on ``row`` (in memory), and say which it was."""
    row.updated_at = now
    if isinstance(outcome, SubmitResult):
        row.status = Status.SUBMITTED
        row.traversal_id, row.dag_hash = outcome.traversal_id, outcome.dag_hash
        row.last_error, row.submitted_at, row.next_attempt_at = "", now, now
        return _Outcome.SUBMITTED
    if isinstance(outcome, NotSent):  # never sent: the attempt does not count, due again now
        row.attempts = max(0, row.attempts - 1)
        row.status, row.next_attempt_at = Status.PENDING, now
        return _Outcome.RETRYING
    row.last_error = _describe(outcome)
    if _permanent(outcome) or row.attempts >= settings.max_attempts:
        row.status = Status.FAILED
        return _Outcome.FAILED
    wait = settings.backoff_after(row.attempts, jitter=True)
    if isinstance(outcome, (RateLimitError, ServerError)) and outcome.retry_after:
        # Spread rows told the same Retry-After over the next 10 % as well.
        wait = max(wait, outcome.retry_after * random.uniform(1.0, 1.1))
    row.status, row.next_attempt_at = Status.PENDING, now + timedelta(seconds=wait)
    return _Outcome.RETRYING


def _send(signal: Signal, row: Submission, **kwargs: object) -> None:
    for receiver, response in signal.send_robust(sender=Submission, submission=row, **kwargs):
        if isinstance(response, Exception):
            # A broken receiver must not stop the outbox; the row is already recorded.
            logger.error("waygrid_django: signal receiver %r failed", receiver, exc_info=response)


def copy_state(source: Submission, target: Submission) -> None:
    """Copy what sending changed from ``source`` to ``target`` (the same row, another object)."""
    for name in _SYNCED_FIELDS:
        setattr(target, name, getattr(source, name))
