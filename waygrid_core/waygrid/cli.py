"""The ``waygrid`` command: validate, render, hash, simulate, submit specs; run the dev server."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import socket
import sqlite3
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from ._values import shown
from ._version import __version__
from .client.config import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
from .errors import (
    SpecDecodeError,
    SpecValidationError,
    ValidationIssue,
    WaygridConnectionError,
    WaygridError,
)

if TYPE_CHECKING:
    from .client import ClientConfig
    from .dag import CompiledDag
    from .spec import Spec
    from .types import JsonValue

__all__ = ["main", "read_spec_file"]

DEFAULT_BASE_URL = "http://127.0.0.1:1337"
_SPEC_HELP = (
    'a spec JSON file (the value of "graph", or a whole {"graph": ...} body); - reads stdin'
)


class CliError(Exception):
    """A user mistake: reported on stderr as one message, exit status 1, no traceback."""


@dataclass(frozen=True)
class _Document:
    spec: Spec
    payload: JsonValue
    has_payload: bool


def _read_text(path: str) -> bytes:
    if path == "-":
        try:
            return sys.stdin.buffer.read()
        except (AttributeError, OSError, ValueError) as exc:  # no stdin, or a closed one
            raise CliError(f"cannot read the standard input: {exc}") from None
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise CliError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _load(path: str, *, as_server: bool = False) -> _Document:
    """Read a spec file; raises `CliError` for unreadable files and JSON, `SpecDecodeError` else."""
    from ._codec import decode_spec
    from ._json import loads_strict

    raw = _read_text(path)
    try:
        document = loads_strict(raw)
    except SpecDecodeError as exc:
        raise CliError(f"{path}: not valid JSON: {exc.reason}") from None
    graph, payload, has_payload = document, None, False
    if isinstance(document, dict) and "graph" in document and "entryPoints" not in document:
        graph, payload, has_payload = (
            document["graph"],
            document.get("payload"),
            "payload" in document,
        )
    spec = decode_spec(graph, mode="server" if as_server else "sdk", json_conditions=not as_server)
    return _Document(spec, payload, has_payload)


def read_spec_file(path: str, *, as_server: bool = False) -> tuple[Spec, JsonValue]:
    """Read a spec file as ``waygrid validate`` and ``waygrid submit`` do.

    The file holds the spec (the value of ``"graph"``) or a whole ingest body
    ``{"graph": ..., "payload": ...}``; ``-`` reads stdin.

    Args:
        path: The file, or ``-``.
        as_server: Read exactly like today's server (no missing policies, no ``times``, no
            JSON-pointer conditions) instead of accepting what the published docs promise.

    Returns:
        The spec, and the body's payload (None when the file has none).

    Raises:
        ValueError: The file cannot be read or is not JSON; the message names the file.
        SpecDecodeError: The JSON is not a spec, with the path of the offending value.
    """
    try:
        document = _load(path, as_server=as_server)
    except CliError as exc:
        raise ValueError(str(exc)) from None
    return document.spec, document.payload


def _issue_lines(issues: Sequence[ValidationIssue]) -> list[str]:
    return [f"  {issue}" for issue in issues]


def _decode_issue(exc: SpecDecodeError) -> ValidationIssue:
    return ValidationIssue("error", "decode-error", exc.path, exc.reason)


def _print(text: str, stream: TextIO | None = None) -> None:
    print(text, file=stream or sys.stdout, flush=True)


# --- Argument types: a bad value is a usage error (exit 2) that names the option -------------


def _port(text: str) -> int:
    port = _integer(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be a TCP port from 0 to 65535, got {port}")
    return port


def _at_least(low: int) -> Callable[[str], int]:
    def check(text: str) -> int:
        value = _integer(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {value}")
        return value

    return check


def _integer(text: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]{1,30}", text.strip()):
        raise argparse.ArgumentTypeError(f"must be an integer, got {shown(text)}")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a number of seconds, got {shown(text)}"
        ) from None
    if not 0 < value <= _MAX_SECONDS:  # NaN fails this too
        raise argparse.ArgumentTypeError(
            f"must be a number of seconds above 0 and at most {_MAX_SECONDS:,}, got {shown(text)}"
        )
    return value


def _speed(text: str) -> float:
    from .devserver._runs import MAX_SPEED

    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= MAX_SPEED:  # NaN fails this too
        raise argparse.ArgumentTypeError(
            f"must be a number above 0 and at most {MAX_SPEED:,.0f}, got {shown(text)}"
        )
    return value


_MAX_SECONDS = 1_000_000  # past this, event-loop timers overflow; nobody waits 11 days


def _base_url(text: str) -> str:
    from .client._config import check_base_url

    try:
        check_base_url(text)
    except ValueError as exc:
        reason = str(exc).removeprefix("base_url ")
        raise argparse.ArgumentTypeError(f"{reason}, got {shown(text)}") from None
    return text


def _api_key(text: str) -> str:
    from .client._config import check_api_key

    try:
        check_api_key(text)
    except ValueError:  # the message never repeats the key
        raise argparse.ArgumentTypeError(
            "the key must be non-empty printable ASCII without spaces"
        ) from None
    return text


def _idempotency_key(text: str) -> str:
    from .client._config import check_idempotency_key

    try:
        return check_idempotency_key(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be 1-255 printable ASCII characters without spaces, got {shown(text)}"
        ) from None


def _environment(
    args: argparse.Namespace, name: str, check: Callable[[str], object], value: str
) -> str:
    """A setting read from the environment, checked like the option it stands in for."""
    try:
        check(value)
    except argparse.ArgumentTypeError as exc:
        args.parser.error(f"environment variable {name}: {exc}")
    return value


# --- Commands ---------------------------------------------------------------------------------


def _validate(args: argparse.Namespace) -> int:
    status = 0
    for path in args.files:
        try:
            document = _load(path, as_server=args.as_server)
            warnings = document.spec.validate(strict=args.strict)
            dag_hash = document.spec.compile().dag_hash
        except CliError as exc:
            _print(f"error: {exc}", sys.stderr)
            status = 1
            continue
        except SpecDecodeError as exc:
            lines = _issue_lines([_decode_issue(exc)])
            _print("\n".join([f"{path}: invalid (1 issue)", *lines]))
            status = 1
            continue
        except SpecValidationError as exc:
            noun = "issue" if len(exc.issues) == 1 else "issues"
            _print(
                "\n".join(
                    [f"{path}: invalid ({len(exc.issues)} {noun})", *_issue_lines(exc.issues)]
                )
            )
            status = 1
            continue
        _print("\n".join([f"{path}: ok (dagHash {dag_hash})", *_issue_lines(warnings)]))
    return status


def _compiled(path: str, as_server: bool) -> CompiledDag:
    """Compile a spec file, turning spec errors into `CliError` with every issue."""
    try:
        document = _load(path, as_server=as_server)
        return document.spec.compile()
    except SpecDecodeError as exc:
        raise CliError(
            f"{path}: not a valid spec:\n" + "\n".join(_issue_lines([_decode_issue(exc)]))
        ) from None
    except SpecValidationError as exc:
        lines = "\n".join(_issue_lines(exc.issues))
        raise CliError(f"{path}: not a valid graph:\n{lines}") from None


def _render(args: argparse.Namespace) -> int:
    from .dag import to_mermaid

    dag = _compiled(args.file, args.as_server)
    if args.format == "mermaid":
        sys.stdout.write(to_mermaid(dag))
    else:
        from .dag import dag_to_dict

        _print(json.dumps(dag_to_dict(dag), indent=2, ensure_ascii=False))
    return 0


def _hash(args: argparse.Namespace) -> int:
    status = 0
    for path in args.files:
        try:
            dag = _compiled(path, args.as_server)
        except CliError as exc:
            _print(f"error: {exc}", sys.stderr)
            status = 1
            continue
        _print(dag.dag_hash if len(args.files) == 1 else f"{dag.dag_hash}  {path}")
    return status


def _payload(text: str | None) -> tuple[bool, JsonValue]:
    if text is None:
        return False, None
    source = "--payload"
    if text.startswith("@"):
        source = text[1:]
        text = _read_text(source).decode("utf-8", errors="replace")
    from ._json import loads_strict

    try:
        value: JsonValue = loads_strict(text)
    except SpecDecodeError as exc:  # any depth, any size: never a RecursionError
        reason = exc.reason.removeprefix("invalid JSON: ")
        raise CliError(f"{source}: the payload is not valid JSON: {reason}") from None
    return True, value


def _client_config(args: argparse.Namespace, base_url: str, api_key: str | None) -> ClientConfig:
    """The client options of ``waygrid submit``: options not given keep the SDK's defaults."""
    from .client import ClientConfig

    options: dict[str, Any] = {}
    if args.max_retries is not None:
        options["max_retries"] = args.max_retries
    if args.timeout is not None:
        options["timeout"] = args.timeout
    return ClientConfig(base_url, api_key, **options)


