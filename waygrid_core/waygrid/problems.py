"""The SDK's errors as HTTP problem documents (RFC 9457): one mapping for every web framework.

======================================================  ======  =============  ==========
error raised while handling a request                   status  ``type``       log level
======================================================  ======  =============  ==========
``SpecDecodeError`` (a spec read from the request)      422     invalid-spec   INFO
other ``SpecError`` (the app's own spec fails           500     invalid-spec   ERROR
validation, a payload JSON cannot hold),
``SpecRejectedError`` (the server rejected the spec)
``RateLimitError``, ``WaygridConnectionError`` (down,   503     unavailable    WARNING
timeout), ``ServerError`` 502/503/504 after retries
any other ``WaygridAPIError`` (500, 401/403, 409, ...)  502     upstream-error WARNING
======================================================  ======  =============  ==========

``waygrid_fastapi.install_error_handlers`` and ``waygrid_django.middleware`` answer with these.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from .errors import (
    RateLimitError,
    ServerError,
    SpecDecodeError,
    SpecError,
    SpecRejectedError,
    SpecValidationError,
    ValidationIssue,
    WaygridConnectionError,
    WaygridError,
    WaygridStatusError,
)

__all__ = ["MEDIA_TYPE", "Problem", "problem_for"]

MEDIA_TYPE = "application/problem+json"
"""The media type of a problem document."""


@dataclass(frozen=True, slots=True)
class Problem:
    """How to answer one SDK error over HTTP, and how loudly to log it."""

    status: int
    """The HTTP status: 422, 500, 502 or 503."""
    kind: str
    """``invalid-spec``, ``unavailable`` or ``upstream-error`` (the end of ``type``)."""
    title: str
    """A short, fixed summary."""
    detail: str
    """What happened. 5xx details never repeat the error's message, which names the server."""
    issues: tuple[ValidationIssue, ...] = ()
    """The spec's issues, when the error is about the spec."""
    retry_after: int | None = None
    """Seconds for a ``Retry-After`` header (503 only)."""
    log_level: int = logging.WARNING
    """The level to log the error at: ERROR for bugs in the app's own code."""

    @property
    def type(self) -> str:
        """The problem's ``type`` URI, e.g. ``urn:waygrid:problem:unavailable``."""
        return f"urn:waygrid:problem:{self.kind}"

    @property
    def headers(self) -> dict[str, str]:
        """The response headers besides the content type (``Retry-After`` on a 503)."""
        if self.retry_after is None:
            return {}
        return {"Retry-After": str(self.retry_after)}

    def log(self, logger: logging.Logger, exc: BaseException) -> None:
        """Log ``exc`` at this problem's level; a bug in the app's code with its traceback."""
        if self.log_level >= logging.ERROR:
            logger.error("Waygrid spec error in the app's own code: %s", exc, exc_info=exc)
        else:
            logger.log(self.log_level, "Waygrid request failed: %s", exc)

    def to_dict(self) -> dict[str, object]:
        """The body: ``type``, ``title``, ``status``, ``detail`` and ``issues``."""
        return {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "issues": [issue.to_dict() for issue in self.issues],
        }


_INVALID = "The workflow spec is not valid"


def problem_for(exc: WaygridError, *, retry_after: int = 5) -> Problem:
    """The problem document that answers ``exc``.

    Args:
        exc: An error the SDK raised while a request was handled.
        retry_after: ``Retry-After`` seconds for a 503 when Waygrid did not ask for a wait.

    Example:
        >>> from waygrid import WaygridConnectionError
        >>> problem_for(WaygridConnectionError("down")).status
        503
    """
    if isinstance(exc, SpecDecodeError):  # reading a spec from the request: the caller's input
        return Problem(
            422, "invalid-spec", _INVALID, str(exc), (exc.issue,), log_level=logging.INFO
        )
    if isinstance(exc, (SpecError, SpecRejectedError)):
        # The app built this spec (or payload): a bug on the server side, not in the request.
        issues: tuple[ValidationIssue, ...]
        if isinstance(exc, SpecRejectedError):
            detail = "The Waygrid server rejected the spec this service built."
            issues = exc.issues or (ValidationIssue("error", "server-rejected", "$", exc.reason),)
        elif isinstance(exc, SpecValidationError):
            detail, issues = "The spec this service built failed validation.", exc.issues
        else:  # a value that cannot be sent, such as a payload JSON cannot hold
            detail, issues = str(exc), ()
        return Problem(500, "invalid-spec", _INVALID, detail, issues, log_level=logging.ERROR)
    if isinstance(exc, (RateLimitError, WaygridConnectionError)) or (
        isinstance(exc, ServerError) and exc.status_code in (502, 503, 504)
    ):
        # The two errors that carry the server's Retry-After; a connection failure has none.
        asked = exc.retry_after if isinstance(exc, (RateLimitError, ServerError)) else None
        wait = retry_after
        if asked is not None and math.isfinite(asked):
            wait = math.ceil(asked)
        detail = "The workflow service is unavailable or overloaded; retry later."
        return Problem(
            503, "unavailable", "Waygrid is unavailable", detail, retry_after=max(0, wait)
        )
    status = exc.status_code if isinstance(exc, WaygridStatusError) else None
    detail = "The workflow service answered with an error" + (
        "." if status is None else f" (HTTP {status})."
    )
    return Problem(502, "upstream-error", "Waygrid request failed", detail)
