"""Writing outbox rows: check the spec, payload, key and reference, then insert a pending row."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction

from waygrid import Spec

from ._table import database, submissions

if TYPE_CHECKING:
    from ..models import Submission

__all__ = ["enqueue", "enqueue_new"]

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
    model = submissions()
    # ASCII-only: the core escapes every non-ASCII character, the payload setter as well.
    row = model(spec_json=spec.to_json(), reference=reference)
    row.payload = payload  # SpecError when it is not JSON
    db = database(using)
    if idempotency_key is None:
        row.save(force_insert=True, using=db)
        return row, True
    if (
        not isinstance(idempotency_key, str)
        or not 1 <= len(idempotency_key) <= 255
        or not _KEY_CHARS.issuperset(idempotency_key)
    ):
        raise ValueError("idempotency_key must be 1 to 255 printable ASCII characters, no spaces")
    row.idempotency_key = idempotency_key
    existing: Submission | None = (
        model.objects.using(db).filter(idempotency_key=idempotency_key).first()
    )
    if existing is None:
        try:
            with transaction.atomic(using=db):  # a savepoint: a lost race leaves the caller's
                row.save(force_insert=True, using=db)  # transaction usable
                return row, True
        except IntegrityError:
            existing = model.objects.using(db).get(idempotency_key=idempotency_key)
    if (existing.spec_json, existing.payload_json) != (row.spec_json, row.payload_json):
        raise ValueError(
            f"idempotency_key {idempotency_key!r} is already used by submission {existing.pk} "
            "with another spec or payload"
        )
    return existing, False
