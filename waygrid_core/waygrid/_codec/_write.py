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
from ._tables import fragment, parameters_fragment, quote, wire_value

if TYPE_CHECKING:
    from ..spec import Spec

__all__ = ["condition_to_dict", "spec_to_dict", "spec_to_json"]


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
        if kind is StandardNode:
            node = cast(StandardNode, item)
            head = _head(node)
            tail = "}" if node.label_text is None else ',"label":' + quote(node.label_text) + "}"
            success, failure, edges = (
                node.on_success_node,
                node.on_failure_node,
                node.conditional_edges,
            )
            if success is None and failure is None and not edges:
                emit(head + tail)
                continue
            push(tail)
            if edges:
                push("]")
                for index in range(len(edges) - 1, -1, -1):
                    push("}")
                    push(edges[index].to)
                    push(',"to":')
                    push(edges[index].condition)
                    push('{"condition":' if index == 0 else ',{"condition":')
                push(',"onConditions":[')
            if failure is not None:
                push(failure)
                push(',"onFailure":')
            if success is not None:
                emit(head + ',"onSuccess":')
                push(success)
            else:
                emit(head)
        elif kind is ForkNode:
            fork = cast(ForkNode, item)
            head = _head(fork)
            if fork.join_node_id is None:
                raise SpecError(
                    f"fork {fork.address!r} has no join_id; set one with .join_id(...) "
                    "(the wire format requires it)"
                )
            tail = '},"joinNodeId":' + quote(fork.join_node_id)
            if fork.label_text is not None:
                tail += ',"label":' + quote(fork.label_text)
            push(tail + "}")
            branches = fork.branch_nodes
            for index in range(len(branches) - 1, -1, -1):
                name, branch = branches[index]
                push(branch)
                push(("," if index else "") + quote(name) + ":")
            emit(head + ',"branches":{')
        elif kind is JoinNode:
            join = cast(JoinNode, item)
            if join.join_node_id is None:
                raise SpecError(
                    f"join {join.address!r} has no join_id; set one with .join_id(...) or "
                    "attach it with fork.joined_by(join)"
                )
            head = _head(join)
            head += ',"joinNodeId":' + quote(join.join_node_id)
            head += ',"strategy":' + fragment(join.join_strategy)
            if join.join_timeout is not None:
                head += ',"timeout":' + quote(format_duration(join.join_timeout))
            push("}" if join.label_text is None else ',"label":' + quote(join.label_text) + "}")
            if join.on_timeout_node is not None:
                push(join.on_timeout_node)
                push(',"onTimeout":')
            if join.on_failure_node is not None:
                push(join.on_failure_node)
                push(',"onFailure":')
            if join.on_success_node is not None:
                push(join.on_success_node)
                push(',"onSuccess":')
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
            children: list[tuple[str, INode | None]]
            if isinstance(item, StandardNode):
                children = [
                    ("onSuccess", item.on_success_node),
                    ("onFailure", item.on_failure_node),
                ]
            elif isinstance(item, ForkNode):
                if item.join_node_id is None:
                    raise SpecError(
                        f"fork {item.address!r} has no join_id; set one with .join_id()"
                    )
                branches: dict[str, Any] = {name: None for name, _ in item.branch_nodes}
                result["branches"] = branches
                work.extend((node, branches, name) for name, node in item.branch_nodes)
                result["joinNodeId"] = item.join_node_id
                children = []
            else:
                join = item
                if join.join_node_id is None:
                    raise SpecError(
                        f"join {join.address!r} has no join_id; set one with .join_id()"
                    )
                result["joinNodeId"] = join.join_node_id
                result["strategy"] = wire_value(join.join_strategy)
                if join.join_timeout is not None:
                    result["timeout"] = format_duration(join.join_timeout)
                children = [
                    ("onSuccess", join.on_success_node),
                    ("onFailure", join.on_failure_node),
                    ("onTimeout", join.on_timeout_node),
                ]
            for wire, child in children:
                if child is not None:
                    result[wire] = None
                    work.append((child, result, wire))
            if isinstance(item, StandardNode) and item.conditional_edges:
                edges: list[Any] = []
                for edge in item.conditional_edges:
                    edge_dict: dict[str, Any] = {"condition": None, "to": None}
                    edges.append(edge_dict)
                    work.append((edge.condition, edge_dict, "condition"))
                    work.append((edge.to, edge_dict, "to"))
                result["onConditions"] = edges
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
