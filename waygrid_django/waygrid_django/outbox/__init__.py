"""The outbox: write rows, claim them for one sender, send them, and record what the server said.

`enqueue` writes a row in the caller's transaction; `Sender` runs the cycle (``_cycle``):
`claim` (``_claim``) marks rows ``sending`` under a lease, `send_row` sends each within it,
and `record` (``_record``) stores each outcome where the claim still holds, the backoff of
``_backoff`` deciding when a failed row is due again. Importing the outbox needs no app
registry: the model is looked up when first used (``_table``).
"""

from __future__ import annotations

from ..conf import SEND_CONCURRENCY, lease_margin
from ._backoff import NotSent
from ._claim import claim
from ._cycle import InFlight, Sender, send_row
from ._enqueue import enqueue, enqueue_new
from ._record import DispatchResult, copy_state, record

__all__ = [
    "DispatchResult",
    "InFlight",
    "NotSent",
    "SEND_CONCURRENCY",
    "Sender",
    "claim",
    "copy_state",
    "enqueue",
    "enqueue_new",
    "lease_margin",
    "record",
    "send_row",
]
