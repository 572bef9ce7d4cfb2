"""Reading the server's answers: results, error classes, echoes and secrets scrubbed."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from waygrid.errors import (
    AuthenticationError,
    RateLimitError,
    ServerError,
    SpecRejectedError,
    ValidationIssue,
    WaygridStatusError,
)

from ._answers import CAP_TEXT
from ._retry import RETRYABLE_STATUSES, parse_retry_after

__all__ = ["Redactor", "StatusFailure", "classify_status", "parse_success"]

_ECHO_MARKER = "Could not decode JSON:"
_REJECTED_PREFIXES = (
    "org.http4s.InvalidMessageBodyFailure",
    "org.http4s.MalformedMessageBodyFailure",
)
_COMPILER_ERROR = "RouteCompilerError"
_REDACTED = "[redacted]"
_SNIPPET_CHARS = 500


class Redactor:
    """Replaces secrets (the API key, credential headers) in text meant for people."""

    __slots__ = ("_secrets",)

    def __init__(self, secrets: Iterable[str]) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if secret:
                forms.add(secret)
                forms.add(json.dumps(secret)[1:-1])  # as a server would echo it inside JSON
        # Longest first, so that a secret containing another is replaced whole.
        self._secrets = tuple(sorted(forms, key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, _REDACTED)
        return text


def cut_echo(text: str) -> str:
    """Drop the request body that http4s echoes after ``Could not decode JSON:``.

    The echo is the whole request re-printed, payload included, so it must not end up in
    exception messages or logs. What precedes it (exception class and reason) is kept.
    """
    at = text.find(_ECHO_MARKER)
    return text if at < 0 else text[: at + len(_ECHO_MARKER) - 1]


def _snippet(text: str) -> str:
    text = text.strip()
    if len(text) > _SNIPPET_CHARS:
        return text[:_SNIPPET_CHARS] + "..."
    return text


def parse_success(content: bytes) -> tuple[str, str] | None:
    """``(traversal_id, dag_hash)`` from a 2xx body, or None when it is not the expected body."""
    try:
        data = json.loads(content)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    traversal_id = data.get("traversalId")
    dag_hash = data.get("dagHash")
    if not isinstance(traversal_id, str) or not traversal_id:
        return None
    if not isinstance(dag_hash, str) or not dag_hash:
        return None
    return traversal_id, dag_hash


@dataclass(frozen=True, slots=True)
class StatusFailure:
    """An error answer: the exception to raise, and whether to retry first."""

    error: WaygridStatusError
    retryable: bool
    retry_after: float | None
    """Seconds the server asked us to wait (``Retry-After``), when it said."""
    summary: str
    """A short description for log lines, e.g. ``503 Service Unavailable``."""


def _scrub_body(text: str, redact: Redactor) -> tuple[str, dict[str, Any] | None]:
    """The body with the request echo cut and secrets redacted, and its JSON object if it is one."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return redact(cut_echo(text)), None
    if not isinstance(parsed, dict):
        return redact(cut_echo(text)), None
    error = parsed.get("error")
    if isinstance(error, str) and _ECHO_MARKER in error:
        parsed["error"] = cut_echo(error)
        text = json.dumps(parsed, ensure_ascii=False, separators=(",", ":"))
    elif _ECHO_MARKER in text:  # an echo somewhere we did not expect: cut it the blunt way
        text = cut_echo(text)
    return redact(text), parsed


def _server_issues(parsed: dict[str, Any], redact: Redactor) -> tuple[ValidationIssue, ...]:
    """The dev server's ``issues`` list and ``detail`` object, as validation issues."""
    issues: list[ValidationIssue] = []
    raw_issues = parsed.get("issues")
    if isinstance(raw_issues, list):
        for item in raw_issues:
            if not isinstance(item, dict) or not isinstance(item.get("message"), str):
                continue
            severity = item.get("severity")
            code, path, hint = item.get("code"), item.get("path"), item.get("hint")
            issues.append(
                ValidationIssue(
                    severity="warning" if severity == "warning" else "error",
                    code=code if isinstance(code, str) and code else "server-rejected",
                    path=redact(path) if isinstance(path, str) and path else "$",
                    message=redact(item["message"]),
                    hint=redact(hint) if isinstance(hint, str) and hint else None,
                )
            )
    detail = parsed.get("detail")
    if isinstance(detail, dict) and isinstance(detail.get("reason"), str):
        path = detail.get("path")
        issue = ValidationIssue(
            severity="error",
            code="server-rejected",
            path=redact(path) if isinstance(path, str) and path else "$",
            message=redact(detail["reason"]),
        )
        if not any(i.path == issue.path and i.message == issue.message for i in issues):
            issues.insert(0, issue)
    return tuple(issues)


