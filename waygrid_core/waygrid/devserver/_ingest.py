"""What ``POST /v1/ingest`` does with a body: the server's envelope, decoding, compiling, errors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .._codec import InfiniteDurationDecodeError, decode_spec
from .._json import loads_strict
from ..dag import compile_spec
from ..errors import SpecDecodeError, SpecValidationError, ValidationIssue
from ._circe import spaces2
from ._dumps import dumps

__all__ = [
    "INFINITE_DURATION",
    "INVALID_BODY",
    "MALFORMED_BODY",
    "Accepted",
    "Rejected",
    "ingest",
]

MALFORMED_BODY = "org.http4s.MalformedMessageBodyFailure: Malformed message body: Invalid JSON"
"""The server's error for a body that is not JSON (or has duplicate keys)."""
INVALID_BODY = "org.http4s.InvalidMessageBodyFailure: Invalid message body: Could not decode JSON: "
"""The server's error for JSON that is not ``{"graph": <spec>}``; the request is echoed after it."""
INFINITE_DURATION = "java.lang.IllegalArgumentException: length not allowed on infinite Durations"
"""The server's error for an infinite duration such as ``"Inf"``."""


@dataclass(frozen=True, slots=True)
class Accepted:
    """The body decodes and compiles: the server would start a traversal."""

    dag_hash: str
    """The compiled DAG's hash."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """The server would answer 500 with ``error``; the rest explains it for people."""

    error: str
    """The server's exception text."""
    path: str
    """Where the problem is, relative to the spec (``$`` for the body or envelope)."""
    reason: str
    """What is wrong there."""
    issues: tuple[ValidationIssue, ...] = ()
    """The compiler's findings, when the spec decoded but does not compile."""

    def body(self) -> bytes:
        """The JSON answer: ``{"error": ..., "detail": {"path", "reason"}, "issues": [...]}``."""
        document: dict[str, Any] = {
            "error": self.error,
            "detail": {"path": self.path, "reason": self.reason},
        }
        if self.issues:
            document["issues"] = [issue.to_dict() for issue in self.issues]
        return dumps(document)


def _type_name(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return "a number"


def ingest(body: bytes, *, json_conditions: bool) -> tuple[Accepted | Rejected, Any]:
    """Judge a request body as the server does, returning the verdict and the parsed document.

    Args:
        body: The raw request body.
        json_conditions: Accept ``JsonExists``/``JsonEquals`` conditions (the server does not).
    """
    if not body:
        return Rejected(MALFORMED_BODY + ": empty body", "$", "the request body is empty"), None
    try:
        document = loads_strict(body)
    except SpecDecodeError as exc:
        return Rejected(MALFORMED_BODY, "$", exc.reason), None
    if not isinstance(document, dict):
        reason = f'expected a JSON object {{"graph": <spec>}}, got {_type_name(document)}'
        return Rejected(spaces2(document, prefix=INVALID_BODY), "$", reason), document
    graph = document.get("graph")
    if graph is None:
        reason = "missing required field 'graph': the body must be {\"graph\": <spec>}"
        return Rejected(spaces2(document, prefix=INVALID_BODY), "$", reason), document
    try:
        spec = decode_spec(graph, mode="server", json_conditions=json_conditions)
    except InfiniteDurationDecodeError as exc:
        return Rejected(INFINITE_DURATION, exc.path, exc.reason), document
    except SpecDecodeError as exc:
        return Rejected(spaces2(document, prefix=INVALID_BODY), exc.path, exc.reason), document
    try:
        dag = compile_spec(spec)
    except SpecValidationError as exc:
        # Read like the server, every fork and join has a join id: only compiler errors remain,
        # and those always come with the server's text and at least one issue.
        error = exc.server_error or str(exc)
        first = exc.errors[0] if exc.errors else exc.issues[0]
        return Rejected(error, first.path, first.message, exc.issues), document
    return Accepted(dag.dag_hash), document
