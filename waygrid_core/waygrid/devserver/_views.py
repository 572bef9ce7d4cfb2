"""JSON views of stored traversals for the ``/_dev/`` routes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..dag import compile_spec, dag_to_dict, to_mermaid, validate_spec
from ..errors import SpecValidationError

if TYPE_CHECKING:
    from ._store import Traversal

__all__ = ["traversal_detail", "traversal_summary"]


def traversal_summary(traversal: Traversal) -> dict[str, Any]:
    """One line of ``GET /_dev/traversals``."""
    return {
        "traversal_id": traversal.traversal_id,
        "dag_hash": traversal.dag_hash,
        "created_at": traversal.created_at,
        "idempotency_key": traversal.idempotency_key,
    }


def traversal_detail(traversal: Traversal) -> dict[str, Any]:
    """``GET /_dev/traversals/{id}``: spec (canonical form), payload, DAG, Mermaid, warnings."""
    detail = traversal_summary(traversal)
    document = traversal.document()
    spec = traversal.spec
    dag = compile_spec(spec)
    try:
        issues = validate_spec(spec)
    except SpecValidationError as exc:  # accepted by the compiler, so normally only warnings
        issues = list(exc.issues)
    detail.update(
        spec=spec.to_dict(),
        payload=document.get("payload"),
        has_payload="payload" in document,
        dag=dag_to_dict(dag),
        mermaid=to_mermaid(dag),
        issues=[issue.to_dict() for issue in issues],
    )
    return detail
