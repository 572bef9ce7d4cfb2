"""Signals sent when an outbox submission reaches Waygrid or is given up on."""

from __future__ import annotations

from django.dispatch import Signal

__all__ = ["submission_failed", "submission_succeeded"]

submission_succeeded = Signal()
"""Sent after a `Submission` was accepted: ``sender=Submission``, ``submission``, ``result``
(the core's `SubmitResult`). Sent by the process that sent it, outside any transaction."""

submission_failed = Signal()
"""Sent when a `Submission` is marked failed (the server rejected the spec, or the attempts ran
out): ``sender=Submission``, ``submission``, ``error`` (the exception of the last attempt)."""