def _submit(args: argparse.Namespace) -> int:
    from .client import WaygridClient, redact_url

    base_url = args.base_url or DEFAULT_BASE_URL
    if args.base_url is None and os.environ.get("WAYGRID_BASE_URL"):
        base_url = _environment(args, "WAYGRID_BASE_URL", _base_url, os.environ["WAYGRID_BASE_URL"])
    api_key = args.api_key
    if api_key is None and os.environ.get("WAYGRID_API_KEY"):
        api_key = _environment(args, "WAYGRID_API_KEY", _api_key, os.environ["WAYGRID_API_KEY"])
    document = _load(args.file)  # decode errors are reported by main()
    given, payload = _payload(args.payload)
    if not given:
        payload = document.payload

    config = _client_config(args, base_url, api_key)

    async def submit() -> Any:
        async with WaygridClient.from_config(config) as client:
            return await client.submit(
                document.spec,
                payload,
                idempotency_key=args.idempotency_key,
                validate=not args.no_validate,
            )

    try:
        result = asyncio.run(submit())
    except WaygridConnectionError as exc:
        raise CliError(
            f"cannot reach the Waygrid server at {redact_url(base_url)}: {exc}\n"
            "Is it running? Start a local one with: waygrid dev"
        ) from None
    _print(json.dumps({"traversalId": result.traversal_id, "dagHash": result.dag_hash}))
    return 0


