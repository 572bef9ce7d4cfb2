"""The outbox: one `Submission` row per spec to send, written in the caller's transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from django.db import models
from django.utils import timezone

__all__ = ["Submission"]


def new_idempotency_key() -> str:
    """A fresh ``Idempotency-Key``: 32 hex characters."""
    return uuid.uuid4().hex


class Submission(models.Model):
    """A spec to submit to Waygrid, and what became of it.

    Rows start ``pending``; a sender claims them (``sending``, with a lease until
    ``next_attempt_at``), then marks them ``submitted`` (with the traversal id and dagHash),
    ``pending`` again with a later ``next_attempt_at`` (Waygrid could not be reached), or
    ``failed`` (the server rejected the spec, or the attempts ran out).
    """

    class Status(models.TextChoices):
        """Where a submission stands."""

        PENDING = "pending"
        SENDING = "sending"
        SUBMITTED = "submitted"
        FAILED = "failed"

    spec: models.JSONField[Any, Any] = models.JSONField(
        help_text='The spec\'s wire form (the value of "graph").'
    )
    payload: models.JSONField[Any, Any] = models.JSONField(
        null=True, blank=True, help_text="Sent with the spec, if any."
    )
    idempotency_key: models.CharField[str, str] = models.CharField(
        max_length=64, unique=True, default=new_idempotency_key, editable=False
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
