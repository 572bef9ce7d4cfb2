"""``waygrid submit``: send a spec file to a Waygrid server with `WaygridClient`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from typing import TYPE_CHECKING, Any

from .._json import json_reason, loads_strict
from ..client import ClientConfig, WaygridClient, redact_url
from ..client.config import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
from ..errors import SpecDecodeError, WaygridConnectionError
from . import _arguments as types
from ._common import SPEC_HELP, CliError, echo, load, read_bytes

if TYPE_CHECKING:
    from ..types import JsonValue

__all__ = ["DEFAULT_BASE_URL", "client_config", "register"]

DEFAULT_BASE_URL = "http://127.0.0.1:1337"


def _payload(text: str | None) -> tuple[bool, JsonValue]:
    if text is None:
        return False, None
    source = "--payload"
    if text.startswith("@"):
        source = text[1:]
        text = read_bytes(source).decode("utf-8", errors="replace")
    try:
        value: JsonValue = loads_strict(text)
    except SpecDecodeError as exc:  # any depth, any size: never a RecursionError
        reason = json_reason(exc)
        raise CliError(f"{source}: the payload is not valid JSON: {reason}") from None
    return True, value


def client_config(args: argparse.Namespace, base_url: str, api_key: str | None) -> ClientConfig:
    """The client options of ``waygrid submit``: options not given keep the SDK's defaults."""
    options: dict[str, Any] = {}
    if args.max_retries is not None:
        options["max_retries"] = args.max_retries
    if args.timeout is not None:
        options["timeout"] = args.timeout
    return ClientConfig(base_url, api_key, **options)


def _submit(args: argparse.Namespace) -> int:
    base_url = args.base_url or DEFAULT_BASE_URL
    if args.base_url is None and os.environ.get("WAYGRID_BASE_URL"):
        base_url = types.environment(
            args, "WAYGRID_BASE_URL", types.base_url, os.environ["WAYGRID_BASE_URL"]
        )
    api_key = args.api_key
    if api_key is None and os.environ.get("WAYGRID_API_KEY"):
        api_key = types.environment(
            args, "WAYGRID_API_KEY", types.api_key, os.environ["WAYGRID_API_KEY"]
        )
    document = load(args.file)  # decode errors are reported by main()
    given, payload = _payload(args.payload)
    if not given:
        payload = document.payload

    config = client_config(args, base_url, api_key)

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
    echo(json.dumps({"traversalId": result.traversal_id, "dagHash": result.dag_hash}))
    return 0


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``submit`` to the command line."""
    submit = commands.add_parser(
        "submit",
        help="submit a spec to a Waygrid server",
        description='Submit a spec with WaygridClient and print {"traversalId", "dagHash"}. The '
        "server is --base-url, else $WAYGRID_BASE_URL, else " + DEFAULT_BASE_URL + "; the API key "
        "is --api-key, else $WAYGRID_API_KEY.",
    )
    submit.add_argument("file", metavar="FILE", help=SPEC_HELP)
    submit.add_argument("--payload", metavar="JSON", help="the payload as JSON text, or @FILE")
    submit.add_argument(
        "--base-url", type=types.base_url, metavar="URL", help="the server's address"
    )
    submit.add_argument(
        "--api-key", type=types.api_key, metavar="KEY", help="sent as Authorization: Bearer KEY"
    )
    submit.add_argument(
        "--idempotency-key",
        type=types.idempotency_key,
        metavar="KEY",
        help="default: a new random key",
    )
    submit.add_argument(
        "--max-retries",
        type=types.at_least(0),
        metavar="N",
        help=f"retries after the first attempt (default: the SDK's, {DEFAULT_MAX_RETRIES})",
    )
    submit.add_argument(
        "--timeout",
        type=types.seconds,
        metavar="SECONDS",
        help="seconds for every phase of a request (default: the SDK's, "
        f"{DEFAULT_TIMEOUT.connect:g} to connect and {DEFAULT_TIMEOUT.read:g} to read)",
    )
    submit.add_argument(
        "--no-validate", action="store_true", help="let the server judge the spec (no local checks)"
    )
    submit.set_defaults(run=_submit, parser=submit)
