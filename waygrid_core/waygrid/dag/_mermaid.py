"""Mermaid flowcharts of compiled DAGs."""

from __future__ import annotations

from .._codec import spec_to_json
from ..conditions.condition import Condition
from ._compiler import CompiledDag, CompiledNode

__all__ = ["to_mermaid"]

_SHAPES = {"standard": ('["', '"]'), "fork": ('{{"', '"}}'), "join": ('(["', '"])')}


def _escape(text: str) -> str:
    return (
        text.replace("&", "#amp;")
        .replace('"', "#quot;")
        .replace("<", "#lt;")
        .replace(">", "#gt;")
        .replace("\n", " ")
    )


def _node_text(node: CompiledNode) -> str:
    lines = [node.label] if node.label else []
    lines.append(node.address)
    if node.kind != "standard":
        lines.append(f"{node.kind} {node.join_node_id}")
    return "<br/>".join(_escape(line) for line in lines)


def _condition_text(condition: Condition | None) -> str:
    if condition is None:
        return "when"
    from ..nodes import Node
    from ..spec import Spec  # the condition's wire form, written by the one codec

    text = spec_to_json(
        Spec.single(
            Node.standard("waygrid://x/y").on_conditions(
                [Condition.when(condition, Node.standard("waygrid://x/y"))]
            )
        )
    )
    start = text.index('"condition":') + len('"condition":')
    end = text.index(',"to":', start)
    inner = text[start:end]
    return _escape(inner if len(inner) <= 40 else inner[:37] + "...")


def to_mermaid(dag: CompiledDag) -> str:
    """A Mermaid ``flowchart TD`` of ``dag``: one box per compiled node, edges by guard.

    Standard nodes are boxes, forks hexagons, joins stadiums; success edges are solid arrows,
    failure and timeout edges dotted, conditional edges labelled with their condition.
    """
    lines = ["flowchart TD"]
    for node in dag.nodes:
        opening, closing = _SHAPES[node.kind]
        lines.append(f"    n{node.id}{opening}{_node_text(node)}{closing}")
    seen: set[tuple[str, str, str]] = set()
    for edge in dag.edges:
        key = (edge.source, edge.target, edge.guard)
        if key in seen and edge.guard != "Conditional":
            continue  # the server keeps duplicate edges; one arrow is enough in a picture
        seen.add(key)
        if edge.guard == "OnSuccess":
            arrow = "-->"
        elif edge.guard == "OnFailure":
            arrow = "-. failure .->"
        elif edge.guard == "OnTimeout":
            arrow = "-. timeout .->"
        else:
            arrow = f'-- "{_condition_text(edge.condition)}" -->'
        lines.append(f"    n{edge.source} {arrow} n{edge.target}")
    for entry in dict.fromkeys(dag.entry_points):
        lines.append(f"    class n{entry} entry")
    lines.append("    classDef entry stroke-width:3px")
    return "\n".join(lines) + "\n"
