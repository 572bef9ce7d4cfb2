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


class _ProblemResponse(JSONResponse):
    media_type = "application/problem+json"


def install_error_handlers(app: Starlette, *, retry_after: int = 5) -> None:
    """Answer the SDK's errors with ``application/problem+json`` instead of a bare 500.

    ======================================================  ======  ===========================
    error raised in a route                                 status  ``type``
    ======================================================  ======  ===========================
    ``SpecDecodeError`` (a spec read from the request)      422     ``urn:waygrid:problem:``
    other ``SpecError`` (the app's spec fails validation,   500     ``invalid-spec``
    a payload JSON cannot hold), ``SpecRejectedError``
    (the server rejected the app's spec); logged at ERROR
    ``RateLimitError``, ``WaygridConnectionError`` (down,   503     ``...:unavailable``
    timeout), ``ServerError`` 502/503/504 after retries
    any other ``WaygridAPIError`` (500, 401/403, 409, ...)  502     ``...:upstream-error``
    ======================================================  ======  ===========================

    Every body has ``type``, ``title``, ``status``, ``detail`` and ``issues`` (the spec's issues
    as ``{severity, code, path, message, hint}``, else empty); a 503 has a ``Retry-After``
    header. 5xx details never repeat the SDK's message, which names the Waygrid server's
    address: that goes to the ``waygrid_fastapi`` logger.

    Args:
        app: The application to install the handlers on.
        retry_after: ``Retry-After`` seconds for a 503 when Waygrid did not ask for a wait.
    """

    async def handle(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, WaygridError):  # pragma: no cover - registered for ours only
            raise exc
        return _problem(exc, retry_after)

    app.add_exception_handler(SpecError, handle)
    app.add_exception_handler(WaygridAPIError, handle)


def _problem(exc: WaygridError, fallback_retry_after: int) -> JSONResponse:
    if isinstance(exc, SpecDecodeError):  # reading a spec from the request: the caller's input
        logger.info("Waygrid spec could not be read: %s", exc)
        issues = (ValidationIssue("error", "decode", exc.path, exc.reason),)
        return _respond(422, "invalid-spec", "The workflow spec is not valid", str(exc), issues)
    if isinstance(exc, (SpecError, SpecRejectedError)):
        # The app built this spec (or payload): a bug on the server side, not in the request.
        if isinstance(exc, SpecRejectedError):
            detail = "The Waygrid server rejected the spec this service built."
            issues = exc.issues or (ValidationIssue("error", "server-rejected", "$", exc.reason),)
        elif isinstance(exc, SpecValidationError):
            detail, issues = "The spec this service built failed validation.", exc.issues
        else:  # a value that cannot be sent, such as a payload JSON cannot hold
            detail, issues = str(exc), ()
        logger.error("Waygrid spec error in the app's own code: %s", exc, exc_info=exc)
        return _respond(500, "invalid-spec", "The workflow spec is not valid", detail, issues)
    logger.warning("Waygrid request failed: %s", exc)
    if isinstance(exc, (RateLimitError, WaygridConnectionError)) or (
        isinstance(exc, ServerError) and exc.status_code in (502, 503, 504)
    ):
        # RateLimitError has retry_after; other errors may carry one in later SDK versions.
        asked = getattr(exc, "retry_after", None)
        wait = fallback_retry_after
        if isinstance(asked, (int, float)) and math.isfinite(asked):
            wait = math.ceil(asked)
        detail = "The workflow service is unavailable or overloaded; retry later."
        return _respond(503, "unavailable", "Waygrid is unavailable", detail, (), wait)
    status = getattr(exc, "status_code", None)
    detail = "The workflow service answered with an error" + (
        f" (HTTP {status})." if isinstance(status, int) else "."
    )
    return _respond(502, "upstream-error", "Waygrid request failed", detail, ())


def _respond(
    status: int,
    kind: str,
    title: str,
    detail: str,
    issues: tuple[ValidationIssue, ...],
    retry_after: int | None = None,
) -> JSONResponse:
    body = {
        "type": f"urn:waygrid:problem:{kind}",
        "title": title,
        "status": status,
        "detail": detail,
        "issues": [issue.to_dict() for issue in issues],
    }
    headers = None if retry_after is None else {"Retry-After": str(max(0, retry_after))}
    return _ProblemResponse(body, status_code=status, headers=headers)
