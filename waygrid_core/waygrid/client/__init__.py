"""The async HTTP client that submits specs to a Waygrid server."""

from __future__ import annotations

from ._config import redact_url
from .client import DEFAULT_LIMITS, DEFAULT_TIMEOUT, MAX_RESPONSE_BYTES, WaygridClient
from .result import JsonPayload, SubmitResult

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_TIMEOUT",
    "MAX_RESPONSE_BYTES",
    "JsonPayload",
    "SubmitResult",
    "WaygridClient",
    "redact_url",
]