def classify_status(
    status: int,
    phrase: str,
    content: bytes,
    retry_after_header: str | None,
    *,
    url: str,
    idempotency_key: str,
    attempts: int,
    redact: Redactor,
    cut: bool = False,
) -> StatusFailure:
    """Map a non-2xx answer to the error class of the contract and decide whether to retry.

    401/403 -> `AuthenticationError`; a 500 whose JSON ``error`` names an http4s body failure or a
    ``RouteCompilerError`` -> `SpecRejectedError` (never retried; the only permanent failure, see
    `waygrid.errors.is_permanent`: the same text under another status is not recognisably
    Waygrid's); 429 -> `RateLimitError`;
    500/502/503/504 -> `ServerError`; 409 -> idempotency-key conflict; anything else ->
    `WaygridStatusError`. Only 429 and those 5xx are retryable. ``cut``: the body was longer than
    the client reads and ``content`` is its first part (said in the message, ``body_truncated``).
    """
    body, parsed = _scrub_body(content.decode("utf-8", errors="replace"), redact)
    error_text = parsed.get("error") if parsed is not None else None
    reason = redact(error_text) if isinstance(error_text, str) else None
    label = f"{status} {phrase}".strip()
    after = f" after {attempts} attempts" if attempts > 1 else ""
    retry_after = parse_retry_after(retry_after_header)
    shown = reason if reason is not None else _snippet(body)
    where = f"POST {url}"

    error: WaygridStatusError
    retryable = False
    if status in (401, 403):
        error = AuthenticationError(
            f"{where} was refused with {label}{after}: check the API key"
            + (f" ({shown})" if shown else ""),
            status_code=status,
            body=body,
        )
    elif reason is not None and status == 500 and _is_rejection(reason):
        issues = _server_issues(parsed or {}, redact)
        lines = "".join(f"\n  - {issue}" for issue in issues)
        error = SpecRejectedError(
            f"the server rejected the spec ({label}): {reason}{lines}",
            status_code=status,
            body=body,
            reason=reason,
            issues=issues,
        )
    elif status == 429:
        retryable = True
        wait = f"; it asked to retry after {retry_after:g} s" if retry_after is not None else ""
        error = RateLimitError(
            f"{where} was rate limited ({label}){after}{wait}",
            status_code=status,
            body=body,
            retry_after=retry_after,
        )
    elif status >= 500:
        retryable = status == 500 or status in RETRYABLE_STATUSES
        error = ServerError(
            f"{where} failed with {label}{after}" + (f": {shown}" if shown else ""),
            status_code=status,
            body=body,
            retry_after=retry_after,
        )
    elif status == 409:
        error = WaygridStatusError(
            f"{where} answered {label}: the Idempotency-Key {idempotency_key!r} was already used "
            "for a different request; use a new key for a new submit"
            + (f" ({shown})" if shown else ""),
            status_code=status,
            body=body,
        )
    elif status == 404:
        error = WaygridStatusError(
            f"{where} answered {label}: is base_url the address of a Waygrid server?"
            + (f" ({shown})" if shown else ""),
            status_code=status,
            body=body,
        )
    else:
        proxy = (
            ""
            if reason is not None
            else " (not a Waygrid error answer: a proxy or load balancer in between?)"
        )
        error = WaygridStatusError(
            f"{where} answered {label}{proxy}" + (f": {shown}" if shown else ""),
            status_code=status,
            body=body,
        )
    if cut:
        error.body_truncated = True
        error.args = (f"{error.args[0]} [response body cut at {CAP_TEXT}]",)
    return StatusFailure(error, retryable, retry_after, label)


def _is_rejection(error_text: str) -> bool:
    return error_text.startswith(_REJECTED_PREFIXES) or _COMPILER_ERROR in error_text
