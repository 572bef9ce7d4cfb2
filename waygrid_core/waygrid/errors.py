"""The exceptions the Waygrid SDK raises, and the validation issue they carry.

Every error the SDK raises is a ``WaygridError``; nothing from httpx or json reaches the caller::

    WaygridError
    ├── SpecError (also a ValueError)           a spec that cannot be built, read or sent
    │   ├── SpecDecodeError                     JSON that is not a valid spec (.path)
    │   └── SpecValidationError                 a graph the server's compiler rejects (.issues)
    └── WaygridAPIError                         talking to the Waygrid server failed
        ├── WaygridConnectionError              no answer (refused, reset, DNS, ...)
        │   └── WaygridTimeoutError             no answer in time
        └── WaygridStatusError                  an answer with an error status (.status_code, .body)
            ├── SpecRejectedError               the server rejected the spec (never retried)
            ├── AuthenticationError             401 / 403
            ├── RateLimitError                  429 (.retry_after)
            └── ServerError                     5xx that is not a rejected spec

Worth sending again later? `is_permanent` (or `WaygridAPIError.retryable`) answers that for
callers that keep work to resend, such as an outbox: only a spec or payload that cannot be sent
(`SpecError`) and a recognisable Waygrid rejection of the spec (`SpecRejectedError`) are
permanent. Everything else, including a proxy's 404/400/421, a 401/403 and a timeout, may succeed
on a later attempt.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "AuthenticationError",
    "RateLimitError",
    "ServerError",
    "SpecDecodeError",
    "SpecError",
    "SpecRejectedError",
    "SpecValidationError",
    "ValidationIssue",
    "WaygridAPIError",
    "WaygridConnectionError",
    "WaygridError",
    "WaygridStatusError",
    "WaygridTimeoutError",
    "is_permanent",
]

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    """One finding of `Spec.validate()`: what is wrong, where, and what to do."""

    severity: Severity
    """``"error"`` (the server would reject the spec) or ``"warning"`` (accepted, likely wrong)."""
    code: str
    """A stable, kebab-case identifier such as ``"fork-without-join"``."""
    path: str
    """Where in the spec, as a JSON path: ``$.entryPoints[0].onSuccess``."""
    message: str
    """What is wrong, in one sentence."""
    hint: str | None = None
    """What to do about it, when there is something to say."""

    def to_dict(self) -> dict[str, str | None]:
        """The issue as JSON: ``severity``, ``code``, ``path``, ``message``, ``hint``."""
        return {
            "severity": self.severity,
            "code": self.code,
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
        }

    def __str__(self) -> str:
        text = f"{self.severity} [{self.code}] at {self.path}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text


class WaygridError(Exception):
    """Base class of every error the Waygrid SDK raises."""


class SpecError(WaygridError, ValueError):
    """A spec, or a part of one, is not valid."""


class SpecDecodeError(SpecError):
    """A JSON document (or dict) is not a spec the server would decode.

    Attributes:
        path: JSON path of the offending value, e.g. ``$.entryPoints[0].retryPolicy.base``.
        reason: What was expected there.
        stage: ``"json"`` when the text is not JSON at all, else ``"decode"``.
    """

    def __init__(
        self,
        path: str,
        reason: str,
        *,
        stage: Literal["json", "decode"] = "decode",
    ) -> None:
        self.path = path
        self.reason = reason
        self.stage = stage
        super().__init__(f"{path}: {reason}")

    @property
    def issue(self) -> ValidationIssue:
        """This error as a validation issue, code ``"decode"``, as every command and adapter
        reports it (``waygrid validate``, the 422 problem documents)."""
        return ValidationIssue("error", "decode", self.path, self.reason)


class SpecValidationError(SpecError):
    """The spec decodes, but the server's compiler (or strict validation) rejects it.

    Attributes:
        issues: Every issue found, errors first.
        server_error: The error text today's server answers for this spec
            (``com.monadial.waygrid...RouteCompilerError: ...``), when the server would reject it.
    """

    def __init__(
        self, issues: Iterable[ValidationIssue], *, server_error: str | None = None
    ) -> None:
        self.server_error = server_error
        self.issues: tuple[ValidationIssue, ...] = tuple(
            sorted(issues, key=lambda i: i.severity != "error")
        )
        count = len(self.issues)
        lines = "\n".join(f"  - {issue}" for issue in self.issues)
        noun = "issue" if count == 1 else "issues"
        super().__init__(f"spec is not valid ({count} {noun}):\n{lines}")

    @property
    def errors(self) -> tuple[ValidationIssue, ...]:
        """The error-severity issues only."""
        return tuple(i for i in self.issues if i.severity == "error")


class WaygridAPIError(WaygridError):
    """Talking to the Waygrid server failed.

    Attributes:
        retryable: Whether sending the same submit again *later* (from an outbox, a queue, a
            user's retry button) may succeed. False only for `SpecRejectedError`, a recognisable
            Waygrid rejection of the spec. This is independent of the client's own retry loop,
            which follows the HTTP contract: it retries 429, 5xx and safe network failures, but
            not, for example, a proxy's 404, 400 or 421 (those are ``retryable`` here, since an
            ingress without a ready backend answers them during a rollout), nor a 401/403
            (``retryable`` too: credentials are configuration, fixed without changing the
            submit, and a proxy's auth layer can refuse as well).
    """

    retryable: bool = True


class WaygridConnectionError(WaygridAPIError):
    """The server could not be reached, or the connection broke before an answer."""


class WaygridTimeoutError(WaygridConnectionError):
    """The server did not answer in time.

    Attributes:
        deadline: Which limit ran out: ``"attempt"`` (one attempt's overall deadline, the
            client's ``attempt_timeout``), ``"total"`` (the deadline of the whole submit across
            its attempts and backoff waits), or None (one of httpx's per-phase timeouts:
            connect, write, read, pool).
    """

    def __init__(
        self, message: str, *, deadline: Literal["attempt", "total"] | None = None
    ) -> None:
        self.deadline = deadline
        super().__init__(message)


class WaygridStatusError(WaygridAPIError):
    """The server answered with an error status.

    Attributes:
        status_code: The HTTP status.
        body: The response body as text (request echoes the server adds are removed), at most
            the first MiB the client reads of it.
        body_truncated: Whether the body was longer than the client reads (1 MiB) and was cut.
    """

    body_truncated: bool = False

    def __init__(self, message: str, *, status_code: int, body: str) -> None:
        self.status_code = status_code
        self.body = body
        super().__init__(message)


class SpecRejectedError(WaygridStatusError):
    """The server rejected the spec: it does not decode or does not compile. Never retried.

    Attributes:
        reason: The server's exception class and reason, without the echoed request body.
        issues: Path-specific issues when the server gave them (the dev server does), else ().
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: str,
        reason: str,
        issues: Iterable[ValidationIssue] = (),
    ) -> None:
        self.reason = reason
        self.issues: tuple[ValidationIssue, ...] = tuple(issues)
        super().__init__(message, status_code=status_code, body=body)

    retryable: bool = False


