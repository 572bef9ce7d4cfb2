"""Reading the dev server's request inputs: bodies under a limit, ``?limit=``, fault plans."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .._json import loads_strict
from ..errors import SpecDecodeError
from ._responses import too_large

__all__ = ["DRAIN_CAP", "BadInput", "drain", "fault_plan", "list_limit", "read_body"]

DRAIN_CAP = 16 * 1_048_576  # read (and drop) at most this much of a refused body
_DEFAULT_LIST_LIMIT = 100
_MAX_LIST_LIMIT = 1000
_MAX_FAULTS = 1_000_000_000
_MAX_RETRY_AFTER = 86_400


async def read_body(request: Request, limit: int) -> bytes | Response:
    """The whole body, or the answer when it is over ``limit`` bytes or the client went away."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        if int(declared) <= DRAIN_CAP:
            await drain(request)
        return too_large(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await request.receive()
        if message["type"] != "http.request":  # the client went away
            return Response(status_code=499)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            if message.get("more_body", False):
                await drain(request)
            return too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def drain(request: Request, cap: int = DRAIN_CAP) -> None:
    """Read what is left of a refused body, so the client gets to read our answer."""
    size = 0
    while size <= cap:
        message = await request.receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        size += len(message.get("body", b""))


def list_limit(text: str | None) -> int:
    """``?limit=`` of ``GET /_dev/traversals``: a plain decimal from 0 to `_MAX_LIST_LIMIT`."""
    if text is None:
        return _DEFAULT_LIST_LIMIT
    digits = text.lstrip("0")
    if not (text.isascii() and text.isdigit() and len(digits) <= len(str(_MAX_LIST_LIMIT))):
        raise BadInput("limit", f"limit must be a whole number from 0 to {_MAX_LIST_LIMIT}")
    limit = int(digits or "0")
    if limit > _MAX_LIST_LIMIT:
        raise BadInput("limit", f"limit must be a whole number from 0 to {_MAX_LIST_LIMIT}")
    return limit


_PLAN_EXAMPLE = 'such as {"fail": 2, "status": 503, "retry_after": 1} or {"drop": 1}'


def _whole(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadInput(f"$.{name}", f"{name!r} must be a whole number from {low} to {high:_}")
    return value


def fault_plan(body: bytes) -> dict[str, Any]:
    """Read and check the body of ``POST /_dev/faults`` (at most 4 KiB, so at most ~4,000 deep).

    Raises:
        BadInput: with the path of the first problem.
    """
    if not body.strip():
        return {}
    try:
        plan = loads_strict(body)
    except SpecDecodeError as exc:
        raise BadInput("$", exc.reason) from None
    if not isinstance(plan, dict):
        raise BadInput("$", f"expected an object {_PLAN_EXAMPLE}")
    checked: dict[str, Any] = {}
    for name, value in plan.items():
        if name not in ("fail", "drop", "status", "retry_after", "after_processing"):
            raise BadInput(
                f"$.{name}",
                f"unknown field {name!r}; valid fields: fail, status, retry_after, drop, "
                "after_processing",
            )
        if value is None:
            continue
        if name in ("fail", "drop"):
            checked[name] = _whole(name, value, 0, _MAX_FAULTS)
        elif name == "status":
            checked[name] = _whole(name, value, 400, 599)
        elif name == "retry_after":
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not 0 <= value <= _MAX_RETRY_AFTER
            ):
                raise BadInput(
                    "$.retry_after",
                    f"'retry_after' must be a number of seconds from 0 to {_MAX_RETRY_AFTER}",
                )
            checked[name] = value
        elif not isinstance(value, bool):
            raise BadInput(f"$.{name}", f"{name!r} must be true or false")
        else:
            checked[name] = value
    return checked


class BadInput(ValueError):
    """A ``/_dev/`` request input that is wrong at ``path``."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason
