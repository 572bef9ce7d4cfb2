"""What an attempt's outcome does to its row: submitted, retried after a backoff, or failed."""

from __future__ import annotations

import enum
import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from waygrid import RateLimitError, ServerError
from waygrid.client import SubmitResult
from waygrid.errors import is_permanent

from ..conf import OutboxSettings

if TYPE_CHECKING:
    from ..models import Submission

__all__ = ["NotSent", "Outcome", "apply_outcome"]

_MAX_ERROR = 4000
"""Characters of an error kept in ``last_error``."""


class NotSent(Exception):
    """A claimed row was not sent: too little of its lease was left (it is released)."""


class Outcome(enum.Enum):
    """What recording an attempt did to its row: the `DispatchResult` field it counts in."""

    SUBMITTED = "submitted"
    RETRYING = "retrying"
    FAILED = "failed"


def apply_outcome(
    row: Submission, outcome: SubmitResult | BaseException, settings: OutboxSettings, now: datetime
) -> Outcome:
    """Set what ``outcome`` means on ``row`` (in memory, not saved), and say which it was.

    A `SubmitResult` submits the row. `NotSent` hands it back, due now, without counting the
    attempt. An error that sending again cannot help (the core's ``is_permanent``: a stored
    spec that cannot be read, or Waygrid's decoder or compiler rejecting it), or the last of
    ``max_attempts``, fails it. Any other error (a proxy's 4xx or 502 during a rollout
    included) leaves it pending for a later attempt, after the settings' backoff with jitter,
    and no sooner than a ``Retry-After`` the server sent.
    """
    status = type(row).Status
    row.updated_at = now
    if isinstance(outcome, SubmitResult):
        row.status = status.SUBMITTED
        row.traversal_id, row.dag_hash = outcome.traversal_id, outcome.dag_hash
        row.last_error, row.submitted_at, row.next_attempt_at = "", now, now
        return Outcome.SUBMITTED
    if isinstance(outcome, NotSent):  # never sent: the attempt does not count, due again now
        row.attempts = max(0, row.attempts - 1)
        row.status, row.next_attempt_at = status.PENDING, now
        return Outcome.RETRYING
    row.last_error = f"{type(outcome).__name__}: {outcome}"[:_MAX_ERROR]
    if is_permanent(outcome) or row.attempts >= settings.max_attempts:
        row.status = status.FAILED
        return Outcome.FAILED
    wait = settings.backoff_after(row.attempts, jitter=True)
    if isinstance(outcome, (RateLimitError, ServerError)) and outcome.retry_after:
        # Spread rows told the same Retry-After over the next 10 % as well.
        wait = max(wait, outcome.retry_after * random.uniform(1.0, 1.1))
    row.status, row.next_attempt_at = status.PENDING, now + timedelta(seconds=wait)
    return Outcome.RETRYING
