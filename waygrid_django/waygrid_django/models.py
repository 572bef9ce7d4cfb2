"""The outbox: one `Submission` row per spec to send, written in the caller's transaction."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, ClassVar

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from waygrid import Spec, SpecError

__all__ = ["Submission"]


def new_idempotency_key() -> str:
    """A fresh ``Idempotency-Key``: 32 hex characters."""
    return uuid.uuid4().hex


_PAYLOAD_ENCODER = DjangoJSONEncoder(separators=(",", ":"), allow_nan=False)


def encode_payload(payload: object) -> str | None:
    """The payload as the compact, ASCII-only JSON text that is sent (None for no payload).

    ``datetime``, ``date``, ``time``, ``timedelta``, ``Decimal`` and ``UUID`` values are
    encoded as Django's ``DjangoJSONEncoder`` does (ISO 8601 strings, decimal and UUID strings).
    ASCII escapes keep any text storable, U+0000 and lone surrogates included.

    Raises:
        SpecError: The payload is not JSON (NaN and infinities included, or nested too deeply).
    """
    if payload is None:
        return None
    try:
        return _PAYLOAD_ENCODER.encode(payload)
    except (TypeError, ValueError, RecursionError) as exc:
        raise SpecError(f"payload is not JSON-serializable: {exc}") from None


class Submission(models.Model):
    """A spec to submit to Waygrid, and what became of it.

    Rows start ``pending``; a sender claims one right before sending it (``sending``, with a
    lease until ``next_attempt_at`` that its send cannot outlive), then marks it ``submitted``
    (with the traversal id and dagHash), ``pending`` again with a later ``next_attempt_at``
    (Waygrid could not be reached, or answered with a retryable status), or ``failed`` (Waygrid
    rejected the spec, or the attempts ran out). ``spec_json`` and ``payload_json`` hold the exact
    JSON text sent, ASCII-escaped; `spec` and `payload` decode them.
    """

    class Status(models.TextChoices):
        """Where a submission stands."""

        PENDING = "pending"
        SENDING = "sending"
        SUBMITTED = "submitted"
        FAILED = "failed"

    spec_json: models.TextField[str, str] = models.TextField(
        "spec",
        help_text='The spec\'s JSON text as sent (the value of "graph"), ASCII-escaped.',
    )
    payload_json: models.TextField[str | None, str | None] = models.TextField(
        "payload",
        null=True,
        blank=True,
        help_text="The payload's JSON text as sent (ASCII-escaped), if any.",
    )
    idempotency_key: models.CharField[str, str] = models.CharField(
        max_length=255, unique=True, default=new_idempotency_key, editable=False
    )
    reference: models.CharField[str, str] = models.CharField(
        max_length=255,
        blank=True,
        default="",
        db_index=True,
        help_text="Your own object this submission belongs to, e.g. 'order:42'.",
    )
    status: models.CharField[str, str] = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts: models.PositiveIntegerField[int, int] = models.PositiveIntegerField(default=0)
    last_error: models.TextField[str, str] = models.TextField(blank=True, default="")
    traversal_id: models.CharField[str, str] = models.CharField(
        max_length=26, blank=True, default="", db_index=True
    )
    dag_hash: models.CharField[str, str] = models.CharField(
        "dagHash", max_length=16, blank=True, default=""
    )
    created_at: models.DateTimeField[datetime, datetime] = models.DateTimeField(
        default=timezone.now, db_index=True, editable=False
    )
    updated_at: models.DateTimeField[datetime, datetime] = models.DateTimeField(auto_now=True)
    next_attempt_at: models.DateTimeField[datetime, datetime] = models.DateTimeField(
        default=timezone.now, help_text="When a pending row is due, or a sending row's lease ends."
    )
    submitted_at: models.DateTimeField[datetime | None, datetime | None] = models.DateTimeField(
        null=True, blank=True
    )
    claim_token: models.CharField[str, str] = models.CharField(
        max_length=32, blank=True, default="", editable=False
    )
    """The token of the last claim: the sender that may record the outcome of a sending row."""

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        indexes: ClassVar[list[Any]] = [
            models.Index(fields=["status", "next_attempt_at"], name="waygrid_due_idx"),
        ]

    def __str__(self) -> str:
        return f"Submission {self.pk} ({self.status})"

    @property
    def spec(self) -> dict[str, Any]:
        """The spec's wire form, decoded from `spec_json` (set it with a Spec or a dict)."""
        value: dict[str, Any] = json.loads(self.spec_json)
        return value

    @spec.setter
    def spec(self, value: Spec | dict[str, Any]) -> None:
        spec = value if isinstance(value, Spec) else Spec.from_dict(value)
        self.spec_json = spec.to_json()

    @property
    def payload(self) -> Any:
        """The payload, decoded from `payload_json` (None when there is none)."""
        return None if self.payload_json is None else json.loads(self.payload_json)

    @payload.setter
    def payload(self, value: object) -> None:
        self.payload_json = encode_payload(value)
