"""What a successful submit returns, and the JSON type accepted as a payload."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias

__all__ = ["JsonPayload", "SubmitResult"]

JsonPayload: TypeAlias = Mapping[str, object] | Sequence[object] | str | int | float | bool | None
"""A JSON value to send as a payload. Only the outer level is typed, so that ``dict[str, object]``
and other inferred container types are accepted; what is inside is checked when the body is built
(`SpecError` for values JSON cannot hold)."""


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """The server accepted a spec and started a traversal.

    Example:
        >>> result = await client.submit(spec)  # doctest: +SKIP
        >>> result.traversal_id  # doctest: +SKIP
        '01J9Z8Q4W5X6Y7Z8A9B0C1D2E3'
    """

    traversal_id: str
    """The traversal the server started: a 26-character ULID."""
    dag_hash: str
    """The server's hash of the compiled DAG: 16 lower-case hex characters."""
    idempotency_key: str
    """The ``Idempotency-Key`` sent with every attempt of this submit."""
    attempts: int = 1
    """How many HTTP requests this submit took (1 when the first one succeeded)."""
    status_code: int = 200
    """The HTTP status of the successful answer (200; 201 and 202 are accepted too)."""
