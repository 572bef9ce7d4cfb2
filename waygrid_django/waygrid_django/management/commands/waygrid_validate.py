"""``manage.py waygrid_validate FILE``: check a spec file with the server's compiler rules."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from waygrid import SpecValidationError

from ._common import add_spec_arguments, read_spec


class Command(BaseCommand):
    """Validate a spec file; exit 1 (listing every issue) when the server would reject it."""

    help = "Validate a Waygrid spec (JSON file, or - for stdin) without sending it."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """``FILE``, ``--strict`` and ``--as-server``."""
        add_spec_arguments(parser)
        parser.add_argument(
            "--strict", action="store_true", help="treat warnings as errors as well"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Print the warnings and the dagHash, or fail with the issues."""
        file: str = options["file"]
        spec, _ = read_spec(file, as_server=options["as_server"])
        try:
            warnings = spec.validate(strict=options["strict"])
        except SpecValidationError as exc:
            raise CommandError(f"{file}: {exc}") from None
        for issue in warnings:
            self.stderr.write(self.style.WARNING(str(issue)))
        dag = spec.compile()
        noun = "warning" if len(warnings) == 1 else "warnings"
        self.stdout.write(
            self.style.SUCCESS(
                f"{file}: valid, {len(dag.nodes)} nodes, dagHash {dag.dag_hash}, "
                f"{len(warnings)} {noun}"
            )
        )
