"""The ``waygrid`` command: validate, render, hash, simulate, submit specs; run the dev server.

One module per command group (``_specs``: validate, render, hash; ``_submit``; ``_dev``;
``_simulate``), the argument types in ``_arguments``, and what they share in ``_common``.
Every command reads spec files with `waygrid.documents.SpecDocument`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._version import __version__
from ..documents import SpecDocument
from ..errors import SpecDecodeError, WaygridError
from . import _dev, _simulate, _specs, _submit
from ._arguments import Parser
from ._common import CliError, echo

if TYPE_CHECKING:
    from ..spec import Spec
    from ..types import JsonValue

__all__ = ["main", "read_spec_file"]


def read_spec_file(path: str, *, as_server: bool = False) -> tuple[Spec, JsonValue]:
    """The spec and payload of a file, read by `SpecDocument.from_file` (kept for older code).

    Args:
        path: The file (the spec, or a whole ``{"graph": ..., "payload": ...}`` body), or ``-``.
        as_server: Read in the ``"server"`` mode, exactly like today's server.

    Raises:
        ValueError: The file cannot be read or is not JSON; the message names the file.
        SpecDecodeError: The JSON is not a spec, with the path of the offending value.
    """
    document = SpecDocument.from_file(path, mode="server" if as_server else "sdk")
    return document.spec, document.payload


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``waygrid`` command."""
    parser = Parser(
        prog="waygrid",
        description="Validate, render, hash and submit Waygrid specs, and run the dev server.",
    )
    parser.add_argument("--version", action="version", version=f"waygrid {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for group in (_specs, _submit, _dev, _simulate):
        group.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``waygrid`` command; returns the exit status (0 ok, 1 failure, 2 usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.run(args)
    except CliError as exc:
        echo(f"error: {exc}", sys.stderr)
        return 1
    except SpecDecodeError as exc:
        echo(f"error: not a valid spec:\n  {exc.issue}", sys.stderr)
        return 1
    except WaygridError as exc:  # rejected specs, authentication, server errors
        echo(f"error: {exc}", sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. piped into `head`: stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return status
