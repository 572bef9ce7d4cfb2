"""Exception handlers that answer the SDK's errors with ``application/problem+json`` responses."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse

from waygrid import SpecError, WaygridAPIError, WaygridError
from waygrid.problems import MEDIA_TYPE, problem_for

__all__ = ["install_error_handlers"]

logger = logging.getLogger("waygrid_fastapi")


class _ProblemResponse(JSONResponse):
    media_type = MEDIA_TYPE


def install_error_handlers(app: Starlette, *, retry_after: int = 5) -> None:
    """Answer the SDK's errors with ``application/problem+json`` instead of a bare 500.

    The answers and log levels are the core's (`waygrid.problems`): 422 for a spec read from
    the request (``SpecDecodeError``); 500, logged at ERROR, when the app's own spec or payload
    is invalid or the server rejected it; 503 with ``Retry-After`` when Waygrid is down,
    overloaded or slow (``RateLimitError``, ``WaygridConnectionError``, ``ServerError``
    502/503/504 after retries); 502 for any other ``WaygridAPIError``.

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
    problem = problem_for(exc, retry_after=fallback_retry_after)
    problem.log(logger, exc)
    return _ProblemResponse(problem.to_dict(), status_code=problem.status, headers=problem.headers)