class AuthenticationError(WaygridStatusError):
    """The server refused the credentials (401 or 403)."""


class RateLimitError(WaygridStatusError):
    """The server asked us to slow down (429) and the retries ran out.

    Attributes:
        retry_after: Seconds the server asked to wait, when it said.
    """

    def __init__(
        self, message: str, *, status_code: int, body: str, retry_after: float | None
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, status_code=status_code, body=body)


class ServerError(WaygridStatusError):
    """The server failed (5xx) for a reason other than the spec, and the retries ran out.

    Attributes:
        retry_after: Seconds the server asked to wait (``Retry-After``), when it said.
    """

    def __init__(
        self, message: str, *, status_code: int, body: str, retry_after: float | None = None
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, status_code=status_code, body=body)


def is_permanent(error: BaseException) -> bool:
    """Whether sending the same thing again can never succeed, so there is no point retrying.

    True for a `SpecError` (a spec or payload that cannot be sent at all) and for a
    `WaygridAPIError` whose ``retryable`` is False (`SpecRejectedError`: the server's 500 with a
    decode or compiler error, contract §6). False for every other Waygrid error: timeouts,
    connection failures, 5xx, 429, 401/403, a 2xx without the expected body, and any other
    status, such as the 404, 400 or 421 a proxy or ingress answers when it has no ready backend.
    False too for exceptions that are not Waygrid errors (the caller knows better).

    Example:
        >>> from waygrid.errors import SpecRejectedError, WaygridStatusError, is_permanent
        >>> is_permanent(WaygridStatusError("421 from a proxy", status_code=421, body=""))
        False
        >>> is_permanent(SpecRejectedError("rejected", status_code=500, body="", reason="x"))
        True
    """
    if isinstance(error, SpecError):
        return True
    return isinstance(error, WaygridAPIError) and not error.retryable
