"""What the ``waygrid_*`` commands share: reading a spec file (the core's reader), a payload."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from pathlib import Path

from django.core.management.base import CommandError

from waygrid import Spec, SpecDecodeError
from waygrid.client import JsonPayload
from waygrid.documents import SpecDocument

__all__ = ["add_spec_arguments", "read_payload", "read_spec"]


def add_spec_arguments(parser: ArgumentParser) -> None:
    """``FILE`` and ``--as-server``, as the ``waygrid`` command line has them."""
    parser.add_argument(
        "file",
        help='the spec\'s JSON file (the value of "graph", or a whole {"graph": ...} body), '
        "or - for stdin",
    )
    parser.add_argument(
        "--as-server",
        action="store_true",
        help="read the file exactly like today's server (no missing policies, no 'times', no "
        "JSON-pointer conditions)",
    )


def read_spec(file: str, *, as_server: bool = False) -> tuple[Spec, JsonPayload]:
    """The spec in ``file`` (``-`` for stdin) and the payload of a whole ingest body, if any.

    Raises:
        CommandError: The file cannot be read or is not a spec (with the path of the problem).
    """
    try:
        document = SpecDocument.from_file(file, mode="server" if as_server else "sdk")
    except SpecDecodeError as exc:
        raise CommandError(f"{file} is not a Waygrid spec: {exc}") from None
    except ValueError as exc:
        raise CommandError(str(exc)) from None  # names the file and the reason
    return document.spec, document.payload


def read_payload(value: str | None) -> JsonPayload:
    """The ``--payload`` value: JSON text, or ``@FILE`` to read it from a file."""
    if value is None:
        return None
    source = "--payload"
    if value.startswith("@"):
        source = value[1:]
        try:
            value = Path(source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {source}: {exc}") from None
    try:
        payload: JsonPayload = json.loads(value)
    except ValueError as exc:
        raise CommandError(f"{source} is not JSON: {exc}") from None
    return payload
