"""Claiming outbox rows: mark them ``sending`` under a lease that one sender alone holds."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from ._table import column, database, field, submissions

if TYPE_CHECKING:
    from ..models import Submission

__all__ = ["claim"]


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
    model, db = submissions(), database(using)
    status = model.Status
    now = timezone.now()
    token = uuid.uuid4().hex
    returned = _claim_returning(db, now, lease, limit, token, pks)
    if returned is not None:
        return returned
    if pks is None:  # due pending rows, and sending rows whose lease ran out
        due = {"status__in": [status.PENDING, status.SENDING], "next_attempt_at__lte": now}
        rows = model.objects.using(db).filter(**due)
    else:
        abandoned = Q(status=status.SENDING, next_attempt_at__lte=now)
        rows = model.objects.using(db).filter(Q(status=status.PENDING) | abandoned)
        rows = rows.filter(pk__in=list(pks))
    rows = rows.order_by("next_attempt_at", "pk")
    changes = {
        "status": status.SENDING,
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
                model.objects.using(db).filter(pk__in=picked).update(**changes)
        if not picked:
            return []
    else:
        subquery = rows.values("pk")[:limit]
        if not model.objects.using(db).filter(pk__in=subquery).update(**changes):
            return []
    mine = model.objects.using(db).filter(claim_token=token)
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
    model = submissions()
    sending, pending = str(model.Status.SENDING), str(model.Status.PENDING)
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    pk, status, due = (quote(column(name)) for name in ("id", "status", "next_attempt_at"))
    when = field("next_attempt_at")
    at = when.get_db_prep_value(now, connection)
    params: list[object]
    if pks is None:
        where = f"{status} IN (%s, %s) AND {due} <= %s"
        params = [pending, sending, at]
    else:
        wanted = [int(key) for key in pks]
        if not wanted:
            return []
        marks = ", ".join(["%s"] * len(wanted))
        where = f"{pk} IN ({marks}) AND ({status} = %s OR ({status} = %s AND {due} <= %s))"
        params = [*wanted, pending, sending, at]
    columns = ", ".join(quote(column(concrete.name)) for concrete in model._meta.concrete_fields)
    sets = ", ".join(
        f"{quote(column(name))} = %s"
        for name in ("status", "claim_token", "next_attempt_at", "updated_at")
    )
    attempts = quote(column("attempts"))
    sql = (
        f"UPDATE {table} SET {sets}, {attempts} = {attempts} + 1 WHERE {pk} IN "
        f"(SELECT {pk} FROM {table} WHERE {where} ORDER BY {due}, {pk} LIMIT %s{lock}) "
        f"RETURNING {columns}"
    )
    changes = [
        sending,
        token,
        when.get_db_prep_value(now + timedelta(seconds=lease), connection),
        field("updated_at").get_db_prep_value(now, connection),
    ]
    rows = list(model.objects.using(db).raw(sql, [*changes, *params, limit]))
    rows.sort(key=lambda row: row.pk)
    return rows
