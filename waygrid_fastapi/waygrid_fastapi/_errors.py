"""Exception handlers that answer the SDK's errors with ``application/problem+json`` responses."""

from __future__ import annotations

import logging
import math

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse

from waygrid import (
    RateLimitError,
    ServerError,
    SpecDecodeError,
    SpecError,
    SpecRejectedError,
    SpecValidationError,
    ValidationIssue,
    WaygridAPIError,
    WaygridConnectionError,
    WaygridError,
)

__all__ = ["install_error_handlers"]

logger = logging.getLogger("waygrid_fastapi")

_PROBLEM = "urn:waygrid:problem:"
_UNAVAILABLE_STATUSES = frozenset({502, 503, 504})


class ProblemResponse(JSONResponse):
    """A JSON response with the RFC 9457 media type."""

    media_type = "application/problem+json"


def install_error_handlers(app: Starlette, *, retry_after: int = 5) -> None:
    """Answer the SDK's errors with ``application/problem+json`` instead of a bare 500.

    ========================================================  ======  =====================
    error raised in a route                                   status  problem ``type``
    ========================================================  ======  =====================
    ``SpecError`` (SDK validation, decoding, bad payload)     422     ``...:invalid-spec``
    ``SpecRejectedError`` (the server rejected the spec)      422     ``...:invalid-spec``
    ``RateLimitError``, ``WaygridConnectionError`` (down,     503     ``...:unavailable``
    timeout), ``ServerError`` 502/503/504 after the retries
    any other ``WaygridAPIError`` (500, 401/403, 409, ...)    502     ``...:upstream-error``
    ========================================================  ======  =====================

    Every body has ``type``, ``title``, ``status``, ``detail`` and ``issues`` (a list of
    ``{severity, code, path, message, hint}``, empty unless the spec was rejected); 503s carry a
    ``Retry-After`` header. 5xx details never repeat the SDK's message (which names the Waygrid
    server's address); that goes to the ``waygrid_fastapi`` logger instead.

    Args:
        app: The application to install the handlers on.
        retry_after: ``Retry-After`` seconds for a 503 when Waygrid did not ask for a wait.
    """
    fallback = max(0, int(retry_after))

    async def handle(request: Request, exc: Exception) -> ProblemResponse:
        if not isinstance(exc, WaygridError):  # pragma: no cover - registered for ours only
            raise exc
        return _problem(exc, fallback)

    app.add_exception_handler(SpecError, handle)
    app.add_exception_handler(WaygridAPIError, handle)


def _problem(exc: WaygridError, fallback_retry_after: int) -> ProblemResponse:
    if isinstance(exc, (SpecError, SpecRejectedError)):
        issues = _issues(exc)
        logger.info("Waygrid spec rejected: %s", exc)
        return _respond(422, "invalid-spec", "The workflow spec is not valid", _detail(exc), issues)
    unavailable = isinstance(exc, (RateLimitError, WaygridConnectionError)) or (
        isinstance(exc, ServerError) and exc.status_code in _UNAVAILABLE_STATUSES
    )
    logger.warning("Waygrid request failed: %s", exc)
    if unavailable:
        seconds = _retry_after(exc, fallback_retry_after)
        return _respond(
            503,
            "unavailable",
            "Waygrid is unavailable",
            "The workflow service is unavailable or overloaded; retry later.",
            [],
            {"Retry-After": str(seconds)},
        )
    status = getattr(exc, "status_code", None)
    answered = f" (HTTP {status})" if isinstance(status, int) else ""
    return _respond(
        502,
        "upstream-error",
        "Waygrid request failed",
        f"The workflow service answered with an error{answered}.",
        [],
    )


def _respond(
    status: int,
    kind: str,
    title: str,
    detail: str,
    issues: list[dict[str, str | None]],
    headers: dict[str, str] | None = None,
) -> ProblemResponse:
    body = {
        "type": _PROBLEM + kind,
        "title": title,
        "status": status,
        "detail": detail,
        "issues": issues,
    }
    return ProblemResponse(body, status_code=status, headers=headers)


def _issues(exc: WaygridError) -> list[dict[str, str | None]]:
    found: tuple[ValidationIssue, ...] = ()
    if isinstance(exc, (SpecValidationError, SpecRejectedError)):
        found = exc.issues
    elif isinstance(exc, SpecDecodeError):
        found = (ValidationIssue("error", "decode-error", exc.path, exc.reason),)
    if not found and isinstance(exc, SpecRejectedError):
        found = (ValidationIssue("error", "server-rejected", "$", exc.reason),)
    return [
        {
            "severity": i.severity,
            "code": i.code,
            "path": i.path,
            "message": i.message,
            "hint": i.hint,
        }
        for i in found
    ]


def _detail(exc: WaygridError) -> str:
    if isinstance(exc, SpecRejectedError):
        return "The Waygrid server rejected the spec."
    if isinstance(exc, (SpecValidationError, SpecDecodeError)):
        return "The spec failed validation before it was sent."
    return str(exc)


def _retry_after(exc: WaygridError, fallback: int) -> int:
    # RateLimitError has retry_after; other errors may carry it too (a 503's Retry-After).
    asked = getattr(exc, "retry_after", None)
    if isinstance(asked, (int, float)) and math.isfinite(asked) and asked >= 0:
        return math.ceil(asked)
    return fallback
