"""Argument types of the ``waygrid`` command: a bad value is a usage error naming the option."""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
from typing import NoReturn

from .._values import shown
from ..client._config import check_api_key, check_base_url, check_idempotency_key

__all__ = [
    "Parser",
    "api_key",
    "as_server_flag",
    "at_least",
    "base_url",
    "environment",
    "idempotency_key",
    "integer",
    "port",
    "seconds",
    "speed",
]

_MAX_SECONDS = 1_000_000  # past this, event-loop timers overflow; nobody waits 11 days


class Parser(argparse.ArgumentParser):
    """Usage mistakes are one line on stderr (naming the option) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        """Print ``message`` with a pointer to ``--help`` and exit with status 2."""
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def as_server_flag(parser: argparse.ArgumentParser) -> None:
    """``--as-server``: read spec files in the core reader's ``"server"`` mode."""
    parser.add_argument(
        "--as-server",
        action="store_true",
        help="read the file exactly like today's server (no missing policies, no 'times', no "
        "JSON-pointer conditions)",
    )


def integer(text: str) -> int:
    """A decimal integer of at most 30 digits."""
    if not re.fullmatch(r"[+-]?[0-9]{1,30}", text.strip()):
        raise argparse.ArgumentTypeError(f"must be an integer, got {shown(text)}")
    return int(text)


def port(text: str) -> int:
    """A TCP port, 0 to 65535."""
    value = integer(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a TCP port from 0 to 65535, got {value}")
    return value


def at_least(low: int) -> Callable[[str], int]:
    """An integer type that is at least ``low``."""

    def check(text: str) -> int:
        value = integer(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {value}")
        return value

    return check


def seconds(text: str) -> float:
    """Seconds above 0 and at most a million."""
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


def speed(text: str) -> float:
    """The dev server's replay speed, above 0 and at most its maximum."""
    from ..devserver._runs import MAX_SPEED

    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= MAX_SPEED:  # NaN fails this too
        raise argparse.ArgumentTypeError(
            f"must be a number above 0 and at most {MAX_SPEED:,.0f}, got {shown(text)}"
        )
    return value


def base_url(text: str) -> str:
    """A server address, checked as the client checks it."""
    try:
        check_base_url(text)
    except ValueError as exc:
        reason = str(exc).removeprefix("base_url ")
        raise argparse.ArgumentTypeError(f"{reason}, got {shown(text)}") from None
    return text


def api_key(text: str) -> str:
    """An API key, checked as the client checks it; the message never repeats it."""
    try:
        check_api_key(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            "the key must be non-empty printable ASCII without spaces"
        ) from None
    return text


def idempotency_key(text: str) -> str:
    """An ``Idempotency-Key``, checked as the client checks it."""
    try:
        return check_idempotency_key(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be 1-255 printable ASCII characters without spaces, got {shown(text)}"
        ) from None


def environment(
    args: argparse.Namespace, name: str, check: Callable[[str], object], value: str
) -> str:
    """A setting read from the environment, checked like the option it stands in for."""
    try:
        check(value)
    except argparse.ArgumentTypeError as exc:
        args.parser.error(f"environment variable {name}: {exc}")
    return value
