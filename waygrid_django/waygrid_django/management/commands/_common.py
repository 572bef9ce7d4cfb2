"""What the ``waygrid_*`` commands share: reading a spec file and a payload argument."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import CommandError

from waygrid import Spec, SpecDecodeError
from waygrid.client import JsonPayload

__all__ = ["read_payload", "read_spec"]


def read_spec(file: str) -> Spec:
    """The spec in ``file`` (``-`` for stdin).

    Raises:
        CommandError: The file cannot be read or is not a spec (with the path of the problem).
    """
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {file}: {exc}") from None
    try:
        return Spec.from_json(text)
    except SpecDecodeError as exc:
        raise CommandError(f"{file} is not a Waygrid spec: {exc}") from None


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
