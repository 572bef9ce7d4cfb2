"""`ClientConfig`: every option of a `WaygridClient`, with its default and its checks, in one place.

The FastAPI settings, the Django settings and the ``waygrid submit`` command each map their own
names onto this one value, so a default or a rule is written here only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Final

import httpx

from ._config import (
    check_api_key,
    check_base_url,
    check_deadline,
    check_retries,
    check_seconds,
    default_headers,
    read_env,
    redact_url,
)

__all__ = [
    "DEFAULT_BACKOFF_BASE",
    "DEFAULT_BACKOFF_CAP",
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_RETRY_AFTER_CAP",
    "DEFAULT_TIMEOUT",
    "ClientConfig",
]

DEFAULT_TIMEOUT: Final = httpx.Timeout(30.0, connect=10.0)
"""10 s to connect, 30 s for each of write, read and waiting for a pooled connection."""
DEFAULT_LIMITS: Final = httpx.Limits(max_connections=100, max_keepalive_connections=20)
"""Room for 100 requests in flight; 20 idle connections kept for reuse (httpx's defaults)."""
DEFAULT_MAX_RETRIES: Final = 3
"""Retries after the first attempt."""
DEFAULT_BACKOFF_BASE: Final = 0.5
"""Seconds of the first backoff step; each retry doubles it."""
DEFAULT_BACKOFF_CAP: Final = 8.0
"""Longest backoff step, in seconds."""
DEFAULT_RETRY_AFTER_CAP: Final = 60.0
"""Longest wait, in seconds, that a ``Retry-After`` header can impose."""

_NO_HEADERS: Final[Mapping[str, str]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Every option of a `WaygridClient`, checked when the value is built.

    Building one opens no connection; ``WaygridClient.from_config(config)`` makes a client of
    it. Use `dataclasses.replace` to derive a changed copy (it is checked again). The repr shows
    neither the API key nor credentials in the base URL.

    Example:
        >>> config = ClientConfig("http://127.0.0.1:1337", timeout=2)
        >>> config.max_retries, config.effective_attempt_timeout
        (3, 4.0)

    Raises:
        ValueError: An option is malformed (the message never repeats the API key).
    """

    base_url: str
    """The server's address, e.g. ``"https://api.waygrid.io"``; a path prefix
    (``"https://gw.example.com/waygrid/"``) is kept and ``/v1/ingest`` appended."""
    api_key: str | None = field(default=None, repr=False)
    """Sent as ``Authorization: Bearer <api_key>``; None sends no credentials."""
    timeout: float | httpx.Timeout | None = field(default_factory=lambda: DEFAULT_TIMEOUT)
    """Seconds for every phase of a request, an ``httpx.Timeout`` for each phase separately, or
    None for no timeout. Defaults to 10 s to connect and 30 s for the rest."""
    max_retries: int = DEFAULT_MAX_RETRIES
    """Retries after the first attempt (0 disables retrying)."""
    retry_read_timeouts: bool = False
    """Also retry when the server accepted the request but did not answer in time."""
    backoff_base: float = DEFAULT_BACKOFF_BASE
    """Seconds of the first backoff step; each retry doubles it."""
    backoff_cap: float = DEFAULT_BACKOFF_CAP
    """Longest backoff step, in seconds."""
    retry_after_cap: float = DEFAULT_RETRY_AFTER_CAP
    """Longest wait, in seconds, that a ``Retry-After`` header can impose."""
    attempt_timeout: float | None = None
    """The most seconds one attempt may take as a whole; None derives it from ``timeout`` (see
    `effective_attempt_timeout`)."""
    deadline: float | None = None
    """The most seconds one ``submit()`` may take in total; None for no total deadline."""
    headers: Mapping[str, str] = field(default_factory=lambda: _NO_HEADERS)
    """Extra headers for every request (they may replace ``User-Agent``); stored read-only."""
    limits: httpx.Limits = field(default_factory=lambda: DEFAULT_LIMITS)
    """Connection pool limits; the default allows 100 requests in flight."""

    def __post_init__(self) -> None:
        check_base_url(self.base_url)
        check_api_key(self.api_key)
        check_retries("max_retries", self.max_retries)
        timeout = self.timeout
        if timeout is not None and not isinstance(timeout, httpx.Timeout):
            timeout = check_seconds("timeout", timeout)
        if not isinstance(self.limits, httpx.Limits):
            raise ValueError(f"limits must be an httpx.Limits, got {type(self.limits).__name__}")
        headers = self.headers
        default_headers(self.api_key, headers)  # checks every name and value
        values: dict[str, Any] = {
            "timeout": timeout,
            "retry_read_timeouts": bool(self.retry_read_timeouts),
            "backoff_base": check_seconds("backoff_base", self.backoff_base),
            "backoff_cap": check_seconds("backoff_cap", self.backoff_cap),
            "retry_after_cap": check_seconds("retry_after_cap", self.retry_after_cap),
            "attempt_timeout": check_deadline("attempt_timeout", self.attempt_timeout),
            "deadline": check_deadline("deadline", self.deadline),
            "headers": _NO_HEADERS if not headers else MappingProxyType(dict(headers)),
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        key = "'***'" if self.api_key else "None"
        return (
            f"ClientConfig(base_url={redact_url(self.base_url)!r}, api_key={key}, "
            f"timeout={self.timeout!r}, max_retries={self.max_retries!r}, "
            f"attempt_timeout={self.attempt_timeout!r}, deadline={self.deadline!r})"
        )

    @property
    def http_timeout(self) -> httpx.Timeout:
        """``timeout`` as the ``httpx.Timeout`` the connection pool is given."""
        timeout = self.timeout
        return timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)

    @property
    def effective_attempt_timeout(self) -> float | None:
        """``attempt_timeout``, or when None the connect plus the read timeout.

        40 s with the default timeout, 4 s with ``timeout=2``; None (no attempt deadline) when
        ``attempt_timeout`` is None and ``timeout`` has no read timeout.
        """
        if self.attempt_timeout is not None:
            return self.attempt_timeout
        timeout = self.http_timeout
        if timeout.read is None:
            return None
        return timeout.read + (timeout.connect or 0.0)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **options: Any) -> ClientConfig:
        """A configuration read from environment variables, the one place the SDK reads them.

        Reads ``WAYGRID_BASE_URL`` (required), ``WAYGRID_API_KEY`` (optional; empty means none),
        ``WAYGRID_TIMEOUT`` (seconds for every phase, optional) and ``WAYGRID_MAX_RETRIES``
        (optional); unset variables keep the defaults. ``options`` (any other field, or
        ``timeout`` / ``max_retries`` given as not None) win over the variables.

        Args:
            environ: Where to read the variables; ``os.environ`` by default.
            **options: Fields of `ClientConfig` that override the variables.

        Raises:
            WaygridError: A variable is missing or malformed; the message names it.
            ValueError: An option is malformed.
        """
        base_url, api_key, timeout, max_retries = read_env(
            os.environ if environ is None else environ
        )
        config = cls(base_url, api_key)
        if timeout is not None:
            config = replace(config, timeout=timeout)
        if max_retries is not None:
            config = replace(config, max_retries=max_retries)
        given = {name: value for name, value in options.items() if value is not None}
        return replace(config, **given) if given else config
