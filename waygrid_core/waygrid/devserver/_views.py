"""JSON views of compiled DAGs and stored traversals (framework-free: the CLI uses them too)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

from .._codec import condition_to_dict, wire_value
from .._values import format_duration
from ..dag import CompiledDag, compile_spec, to_mermaid, validate_spec
from ..errors import SpecValidationError

if TYPE_CHECKING:
    from ._store import Traversal

__all__ = ["dag_to_dict", "dumps", "traversal_detail", "traversal_summary"]


def dag_to_dict(dag: CompiledDag) -> dict[str, Any]:
    """A compiled DAG as JSON: hash, entry points, nodes (with their wire policies) and edges."""
    nodes = []
    for node in dag.nodes:
        item: dict[str, Any] = {
            "id": node.id,
            "kind": node.kind,
            "address": node.address,
            "label": node.label,
            "path": node.path,
            "retryPolicy": wire_value(node.retry_policy),
            "deliveryStrategy": wire_value(node.delivery_strategy),
            "parameters": {name: wire_value(value) for name, value in node.parameters},
        }
        if node.kind != "standard":
            item["forkId"] = node.fork_id
            item["joinNodeId"] = node.join_node_id
        if node.join_strategy is not None:
            item["strategy"] = wire_value(node.join_strategy)
        if node.join_timeout is not None:
            item["timeout"] = format_duration(node.join_timeout)
        nodes.append(item)
    edges = []
    for edge in dag.edges:
        entry: dict[str, Any] = {"source": edge.source, "target": edge.target, "guard": edge.guard}
        if edge.condition is not None:
            entry["condition"] = condition_to_dict(edge.condition)
        edges.append(entry)
    return {
        "dagHash": dag.dag_hash,
        "entryPoints": list(dag.entry_points),
        "repeatPolicy": wire_value(dag.repeat_policy),
        "nodes": nodes,
        "edges": edges,
    }


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


def dumps(document: Any) -> bytes:
    """Compact UTF-8 JSON of any document the dev server accepted, however deep.

    Lone surrogates are written as ``\\udxxx`` escapes and infinities (from literals such as
    ``1e999``) as ``1e999``/``-1e999``; NaN (a null double read like the server) as ``null``.
    """
    try:
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (ValueError, RecursionError):  # infinities, or nested beyond the C encoder's reach
        return _dumps_iterative(document).encode("ascii")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: escape them instead
        return json.dumps(document, separators=(",", ":"), allow_nan=False).encode("ascii")


_encode_string: Any = json.encoder.encode_basestring_ascii


def _scalar(value: object) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        text: str = _encode_string(value)
        return text
    if isinstance(value, float):
        if math.isnan(value):
            return "null"
        if math.isinf(value):
            return "1e999" if value > 0 else "-1e999"
        return repr(value)
    if isinstance(value, int):
        return int.__repr__(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _dumps_iterative(document: Any) -> str:
    """Compact ASCII JSON with an explicit stack (any depth), like `json.dumps`' output."""
    out: list[str] = []
    # Each open container: its remaining items, and whether it is an object.
    stack: list[tuple[Iterator[Any], bool]] = []
    value: Any = document
    first = True
    while True:
        if isinstance(value, dict):
            out.append("{")
            stack.append((iter(value.items()), True))
            first = True
        elif isinstance(value, (list, tuple)):
            out.append("[")
            stack.append((iter(value), False))
            first = True
        else:
            out.append(_scalar(value))
        while stack:
            items, keyed = stack[-1]
            item = next(items, _END)
            if item is _END:
                stack.pop()
                out.append("}" if keyed else "]")
                first = False
                continue
            if not first:
                out.append(",")
            first = False
            if keyed:
                key, value = cast("tuple[object, Any]", item)
                out.append(_scalar(str(key)) + ":")
            else:
                value = item
            break
        else:
            return "".join(out)


_END = object()
