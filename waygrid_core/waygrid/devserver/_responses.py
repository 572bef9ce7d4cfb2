"""The dev server's answers: JSON errors with a path and reason, successes, replays, 4xx/5xx."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from ._dumps import dumps
from ._store import StoreBusyError, Traversal

__all__ = [
    "JSON",
    "busy",
    "error_response",
    "internal_error",
    "json_response",
    "not_found",
    "replay",
    "success",
    "too_large",
    "unauthorized",
]

JSON = "application/json"


def json_response(status: int, document: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer of any document."""
    return Response(dumps(document), status, headers, media_type=JSON)


def error_response(
    status: int,
    message: str,
    headers: dict[str, str] | None = None,
    *,
    path: str | None = None,
    reason: str | None = None,
) -> Response:
    """A JSON error: ``{"error": message}``, plus ``"detail": {"path", "reason"}`` when given."""
    document: dict[str, Any] = {"error": message}
    if reason is not None:
        document["detail"] = {"path": path or "$", "reason": reason}
    return Response(dumps(document), status, headers, media_type=JSON)


def busy(exc: StoreBusyError) -> Response:
    """503 for a database that stays locked: the client may retry after a second."""
    return error_response(
        503,
        f"waygrid dev server: storage unavailable: {exc}",
        {"Retry-After": "1"},
        path="$",
        reason=str(exc),
    )


def success(traversal: Traversal, *, replayed: bool = False) -> Response:
    """200 ``{"traversalId", "dagHash"}``, marked ``Idempotent-Replayed`` for a replay."""
    body = (
        f'{{"traversalId":"{traversal.traversal_id}","dagHash":"{traversal.dag_hash}"}}'
    ).encode("ascii")
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return Response(body, 200, headers, media_type=JSON)


async def not_found(request: Request, exc: Exception) -> Response:
    """404/405: JSON under ``/_dev/``, the real server's plain text elsewhere."""
    if request.url.path.startswith("/_dev/"):  # the dev routes answer JSON, always
        reason = f"no dev route {request.method} {request.url.path[:100]!r}; see /_dev/"
        return error_response(404, "not found", path="$", reason=reason)
    return PlainTextResponse("Not found", 404)  # like the real server


async def internal_error(request: Request, exc: Exception) -> Response:
    """A bug: still a JSON answer (Starlette logs the traceback)."""
    message = f"waygrid.devserver.InternalError: {type(exc).__name__}"
    return error_response(500, message, path="$", reason="the dev server failed; see its log")


def replay(
    key: str, digest: bytes | None, stored_digest: bytes | None, found: Traversal
) -> Response:
    """A key seen before: its traversal again, or 409 when the body differs."""
    if digest != stored_digest:
        return error_response(
            409,
            f"Idempotency-Key {key!r} was already used for a different request body; "
            "use a new key for a new request",
        )
    return success(found, replayed=True)


def unauthorized() -> Response:
    """401 with the ``WWW-Authenticate`` challenge."""
    reason = "missing or wrong API key: send Authorization: Bearer <key>"
    return error_response(
        401,
        reason,
        {"WWW-Authenticate": 'Bearer realm="waygrid"'},
        path="Authorization",
        reason=reason,
    )


def too_large(limit: int) -> Response:
    """413 naming the limit."""
    reason = f"request body too large: the limit is {limit} bytes"
    return error_response(413, reason, path="$", reason=reason)
