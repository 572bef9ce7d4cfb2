"""What every ``waygrid`` command shares: user errors, output, reading and compiling spec files."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from ..documents import SpecDocument, _read_bytes
from ..errors import SpecDecodeError, SpecValidationError, ValidationIssue

if TYPE_CHECKING:
    from ..dag import CompiledDag

__all__ = [
    "SPEC_HELP",
    "CliError",
    "compiled",
    "echo",
    "issue_lines",
    "load",
    "read_bytes",
]

SPEC_HELP = 'a spec JSON file (the value of "graph", or a whole {"graph": ...} body); - reads stdin'


class CliError(Exception):
    """A user mistake: reported on stderr as one message, exit status 1, no traceback."""


def echo(text: str, stream: TextIO | None = None) -> None:
    """Print one message (stdout by default), flushed at once."""
    print(text, file=stream or sys.stdout, flush=True)


def read_bytes(path: str) -> bytes:
    """A file's bytes (``-``: stdin); an unreadable file is a `CliError` naming it."""
    try:
        return _read_bytes(path)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def load(path: str, *, as_server: bool = False) -> SpecDocument:
    """Read a spec file with the core's one reader (``--as-server``: the server's mode).

    Raises:
        CliError: The file cannot be read or is not JSON.
        SpecDecodeError: The JSON is not a spec.
    """
    try:
        return SpecDocument.from_file(path, mode="server" if as_server else "sdk")
    except SpecDecodeError:
        raise
    except ValueError as exc:  # the message names the file
        raise CliError(str(exc)) from None


def issue_lines(issues: Sequence[ValidationIssue]) -> list[str]:
    """One indented line per issue."""
    return [f"  {issue}" for issue in issues]


def compiled(path: str, as_server: bool) -> CompiledDag:
    """Compile a spec file, turning spec errors into `CliError` with every issue."""
    try:
        return load(path, as_server=as_server).spec.compile()
    except SpecDecodeError as exc:
        raise CliError(f"{path}: not a valid spec:\n  {exc.issue}") from None
    except SpecValidationError as exc:
        lines = "\n".join(issue_lines(exc.issues))
        raise CliError(f"{path}: not a valid graph:\n{lines}") from None
