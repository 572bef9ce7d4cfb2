"""Writing specs: canonical JSON text and plain dicts, with explicit stacks (no recursion)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from .._values import format_duration
from ..conditions.condition import (
    AlwaysCondition,
    AndCondition,
    Condition,
    JsonEqualsCondition,
    JsonExistsCondition,
    NotCondition,
    OrCondition,
)
from ..errors import SpecError
from ..nodes import ForkNode, INode, JoinNode, Node, StandardNode
from ._tables import EDGES, fragment, no_join_id, parameters_fragment, quote, wire_value

if TYPE_CHECKING:
    from ..spec import Spec

__all__ = ["condition_to_dict", "spec_to_dict", "spec_to_json"]

_EDGES_BACKWARDS = {kind: tuple(reversed(edges)) for kind, edges in EDGES.items()}
_KEYS = {edge.wire: ',"' + edge.wire + '":' for edges in EDGES.values() for edge in edges}


def _head(node: Node) -> str:
    """The members every node kind starts with: type, address, policies, parameters."""
    head = (
        '{"type":"' + node.kind + '","address":' + quote(node.address)
        + ',"retryPolicy":' + fragment(node.retry_policy)
        + ',"deliveryStrategy":' + fragment(node.delivery_strategy)
    )  # fmt: skip
    if node.parameters:
        head += parameters_fragment(node.parameters)
    return head


def spec_to_json(spec: Spec) -> str:
    """The canonical compact JSON text of a spec (the value of ``"graph"``)."""
    out: list[str] = ['{"entryPoints":[']
    emit = out.append
    work: list[str | INode | Condition] = ['],"repeatPolicy":' + fragment(spec.repeat_policy) + "}"]
    entries = spec.entry_points
    for index in range(len(entries) - 1, -1, -1):
        work.append(entries[index])
        if index:
            work.append(",")
    pop, push = work.pop, work.append
    while work:
        item = pop()
        if type(item) is str:
            emit(item)
            continue
        kind = type(item)
        if kind is StandardNode or kind is ForkNode or kind is JoinNode:
            node = cast(INode, item)
            head = _head(node)
            tail = "}" if node.label_text is None else ',"label":' + quote(node.label_text) + "}"
            if kind is not StandardNode:
                if node.join_node_id is None:  # type: ignore[union-attr]
                    raise SpecError(no_join_id(node.kind, node.address))
                if kind is ForkNode:
                    tail = ',"joinNodeId":' + quote(node.join_node_id) + tail  # type: ignore[union-attr]
                else:
                    join = cast(JoinNode, node)
                    head += ',"joinNodeId":' + quote(join.join_node_id)  # type: ignore[arg-type]
                    head += ',"strategy":' + fragment(join.join_strategy)
                    if join.join_timeout is not None:
                        head += ',"timeout":' + quote(format_duration(join.join_timeout))
            push(tail)
            for edge in _EDGES_BACKWARDS[node.kind]:
                value = getattr(node, edge.attribute)
                if edge.shape == "node":
                    if value is not None:
                        push(value)
                        push(_KEYS[edge.wire])
                elif edge.shape == "edges":
                    if value:
                        push("]")
                        for index in range(len(value) - 1, -1, -1):
                            push("}")
                            push(value[index].to)
                            push(',"to":')
                            push(value[index].condition)
                            push('{"condition":' if index == 0 else ',{"condition":')
                        push(_KEYS[edge.wire] + "[")
                else:
                    push("}")
                    for index in range(len(value) - 1, -1, -1):
                        name, branch = value[index]
                        push(branch)
                        push(("," if index else "") + quote(name) + ":")
                    push(_KEYS[edge.wire] + "{")
            emit(head)
        elif kind is AlwaysCondition:
            emit('{"type":"Always"}')
        elif kind is NotCondition:
            push("}")
            push(cast(NotCondition, item).condition)
            emit('{"type":"Not","cond":')
        elif kind is AndCondition or kind is OrCondition:
            group = cast("AndCondition | OrCondition", item)
            push("]}")
            for index in range(len(group.conditions) - 1, -1, -1):
                push(group.conditions[index])
                if index:
                    push(",")
            emit('{"type":"And","all":[' if kind is AndCondition else '{"type":"Or","any":[')
        elif kind is JsonExistsCondition:
            pointer = cast(JsonExistsCondition, item).pointer
            emit('{"type":"JsonExists","pointer":' + quote(pointer) + "}")
        elif kind is JsonEqualsCondition:
            equals = cast(JsonEqualsCondition, item)
            emit(
                '{"type":"JsonEquals","pointer":'
                + quote(equals.pointer)
                + ',"value":'
                + equals.value_json
                + "}"
            )
        else:  # pragma: no cover - the model's own checks make this unreachable
            raise SpecError(f"cannot serialize {item!r}")
    return "".join(out)


def spec_to_dict(spec: Spec) -> dict[str, Any]:
    """The wire form as plain dicts and lists, equal to ``json.loads(spec_to_json(spec))``."""
    entries: list[Any] = [None] * len(spec.entry_points)
    root: dict[str, Any] = {"entryPoints": entries, "repeatPolicy": wire_value(spec.repeat_policy)}
    _fill([(node, entries, index) for index, node in enumerate(spec.entry_points)])
    return root


def condition_to_dict(condition: Condition) -> dict[str, Any]:
    """The wire form of one condition, e.g. ``{"type": "Not", "cond": {"type": "Always"}}``."""
    holder: list[Any] = [None]
    _fill([(condition, holder, 0)])
    result: dict[str, Any] = holder[0]
    return result


def _fill(work: list[tuple[INode | Condition, Any, Any]]) -> None:
    """Write each item's wire dict into ``container[key]``, children included, without recursion."""
    while work:
        item, container, key = work.pop()
        result: dict[str, Any]
        if isinstance(item, Node):
            result = {
                "type": item.kind,
                "address": item.address,
                "retryPolicy": wire_value(item.retry_policy),
                "deliveryStrategy": wire_value(item.delivery_strategy),
            }
            if item.parameters:
                result["parameters"] = {name: wire_value(v) for name, v in item.parameters}
            if not isinstance(item, StandardNode) and item.join_node_id is None:
                raise SpecError(no_join_id(item.kind, item.address))
            if isinstance(item, JoinNode):
                result["joinNodeId"] = item.join_node_id
                result["strategy"] = wire_value(item.join_strategy)
                if item.join_timeout is not None:
                    result["timeout"] = format_duration(item.join_timeout)
            for edge in EDGES[item.kind]:
                value = getattr(item, edge.attribute)
                if edge.shape == "node":
                    if value is not None:
                        result[edge.wire] = None
                        work.append((value, result, edge.wire))
                elif edge.shape == "edges":
                    if value:
                        edges: list[Any] = []
                        for conditional in value:
                            edge_dict: dict[str, Any] = {"condition": None, "to": None}
                            edges.append(edge_dict)
                            work.append((conditional.condition, edge_dict, "condition"))
                            work.append((conditional.to, edge_dict, "to"))
                        result[edge.wire] = edges
                else:
                    branches: dict[str, Any] = {name: None for name, _ in value}
                    result[edge.wire] = branches
                    work.extend((node, branches, name) for name, node in value)
            if isinstance(item, ForkNode):
                result["joinNodeId"] = item.join_node_id
            if item.label_text is not None:
                result["label"] = item.label_text
        elif isinstance(item, NotCondition):
            result = {"type": "Not", "cond": None}
            work.append((item.condition, result, "cond"))
        elif isinstance(item, (AndCondition, OrCondition)):
            members: list[Any] = [None] * len(item.conditions)
            wire = "all" if isinstance(item, AndCondition) else "any"
            result = {"type": "And" if wire == "all" else "Or", wire: members}
            work.extend((c, members, i) for i, c in enumerate(item.conditions))
        elif isinstance(item, JsonExistsCondition):
            result = {"type": "JsonExists", "pointer": item.pointer}
        elif isinstance(item, JsonEqualsCondition):
            result = {"type": "JsonEquals", "pointer": item.pointer, "value": item.value}
        else:
            result = {"type": "Always"}
        container[key] = result
