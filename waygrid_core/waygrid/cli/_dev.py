"""``waygrid dev``: run the dev server on a TCP port until Ctrl+C."""

from __future__ import annotations

import argparse
import socket
import sqlite3
from typing import Any

from .._json import json_reason, loads_strict
from .._values import shown
from ..errors import SpecDecodeError
from . import _arguments as types
from ._common import CliError, echo, read_bytes

__all__ = ["read_script", "register"]


def read_script(value: str | None) -> object:
    """``--script``: JSON text (starting with ``{``), or a file of JSON; ``-`` reads stdin."""
    if value is None:
        return None
    if value.lstrip().startswith("{"):
        raw, where = value.encode(), "--script"
    else:
        raw, where = read_bytes(value), value
    try:
        return loads_strict(raw)
    except SpecDecodeError as exc:
        reason = json_reason(exc)
        raise CliError(f"{where}: not valid JSON: {reason}") from None


def _dev(args: argparse.Namespace) -> int:
    try:
        from ..devserver import create_app
        from ..devserver._server import serve
    except ModuleNotFoundError as exc:
        raise CliError(
            f"the dev server needs the 'server' extra ({exc.name} is missing): "
            'pip install "waygrid-sdk[server]"'
        ) from None
    try:
        raw_script = read_script(args.script)
    except CliError as exc:
        args.parser.error(f"argument --script: {exc}")
    from ..devserver._runs import check_script

    try:
        script = check_script({} if raw_script is None else raw_script)
    except ValueError as exc:
        args.parser.error(f"argument --script: {exc}")
    try:
        app = create_app(
            strict=args.strict,
            api_key=args.api_key,
            db_path=args.db,
            max_body_bytes=args.max_body_bytes,
            run=not args.no_run,
            speed=args.speed,
            script=script,
        )
    except (sqlite3.Error, OSError, ValueError) as exc:
        if args.db is None:
            raise
        args.parser.error(f"argument --db: cannot use {shown(args.db)} as a SQLite file: {exc}")
    storage = args.db or "memory (use --db FILE to keep traversals)"
    mode = "strict, like today's server" if args.strict else "default (JSON-pointer conditions ok)"
    auth = "required (Authorization: Bearer ...)" if args.api_key else "none"
    if args.no_run:
        runs = "stored only (--no-run)"
    else:
        scripted = f"script for {len(script)} node(s)" if script else "every node succeeds"
        runs = f"simulated at {args.speed:g}x real time, {scripted}"

    def announce(url: str) -> None:
        echo(
            f"Waygrid dev server listening on {url}\n"
            f"  ingest:    POST {url}/v1/ingest\n"
            f"  dashboard: {url}/_dev/\n"
            f"  mode:      {mode}\n"
            f"  storage:   {storage}\n"
            f"  api key:   {auth}\n"
            f"  runs:      {runs}\n"
            "Press Ctrl+C to stop."
        )

    try:
        serve(
            app,
            host=args.host,
            port=args.port,
            announce=announce,
            log_level=args.log_level,
            access_log=args.access_log,
        )
    except (socket.gaierror, UnicodeError, ValueError) as exc:  # not a host name or address
        reason = exc.strerror if isinstance(exc, OSError) else exc
        args.parser.error(f"argument --host: cannot listen on {shown(args.host)}: {reason}")
    except OSError as exc:  # e.g. the port is taken: not a usage mistake
        raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    except KeyboardInterrupt:
        pass
    echo("Waygrid dev server stopped.")
    return 0


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``dev`` to the command line."""
    dev = commands.add_parser(
        "dev",
        help="run the local dev server",
        description="Run the Waygrid dev server: POST /v1/ingest like the real server, plus the "
        "dashboard at /_dev/. Needs the 'server' extra.",
    )
    dev.add_argument("--host", default="127.0.0.1", help="interface (default: 127.0.0.1)")
    dev.add_argument(
        "--port", type=types.port, default=1337, help="TCP port, 0 for any (default: 1337)"
    )
    dev.add_argument("--db", metavar="PATH", help="keep traversals in this SQLite file")
    dev.add_argument(
        "--strict", action="store_true", help="reject JSON-pointer conditions like today's server"
    )
    dev.add_argument(
        "--api-key", type=types.api_key, metavar="KEY", help="require Authorization: Bearer KEY"
    )
    dev.add_argument(
        "--max-body-bytes",
        type=types.at_least(1),
        default=1_048_576,
        metavar="N",
        help="default: 1048576",
    )
    dev.add_argument(
        "--log-level",
        default="warning",
        choices=("critical", "error", "warning", "info", "debug", "trace"),
        help="uvicorn's log level (default: warning)",
    )
    dev.add_argument(
        "--speed",
        type=types.speed,
        default=1.0,
        metavar="N",
        help="replay simulated traversals N times faster than real time (default: 1)",
    )
    dev.add_argument(
        "--no-run", action="store_true", help="store traversals without simulating them"
    )
    dev.add_argument(
        "--script",
        metavar="FILE|JSON",
        help="node outcomes by node name for every traversal (as for waygrid simulate); "
        "PUT /_dev/script changes them at run time",
    )
    dev.add_argument("--access-log", action="store_true", help="log every request")
    dev.set_defaults(run=_dev, parser=dev)
