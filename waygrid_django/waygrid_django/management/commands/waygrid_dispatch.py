"""``manage.py waygrid_dispatch``: send the outbox's due submissions, once or in a loop."""

from __future__ import annotations

import signal
import threading
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Count, Min, Q
from django.utils import timezone

from ...models import Submission
from ...outbox import SEND_CONCURRENCY, DispatchResult, InFlight
from ...service import get_service


def _drop_broken_connections() -> None:
    """Close this thread's connections that no longer work (the next query reconnects).

    Unlike ``close_old_connections`` it keeps healthy ones whatever ``CONN_MAX_AGE`` says: an
    idle loop polling every few seconds should not open a connection for each poll.
    """
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and (
            connection.errors_occurred or not connection.is_usable()
        ):
            connection.close()


def _waiting(database: str) -> str:
    """How many rows wait (pending, or being sent) and when the next one is due."""
    Status = Submission.Status
    rows = Submission.objects.using(database).filter(status__in=[Status.PENDING, Status.SENDING])
    found = rows.aggregate(
        pending=Count("pk", filter=Q(status=Status.PENDING)),
        sending=Count("pk", filter=Q(status=Status.SENDING)),
        due=Min("next_attempt_at"),
    )
    pending, sending, due = found["pending"], found["sending"], found["due"]
    if not pending and not sending:
        return "nothing waiting"
    noun = "row" if pending + sending == 1 else "rows"
    wait = max(0.0, (due - timezone.now()).total_seconds())
    when = "now" if wait == 0 else f"in {wait:.0f} s"
    return (
        f"{pending + sending} {noun} waiting ({pending} pending, {sending} being sent), "
        f"next due {when} ({due.isoformat(timespec='seconds')})"
    )


class Command(BaseCommand):
    """Claim due rows in batches (never a row another dispatcher holds) and send them."""

    help = (
        "Send pending Waygrid submissions whose next attempt is due. Several dispatchers may "
        "run at once: each row is claimed by one of them."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        """``--once``, ``--interval``, ``--batch-size``, ``--database``."""
        parser.add_argument(
            "--once", action="store_true", help="send everything due now, then exit"
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=2.0,
            help="seconds to wait when nothing is due (default 2)",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=None,
            help="rows claimed and sent together (default WAYGRID_OUTBOX_BATCH_SIZE)",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="the database alias")

    def handle(self, *args: Any, **options: Any) -> None:
        """Loop until nothing is due (``--once``) or until SIGINT/SIGTERM."""
        service = get_service()
        batch = options["batch_size"] or service.outbox_settings.batch_size
        interval = max(0.0, options["interval"])
        database = options["database"]
        vendor = connections[database].vendor
        self.stdout.write(
            f"waygrid_dispatch: database {database} ({vendor}), batch size {batch}, "
            f"lease {service.outbox_settings.lease:g} s, up to {SEND_CONCURRENCY} sends at once"
        )
        stop = threading.Event()
        if not options["once"] and threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, lambda *_: stop.set())
        total = DispatchResult()
        flying = InFlight()  # sends carried over from one pass to the next
        try:
            while not stop.is_set():
                result, more = service.dispatch_pass(
                    flying, batch_size=batch, using=database, drain=False
                )
                total += result
                if result.claimed and options["verbosity"] >= 2:
                    self.stdout.write(f"batch: {result}")
                if not more:  # nothing more due right now (and nothing in flight)
                    if options["once"]:
                        break
                    _drop_broken_connections()  # a long-running loop must survive them
                    stop.wait(interval)
        finally:
            if flying:  # stopped mid-pass: let the sends in flight end and record them
                result, _ = service.dispatch_pass(flying, batch_size=0, using=database)
                total += result
                if result.claimed and options["verbosity"] >= 2:
                    self.stdout.write(f"batch: {result}")
        self.stdout.write(f"waygrid_dispatch: {total}")
        if options["once"]:
            self.stdout.write(f"waygrid_dispatch: {_waiting(database)}")
