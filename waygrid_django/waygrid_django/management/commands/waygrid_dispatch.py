"""``manage.py waygrid_dispatch``: send the outbox's due submissions, once or in a loop."""

from __future__ import annotations

import signal
import threading
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, close_old_connections

from ...outbox import DispatchResult
from ...service import get_service


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
        stop = threading.Event()
        if not options["once"] and threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, lambda *_: stop.set())
        total = DispatchResult()
        while not stop.is_set():
            close_old_connections()  # a long-running loop must survive a dropped connection
            result = service.dispatch(batch_size=batch, using=options["database"])
            total += result
            if result.claimed and options["verbosity"] >= 2:
                self.stdout.write(f"batch: {result}")
            if result.claimed < batch:  # nothing more due right now
                if options["once"]:
                    break
                stop.wait(interval)
        self.stdout.write(f"waygrid_dispatch: {total}")
