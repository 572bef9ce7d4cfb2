"""The compiled DAG as JSON, as ``waygrid render --format json`` and the dev server show it."""

from __future__ import annotations

from typing import Any

from .._codec import condition_to_dict, wire_value
from .._values import format_duration
from ._results import CompiledDag

__all__ = ["dag_to_dict"]


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
