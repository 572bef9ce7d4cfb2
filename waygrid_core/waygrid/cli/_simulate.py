"""``waygrid simulate``: one traversal on a virtual clock, printed as a timeline."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import SpecDecodeError, SpecValidationError
from ..simulate import simulate
from ._common import SPEC_HELP, CliError, echo, load
from ._dev import read_script

__all__ = ["register"]

_STATUSES = ("completed", "failed", "canceled", "stalled")


def _simulate(args: argparse.Namespace) -> int:
    try:
        document = load(args.file)
        script = read_script(args.script)
        run = simulate(document.spec, script=script, mode=args.mode, seed=args.seed)  # type: ignore[arg-type]
    except CliError as exc:
        echo(f"error: {exc}", sys.stderr)
        return 2
    except SpecDecodeError as exc:
        echo(f"error: {args.file}: not a valid spec: {exc.issue}", sys.stderr)
        return 2
    except SpecValidationError as exc:
        more = f" (and {len(exc.issues) - 1} more)" if len(exc.issues) > 1 else ""
        echo(f"error: {args.file}: rejected: {exc.issues[0]}{more}", sys.stderr)
        return 2
    except ValueError as exc:
        echo(f"error: {exc}", sys.stderr)
        return 2
    echo(json.dumps(run.to_dict(), indent=2) if args.json else run.timeline())
    if args.expect is None or args.expect == run.status:
        return 0
    echo(f"expected {args.expect}, got {run.status}", sys.stderr)
    return 1


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``simulate`` to the command line."""
    sim = commands.add_parser(
        "simulate",
        help="run one traversal on a virtual clock and print its timeline",
        description="Simulate a traversal with the server's runtime rules (TraversalFSM and "
        "Backoff) and scripted node outcomes; print the timeline and how the run ended. Exit "
        "status 2 for bad input; with --expect, 1 when the run ends otherwise.",
    )
    sim.add_argument("file", metavar="SPEC", help=SPEC_HELP)
    sim.add_argument(
        "--script",
        metavar="FILE|JSON",
        help="outcomes by node name (a JSON file, or JSON text), e.g. "
        '\'{"charge": ["fail", {"outcome": "ok", "afterMs": 250}]}\'',
    )
    sim.add_argument(
        "--mode",
        choices=("intended", "upstream"),
        default="intended",
        help="intended (default: the fixed rules) or upstream (the server as it is)",
    )
    sim.add_argument("--seed", type=int, default=0, metavar="N", help="seeds random retry delays")
    sim.add_argument("--json", action="store_true", help="print the run as JSON")
    sim.add_argument(
        "--expect", choices=_STATUSES, metavar="STATUS", help="exit 1 unless the run ends so"
    )
    sim.set_defaults(run=_simulate, parser=sim)