def _dev(args: argparse.Namespace) -> int:
    try:
        from .devserver import create_app
        from .devserver._server import serve
    except ModuleNotFoundError as exc:
        raise CliError(
            f"the dev server needs the 'server' extra ({exc.name} is missing): "
            'pip install "waygrid-sdk[server]"'
        ) from None
    try:
        raw_script = _read_script(args.script)
    except CliError as exc:
        args.parser.error(f"argument --script: {exc}")
    from .devserver._runs import check_script

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
        _print(
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
    _print("Waygrid dev server stopped.")
    return 0


_STATUSES = ("completed", "failed", "canceled", "stalled")


def _read_script(value: str | None) -> object:
    """``--script``: JSON text (starting with ``{``), or a file of JSON; ``-`` reads stdin."""
    from ._json import loads_strict

    if value is None:
        return None
    if value.lstrip().startswith("{"):
        raw, where = value.encode(), "--script"
    else:
        raw, where = _read_text(value), value
    try:
        return loads_strict(raw)
    except SpecDecodeError as exc:
        raise CliError(f"{where}: not valid JSON: {exc.reason}") from None


def _simulate(args: argparse.Namespace) -> int:
    from .simulate import simulate

    try:
        document = _load(args.file)
        script = _read_script(args.script)
        run = simulate(document.spec, script=script, mode=args.mode, seed=args.seed)  # type: ignore[arg-type]
    except CliError as exc:
        _print(f"error: {exc}", sys.stderr)
        return 2
    except SpecDecodeError as exc:
        _print(f"error: {args.file}: not a valid spec: {_decode_issue(exc)}", sys.stderr)
        return 2
    except SpecValidationError as exc:
        more = f" (and {len(exc.issues) - 1} more)" if len(exc.issues) > 1 else ""
        _print(f"error: {args.file}: rejected: {exc.issues[0]}{more}", sys.stderr)
        return 2
    except ValueError as exc:
        _print(f"error: {exc}", sys.stderr)
        return 2
    _print(json.dumps(run.to_dict(), indent=2) if args.json else run.timeline())
    if args.expect is None or args.expect == run.status:
        return 0
    _print(f"expected {args.expect}, got {run.status}", sys.stderr)
    return 1


# --- Parser -----------------------------------------------------------------------------------


def _as_server_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--as-server",
        action="store_true",
        help="read the file exactly like today's server (no missing policies, no 'times', no "
        "JSON-pointer conditions)",
    )


