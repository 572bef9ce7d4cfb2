"""Checking the client's arguments and reading its environment variables."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import httpx

from waygrid._version import __version__
from waygrid.errors import WaygridError

__all__ = [
    "check_api_key",
    "check_base_url",
    "check_deadline",
    "check_idempotency_key",
    "check_retries",
    "check_seconds",
    "default_headers",
    "read_env",
    "redact_url",
]

_INGEST_PATH = "/v1/ingest"
_HEADER_TOKEN = re.compile(r"[\x21-\x7e]+")
_HEADER_VALUE = re.compile(r"[\x20-\x7e\t]*")
# Scheme and "//" (optional), then the userinfo: everything up to the last "@" of the authority.
_USERINFO = re.compile(r"^(\s*(?:[A-Za-z][A-Za-z0-9+.\-]*:)?//)?[^/?#]*@")
_SENSITIVE_HEADER = re.compile(r"auth|key|token|secret|cookie|session|passw", re.IGNORECASE)


def redact_url(url: object) -> str:
    """``url`` as text without its userinfo (``user:password@``), for reprs, logs and messages.

    Works on any text, valid URL or not, and never raises: ``https://user:pw@host/x`` becomes
    ``https://host/x``, ``user:pw@host:1337`` becomes ``host:1337``, and anything without userinfo
    is returned unchanged (None gives ``'None'``). The authority ends at the first ``/``, ``?``
    or ``#`` (RFC 3986, as httpx and browsers read it). The client shows its URL this way
    everywhere.

    Example:
        >>> redact_url("https://bot:hunter2@gw.example.com/waygrid/")
        'https://gw.example.com/waygrid/'
    """
    text = url if isinstance(url, str) else str(url)
    return _USERINFO.sub(lambda match: match.group(1) or "", text, count=1)


def check_base_url(base_url: str) -> tuple[httpx.URL, str]:
    """The ingest URL for ``base_url``, and how to show it (without credentials)."""
    hint = "base_url must be an absolute http:// or https:// URL, e.g. 'https://api.waygrid.io'"
    if not isinstance(base_url, str):
        raise ValueError(f"{hint}, got {type(base_url).__name__}")
    try:
        url = httpx.URL(base_url.strip())
    except (httpx.InvalidURL, TypeError, ValueError):
        raise ValueError(hint) from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(hint)
    if url.query or url.fragment:
        raise ValueError("base_url must not have a query string or fragment")
    ingest = url.copy_with(path=url.path.rstrip("/") + _INGEST_PATH)
    return ingest, redact_url(str(ingest))


def check_api_key(api_key: str | None) -> None:
    """Refuse keys that cannot travel in a header, without ever repeating the key."""
    if api_key is None:
        return
    if not isinstance(api_key, str):
        raise ValueError(f"api_key must be a str or None, got {type(api_key).__name__}")
    if not _HEADER_TOKEN.fullmatch(api_key):
        raise ValueError(
            "api_key must be non-empty printable ASCII without spaces (pass None for no key)"
        )


def check_seconds(option: str, seconds: float) -> float:
    """A finite, non-negative number of seconds, as a float."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise ValueError(f"{option} must be a number of seconds, got {seconds!r}")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{option} must be finite and >= 0, got {seconds!r}")
    return float(seconds)


def check_deadline(option: str, seconds: float | None) -> float | None:
    """None (no deadline) or a finite number of seconds > 0, as a float."""
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise ValueError(f"{option} must be a number of seconds or None, got {seconds!r}")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{option} must be finite and > 0 (or None), got {seconds!r}")
    return float(seconds)


def check_retries(option: str, retries: int) -> int:
    """An int >= 0."""
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"{option} must be an int >= 0, got {retries!r}")
    return retries


def check_idempotency_key(key: str) -> str:
    """A caller's ``Idempotency-Key``: 1-255 printable ASCII characters, no spaces."""
    if isinstance(key, str) and len(key) <= 255 and _HEADER_TOKEN.fullmatch(key):
        return key
    raise ValueError("idempotency_key must be 1-255 printable ASCII characters, no spaces")


def default_headers(
    api_key: str | None, headers: Mapping[str, str] | None
) -> tuple[httpx.Headers, list[str]]:
    """The headers of every request, and the values among them that are secrets.

    The caller's headers may replace ``User-Agent``, ``Accept`` and ``Accept-Encoding``;
    ``Content-Type`` and, when a key is given, ``Authorization`` are always ours. Values of
    headers whose names suggest credentials (``X-Api-Key``, ``Cookie``, ...) are treated as
    secrets like the API key.
    """
    secrets: list[str] = [api_key] if api_key else []
    merged = {
        "User-Agent": f"waygrid-python/{__version__}",
        "Accept": "application/json",
        # Uncompressed answers only, so that the 1 MiB read cap bounds memory too (a compressed
        # chunk is inflated whole before the cap can cut it).
        "Accept-Encoding": "identity",
    }
    for name, value in (headers or {}).items():
        if not isinstance(name, str) or not _HEADER_TOKEN.fullmatch(name) or ":" in name:
            raise ValueError(f"headers: {name!r} is not a valid header name")
        if not isinstance(value, str) or not _HEADER_VALUE.fullmatch(value):
            raise ValueError(f"headers: the value of {name!r} is not a valid header value")
        if _SENSITIVE_HEADER.search(name):
            secrets.append(value)
        merged[name] = value
    merged["Content-Type"] = "application/json"
    if api_key:
        merged["Authorization"] = f"Bearer {api_key}"
    return httpx.Headers(merged), secrets


def read_env(env: Mapping[str, str]) -> tuple[str, str | None, float | None, int | None]:
    """``WAYGRID_BASE_URL``, ``WAYGRID_API_KEY``, ``WAYGRID_TIMEOUT``, ``WAYGRID_MAX_RETRIES``.

    Raises:
        WaygridError: naming the variable that is missing or malformed.
    """
    base_url = env.get("WAYGRID_BASE_URL", "").strip()
    if not base_url:
        raise WaygridError(
            "WAYGRID_BASE_URL is not set: set it to the Waygrid server's address, "
            "e.g. WAYGRID_BASE_URL=http://127.0.0.1:1337"
        )
    try:
        check_base_url(base_url)
    except ValueError as exc:
        raise WaygridError(f"WAYGRID_BASE_URL: {exc}") from None
    api_key = env.get("WAYGRID_API_KEY", "").strip() or None
    try:
        check_api_key(api_key)
    except ValueError as exc:
        raise WaygridError(f"WAYGRID_API_KEY: {exc}") from None
    timeout: float | None = None
    raw_timeout = env.get("WAYGRID_TIMEOUT", "").strip()
    if raw_timeout:
        try:
            timeout = float(raw_timeout)
        except ValueError:
            timeout = math.nan
        if not math.isfinite(timeout) or timeout <= 0:
            raise WaygridError(
                f"WAYGRID_TIMEOUT must be a positive number of seconds, got {raw_timeout!r}"
            )
    max_retries: int | None = None
    raw_retries = env.get("WAYGRID_MAX_RETRIES", "").strip()
    if raw_retries:
        if not (raw_retries.isascii() and raw_retries.isdigit()):
            raise WaygridError(f"WAYGRID_MAX_RETRIES must be an int >= 0, got {raw_retries!r}")
        max_retries = int(raw_retries)
    return base_url, api_key, timeout, max_retries
