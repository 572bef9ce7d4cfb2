"""``manage.py waygrid_submit FILE [--payload JSON]``: send a spec file to Waygrid."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from waygrid import WaygridError

from ...service import get_service
from ._common import add_spec_arguments, read_payload, read_spec


class Command(BaseCommand):
    """Submit a spec now (or through the outbox) and print the traversal id."""

    help = (
        "Submit a Waygrid spec (JSON file, or - for stdin) to WAYGRID_BASE_URL. Exits non-zero "
        "when the submit fails (with --outbox: when the row ends failed)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        """``FILE``, ``--as-server``, ``--payload``, ``--idempotency-key``, ``--outbox``."""
        add_spec_arguments(parser)
        parser.add_argument(
            "--payload", help="JSON to send with the spec, or @FILE (default: the body's payload)"
        )
        parser.add_argument("--idempotency-key", help="reuse a key to make the submit repeatable")
        parser.add_argument(
            "--reference", default="", help="with --outbox: your own object, e.g. order:42"
        )
        parser.add_argument(
            "--outbox",
            action="store_true",
            help="store the spec in the outbox and send it from there (kept if Waygrid is down)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Send, then print ``traversal <id> (dagHash <hash>)``."""
        spec, payload = read_spec(options["file"], as_server=options["as_server"])
        if options["payload"] is not None:
            payload = read_payload(options["payload"])
        service = get_service()
        try:
            if options["outbox"]:
                with transaction.atomic():
                    row = service.submit_on_commit(
                        spec,
                        payload,
                        idempotency_key=options["idempotency_key"],
                        reference=options["reference"],
                    )
                line = (
                    f"submission {row.pk}: {row.status}"
                    + (f", traversal {row.traversal_id}" if row.traversal_id else "")
                    + (f" ({row.last_error})" if row.last_error else "")
                )
                if row.status == row.Status.FAILED:
                    raise CommandError(line)
                self.stdout.write(line)
                return
            result = service.submit(spec, payload, idempotency_key=options["idempotency_key"])
        except (WaygridError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"traversal {result.traversal_id} (dagHash {result.dag_hash})")
