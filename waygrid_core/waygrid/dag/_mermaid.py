"""Mermaid flowcharts of compiled DAGs."""

from __future__ import annotations

import re

from ..conditions.condition import (
    AlwaysCondition,
    AndCondition,
    Condition,
    JsonEqualsCondition,
    JsonExistsCondition,
    NotCondition,
)
from ._compiler import CompiledDag, CompiledNode

__all__ = ["to_mermaid"]

_SHAPES = {"standard": ('["', '"]'), "fork": ('{{"', '"}}'), "join": ('(["', '"])')}


# Every character Mermaid or the browser would read as syntax rather than text becomes a
# Mermaid entity code (``#35;``, drawn as "#"): "#" itself (entity codes), the quote that ends
# the label, "&", "<", ">" (HTML), the backtick (markdown strings), "%" (comments and
# directives), "$", control characters and lone surrogates (which no page can encode; the
# browser draws them as U+FFFD).
_SPECIAL = re.compile('[#"&<>`%$\x00-\x1f\x7f-\x9f\ud800-\udfff]')
# Mermaid decodes entities before it looks for KaTeX ("$$...$$") and icons ("fa:fa-car"), and
# decodes its own entity markers ("\ufb02\u00b0", "\u00b6\u00df") once more after the browser
# has: those get an invisible word joiner (U+2060) inside, so they are drawn, never read.
_PAIRS = re.compile(
    "(?<=\\$)(?=\\$)|(?<=\ufb02)(?=\u00b0)|(?<=\u00b6)(?=\u00df)|(?<=fa)(?=:fa-)|(?<=fa[bklrs])(?=:fa-)"
)


def _escape(text: str) -> str:
    """``text`` as Mermaid label text that is drawn literally, whatever it contains."""
    text = _PAIRS.sub("\u2060", text)
    return _SPECIAL.sub(lambda match: f"#{ord(match.group(0))};", text)


def _node_text(node: CompiledNode) -> str:
    lines = [node.label] if node.label else []
    lines.append(node.address)
    if node.kind != "standard":
        lines.append(f"{node.kind} {node.join_node_id}")
    return "<br/>".join(_escape(line) for line in lines)


def _condition_text(condition: Condition | None, limit: int = 40) -> str:
    """A short readable form such as ``not(exists /error)``, cut at ``limit`` characters."""
    if condition is None:
        return "when"
    out: list[str] = []
    size = 0
    pending: list[Condition | str] = [condition]
    while pending and size <= limit:
        item = pending.pop()
        if isinstance(item, str):
            text = item
        elif isinstance(item, AlwaysCondition):
            text = "always"
        elif isinstance(item, JsonExistsCondition):
            text = f"exists {item.pointer}"
        elif isinstance(item, JsonEqualsCondition):
            text = f"{item.pointer} == {item.value_json}"
        elif isinstance(item, NotCondition):
            text = "not("
            pending.extend((")", item.condition))
        else:
            group = item.conditions  # type: ignore[attr-defined]
            text = "all(" if isinstance(item, AndCondition) else "any("
            pending.append(")")
            for index in range(len(group) - 1, -1, -1):
                pending.append(group[index])
                if index:
                    pending.append(", ")
        out.append(text)
        size += len(text)
    text = "".join(out)
    return _escape(text if size <= limit and not pending else text[: limit - 3] + "...")


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
