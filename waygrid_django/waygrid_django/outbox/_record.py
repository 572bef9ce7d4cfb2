"""Recording outcomes: write each claimed row's outcome where its claim still holds, then signal."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import connections, transaction
from django.dispatch import Signal
from django.utils import timezone

from waygrid.client import SubmitResult

from ..conf import OutboxSettings
from ..signals import submission_failed, submission_succeeded
from ._backoff import Outcome, apply_outcome
from ._table import column, database, field, submissions

if TYPE_CHECKING:
    from ..models import Submission

__all__ = ["DispatchResult", "copy_state", "record"]

logger = logging.getLogger("waygrid_django")

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
"""The fields an outcome changes, written back to the row."""
_SYNCED = (*_RECORDED, "claim_token")
"""The fields claiming and sending change, copied to the caller's objects by `copy_state`."""


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


def record(
    rows: Sequence[Submission],
    outcomes: Sequence[SubmitResult | BaseException],
    settings: OutboxSettings,
    *,
    using: str | None = None,
) -> DispatchResult:
    """Store the claimed rows' outcomes (one statement), then send the signals.

    A row whose claim was taken over meanwhile (its lease ran out) is left to its new owner: the
    update only matches rows still holding this claim's token.
    """
    if not rows:
        return DispatchResult()
    db = database(using)
    now = timezone.now()
    kinds = [apply_outcome(r, o, settings, now) for r, o in zip(rows, outcomes, strict=True)]
    if _write(db, rows) == len(rows):
        ours = {row.pk for row in rows}
    else:
        tokens = {row.pk: row.claim_token for row in rows}
        held = submissions().objects.using(db).filter(pk__in=list(tokens))
        ours = {pk for pk, token in held.values_list("pk", "claim_token") if tokens[pk] == token}
    counts = dict.fromkeys((kind.value for kind in Outcome), 0)
    for row, outcome, kind in zip(rows, outcomes, kinds, strict=True):
        if row.pk not in ours:
            continue
        counts[kind.value] += 1
        if isinstance(outcome, SubmitResult):
            _signal(submission_succeeded, row, result=outcome)
        elif kind is Outcome.FAILED:
            _signal(submission_failed, row, error=outcome)
    return DispatchResult(**counts)


def _write(db: str, rows: Sequence[Submission]) -> int:
    """``UPDATE`` each row still holding its claim token; how many matched.

    PostgreSQL: one ``UPDATE ... FROM (VALUES ...)`` statement, one round trip. Elsewhere one
    prepared statement run for every row (``executemany``). Either costs less than the ORM's
    ``bulk_update()``, whose query compilation outweighs what the database spends on the rows.
    """
    connection = connections[db]
    quote = connection.ops.quote_name
    fields = [field(name) for name in _RECORDED]
    table = quote(submissions()._meta.db_table)
    pk, token = quote(column("id")), quote(column("claim_token"))
    values = [
        [one.get_db_prep_value(getattr(row, one.attname), connection) for one in fields]
        + [row.pk, row.claim_token]
        for row in rows
    ]
    if connection.vendor == "postgresql":
        kinds = [one.db_type(connection) for one in fields]
        kinds += [field("id").db_type(connection), field("claim_token").db_type(connection)]
        row_sql = "(" + ", ".join(f"%s::{kind}" for kind in kinds) + ")"
        names = [f"c{index}" for index in range(len(fields))]
        assignments = ", ".join(
            f"{quote(column(one.name))} = v.{name}" for one, name in zip(fields, names, strict=True)
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
    assignments = ", ".join(f"{quote(column(name))} = %s" for name in _RECORDED)
    sql = f"UPDATE {table} SET {assignments} WHERE {pk} = %s AND {token} = %s"
    several = len(rows) > 1  # one transaction: one commit for them all
    atomic = transaction.atomic(using=db) if several else contextlib.nullcontext()
    with atomic, connection.cursor() as cursor:
        cursor.executemany(sql, values)
        return int(cursor.rowcount)


def _signal(signal: Signal, row: Submission, **kwargs: object) -> None:
    for receiver, response in signal.send_robust(sender=submissions(), submission=row, **kwargs):
        if isinstance(response, Exception):
            # A broken receiver must not stop the outbox; the row is already recorded.
            logger.error("waygrid_django: signal receiver %r failed", receiver, exc_info=response)


def copy_state(source: Submission, target: Submission) -> None:
    """Copy what sending changed from ``source`` to ``target`` (the same row, another object)."""
    for name in _SYNCED:
        setattr(target, name, getattr(source, name))
