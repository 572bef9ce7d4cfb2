"""``waygrid validate``, ``render`` and ``hash``: what the server's compiler makes of spec files."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..dag import dag_to_dict, to_mermaid
from ..errors import SpecDecodeError, SpecValidationError
from ._arguments import as_server_flag
from ._common import SPEC_HELP, CliError, compiled, echo, issue_lines, load

__all__ = ["register"]


def _validate(args: argparse.Namespace) -> int:
    status = 0
    for path in args.files:
        try:
            document = load(path, as_server=args.as_server)
            warnings = document.spec.validate(strict=args.strict)
            dag_hash = document.spec.compile().dag_hash
        except CliError as exc:
            echo(f"error: {exc}", sys.stderr)
            status = 1
            continue
        except (SpecDecodeError, SpecValidationError) as exc:
            issues = [exc.issue] if isinstance(exc, SpecDecodeError) else exc.issues
            noun = "issue" if len(issues) == 1 else "issues"
            echo("\n".join([f"{path}: invalid ({len(issues)} {noun})", *issue_lines(issues)]))
            status = 1
            continue
        echo("\n".join([f"{path}: ok (dagHash {dag_hash})", *issue_lines(warnings)]))
    return status


def _render(args: argparse.Namespace) -> int:
    dag = compiled(args.file, args.as_server)
    if args.format == "mermaid":
        sys.stdout.write(to_mermaid(dag))
    else:
        echo(json.dumps(dag_to_dict(dag), indent=2, ensure_ascii=False))
    return 0


def _hash(args: argparse.Namespace) -> int:
    status = 0
    for path in args.files:
        try:
            dag = compiled(path, args.as_server)
        except CliError as exc:
            echo(f"error: {exc}", sys.stderr)
            status = 1
            continue
        echo(dag.dag_hash if len(args.files) == 1 else f"{dag.dag_hash}  {path}")
    return status


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``validate``, ``render`` and ``hash`` to the command line."""
    validate = commands.add_parser(
        "validate",
        help="check specs with the server's rules (exit 1 when one is invalid)",
        description="Check spec files with the server's decoding and compiler rules; print every "
        "issue with its path and code. Exit status 1 when a file is invalid.",
    )
    validate.add_argument("files", nargs="+", metavar="FILE", help=SPEC_HELP)
    validate.add_argument("--strict", action="store_true", help="treat warnings as errors")
    as_server_flag(validate)
    validate.set_defaults(run=_validate)

    render = commands.add_parser(
        "render",
        help="print the compiled DAG as Mermaid or JSON",
        description="Compile a spec as the server does and print the DAG.",
    )
    render.add_argument("file", metavar="FILE", help=SPEC_HELP)
    render.add_argument(
        "--format",
        choices=("mermaid", "json"),
        default="mermaid",
        help="output format (default: mermaid)",
    )
    as_server_flag(render)
    render.set_defaults(run=_render)

    hash_ = commands.add_parser(
        "hash",
        help="print the dagHash the server computes",
        description="Print the dagHash the server answers for each spec.",
    )
    hash_.add_argument("files", nargs="+", metavar="FILE", help=SPEC_HELP)
    as_server_flag(hash_)
    hash_.set_defaults(run=_hash)