class _Parser(argparse.ArgumentParser):
    """Usage mistakes are one line on stderr (naming the option) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``waygrid`` command."""
    parser = _Parser(
        prog="waygrid",
        description="Validate, render, hash and submit Waygrid specs, and run the dev server.",
    )
    parser.add_argument("--version", action="version", version=f"waygrid {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    validate = commands.add_parser(
        "validate",
        help="check specs with the server's rules (exit 1 when one is invalid)",
        description="Check spec files with the server's decoding and compiler rules; print every "
        "issue with its path and code. Exit status 1 when a file is invalid.",
    )
    validate.add_argument("files", nargs="+", metavar="FILE", help=_SPEC_HELP)
    validate.add_argument("--strict", action="store_true", help="treat warnings as errors")
    _as_server_flag(validate)
    validate.set_defaults(run=_validate)

    render = commands.add_parser(
        "render",
        help="print the compiled DAG as Mermaid or JSON",
        description="Compile a spec as the server does and print the DAG.",
    )
    render.add_argument("file", metavar="FILE", help=_SPEC_HELP)
    render.add_argument(
        "--format",
        choices=("mermaid", "json"),
        default="mermaid",
        help="output format (default: mermaid)",
    )
    _as_server_flag(render)
    render.set_defaults(run=_render)

    hash_ = commands.add_parser(
        "hash",
        help="print the dagHash the server computes",
        description="Print the dagHash the server answers for each spec.",
    )
    hash_.add_argument("files", nargs="+", metavar="FILE", help=_SPEC_HELP)
    _as_server_flag(hash_)
    hash_.set_defaults(run=_hash)

    submit = commands.add_parser(
        "submit",
        help="submit a spec to a Waygrid server",
        description='Submit a spec with WaygridClient and print {"traversalId", "dagHash"}. The '
        "server is --base-url, else $WAYGRID_BASE_URL, else " + DEFAULT_BASE_URL + "; the API key "
        "is --api-key, else $WAYGRID_API_KEY.",
    )
    submit.add_argument("file", metavar="FILE", help=_SPEC_HELP)
    submit.add_argument("--payload", metavar="JSON", help="the payload as JSON text, or @FILE")
    submit.add_argument("--base-url", type=_base_url, metavar="URL", help="the server's address")
    submit.add_argument(
        "--api-key", type=_api_key, metavar="KEY", help="sent as Authorization: Bearer KEY"
    )
    submit.add_argument(
        "--idempotency-key",
        type=_idempotency_key,
        metavar="KEY",
        help="default: a new random key",
    )
    submit.add_argument(
        "--max-retries",
        type=_at_least(0),
        metavar="N",
        help=f"retries after the first attempt (default: the SDK's, {DEFAULT_MAX_RETRIES})",
    )
    submit.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help="seconds for every phase of a request (default: the SDK's, "
        f"{DEFAULT_TIMEOUT.connect:g} to connect and {DEFAULT_TIMEOUT.read:g} to read)",
    )
    submit.add_argument(
        "--no-validate", action="store_true", help="let the server judge the spec (no local checks)"
    )
    submit.set_defaults(run=_submit, parser=submit)

    dev = commands.add_parser(
        "dev",
        help="run the local dev server",
        description="Run the Waygrid dev server: POST /v1/ingest like the real server, plus the "
        "dashboard at /_dev/. Needs the 'server' extra.",
    )
    dev.add_argument("--host", default="127.0.0.1", help="interface (default: 127.0.0.1)")
    dev.add_argument("--port", type=_port, default=1337, help="TCP port, 0 for any (default: 1337)")
    dev.add_argument("--db", metavar="PATH", help="keep traversals in this SQLite file")
    dev.add_argument(
        "--strict", action="store_true", help="reject JSON-pointer conditions like today's server"
    )
    dev.add_argument(
        "--api-key", type=_api_key, metavar="KEY", help="require Authorization: Bearer KEY"
    )
    dev.add_argument(
        "--max-body-bytes",
        type=_at_least(1),
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
        type=_speed,
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

    sim = commands.add_parser(
        "simulate",
        help="run one traversal on a virtual clock and print its timeline",
        description="Simulate a traversal with the server's runtime rules (TraversalFSM and "
        "Backoff) and scripted node outcomes; print the timeline and how the run ended. Exit "
        "status 2 for bad input; with --expect, 1 when the run ends otherwise.",
    )
    sim.add_argument("file", metavar="SPEC", help=_SPEC_HELP)
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``waygrid`` command; returns the exit status (0 ok, 1 failure, 2 usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.run(args)
    except CliError as exc:
        _print(f"error: {exc}", sys.stderr)
        return 1
    except SpecDecodeError as exc:
        _print(f"error: not a valid spec:\n  {_decode_issue(exc)}", sys.stderr)
        return 1
    except WaygridError as exc:  # rejected specs, authentication, server errors
        _print(f"error: {exc}", sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. piped into `head`: stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return status


if __name__ == "__main__":  # python -m waygrid.cli
    sys.exit(main())
