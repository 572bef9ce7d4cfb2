"""The async HTTP client that submits specs to a Waygrid server."""

from __future__ import annotations

from ._config import redact_url
from .client import MAX_RESPONSE_BYTES, WaygridClient
from .config import (
    DEFAULT_BACKOFF_BASE,
    DEFAULT_BACKOFF_CAP,
    DEFAULT_LIMITS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_RETRY_AFTER_CAP,
    DEFAULT_TIMEOUT,
    ClientConfig,
)
from .result import JsonPayload, SubmitResult

__all__ = [
    "DEFAULT_BACKOFF_BASE",
    "DEFAULT_BACKOFF_CAP",
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_RETRY_AFTER_CAP",
    "DEFAULT_TIMEOUT",
    "MAX_RESPONSE_BYTES",
    "ClientConfig",
    "JsonPayload",
    "SubmitResult",
    "WaygridClient",
    "redact_url",
]
