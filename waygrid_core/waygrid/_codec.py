"""The one codec: specs to the server's wire JSON and back, without recursion.

Writing follows the contract's canonical form: ``type`` first, then the server's field order,
optional members omitted when unset, compact separators, ASCII-only output. Reading is as strict
as the server, plus the leniencies the published docs promise (``lenient=True``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from json.encoder import encode_basestring_ascii as _quote
from typing import TYPE_CHECKING, Any, cast

from ._values import (
    InfiniteDurationError,
    check_address,
    check_int,
    format_duration,
    format_instant,
    parse_duration,
    parse_instant,
)
from ._wire import WireValue
from .conditions.condition import (
    AlwaysCondition,
    AndCondition,
    Condition,
    ConditionalEdge,
    JsonEqualsCondition,
    JsonExistsCondition,
    NotCondition,
    OrCondition,
)
from .errors import SpecDecodeError, SpecError
from .nodes import ForkNode, INode, JoinNode, Node, StandardNode
from .parameters import BoolVal, FloatVal, IntVal, ParameterValue, Secret, StringVal
from .policies.delivery import DeliveryStrategy, Immediate, ScheduleAfter, ScheduleAt
from .policies.repeat import NoRepeat, RepeatIndefinitely, RepeatPolicy, RepeatTimes, RepeatUntil
from .policies.retry import (
    BoundedExponentialRetryPolicy,
    DecorrelatedJitterRetryPolicy,
    ExponentialRetryPolicy,
    FibonacciRetryPolicy,
    FullJitterRetryPolicy,
    LinearRetryPolicy,
    NoRetryPolicy,
    PolynomialRetryPolicy,
    RetryPolicy,
)
from .strategies.join import AndJoin, JoinStrategy, OrJoin, QuorumJoin

__all__ = ["decode_spec", "spec_to_dict", "spec_to_json", "wire_value"]

if TYPE_CHECKING:
    from .spec import Spec

# --- The tables: Python class <-> wire discriminator and fields ------------------------------
#
# Field kinds: "duration", "int32", "int64", "float", "instant", "text".
_Field = tuple[str, str, str]  # (python attribute, wire name, kind)

_WIRE: dict[type, tuple[str, tuple[_Field, ...]]] = {
    NoRetryPolicy: ("None", ()),
    LinearRetryPolicy: ("Linear", (("base", "base", "duration"), ("max_retries", "maxRetries", "int32"))),
    ExponentialRetryPolicy: ("Exponential", (("base", "base", "duration"), ("max_retries", "maxRetries", "int32"))),
    BoundedExponentialRetryPolicy: ("BoundedExponential", (("base", "base", "duration"), ("cap", "cap", "duration"), ("max_retries", "maxRetries", "int32"))),
    FibonacciRetryPolicy: ("Fibonacci", (("base", "base", "duration"), ("max_retries", "maxRetries", "int32"))),
    PolynomialRetryPolicy: ("Polynomial", (("base", "base", "duration"), ("max_retries", "maxRetries", "int32"), ("power", "power", "float"))),
    DecorrelatedJitterRetryPolicy: ("DecorrelatedJitter", (("base", "base", "duration"), ("max_retries", "maxRetries", "int32"))),
    FullJitterRetryPolicy: ("FullJitter", (("base", "base", "duration"), ("max_retries", "maxRetries", "int32"))),
    Immediate: ("Immediate", ()),
    ScheduleAfter: ("ScheduleAfter", (("delay", "delay", "duration"),)),
    ScheduleAt: ("ScheduleAt", (("time", "time", "instant"),)),
    NoRepeat: ("NoRepeat", ()),
    RepeatIndefinitely: ("Indefinitely", (("every", "every", "duration"),)),
    RepeatTimes: ("Times", (("every", "every", "duration"), ("times", "time", "int64"))),
    RepeatUntil: ("Until", (("every", "every", "duration"), ("until", "until", "instant"))),
    AndJoin: ("And", ()),
    OrJoin: ("Or", ()),
    QuorumJoin: ("Quorum", (("n", "n", "int32"),)),
    StringVal: ("StringVal", (("value", "value", "text"),)),
    IntVal: ("IntVal", (("value", "value", "int32"),)),
    FloatVal: ("FloatVal", (("value", "value", "float"),)),
    BoolVal: ("BoolVal", (("value", "value", "bool"),)),
}  # fmt: skip

_FAMILIES: dict[type, dict[str, type]] = {
    base: {name: cls for cls, (name, _) in _WIRE.items() if issubclass(cls, base)}
    for base in (RetryPolicy, DeliveryStrategy, RepeatPolicy, JoinStrategy)
}
_PARAMETER_CLASSES = {"StringVal": StringVal, "IntVal": IntVal, "FloatVal": FloatVal,
                      "BoolVal": BoolVal}  # fmt: skip
_FAMILY_NAMES = {
    RetryPolicy: "retry policy",
    DeliveryStrategy: "delivery strategy",
    RepeatPolicy: "repeat policy",
    JoinStrategy: "join strategy",
}

_ENCODE_SCALAR: dict[str, Callable[[Any], object]] = {
    "duration": format_duration,
    "instant": format_instant,
    "int32": int,
    "int64": int,
    "float": float,
    "text": str,
    "bool": bool,
}


def wire_value(value: WireValue) -> dict[str, Any]:
    """The wire dict of a policy, strategy or parameter value (a fresh dict every call)."""
    if isinstance(value, Secret):
        ref: dict[str, Any] = {"path": value.path}
        if value.field is not None:
            ref["field"] = value.field
        if value.version is not None:
            ref["version"] = value.version
        return {"type": "Secret", "ref": ref}
    name, fields = _WIRE[type(value)]
    result: dict[str, Any] = {"type": name}
    for attribute, wire, kind in fields:
        result[wire] = _ENCODE_SCALAR[kind](getattr(value, attribute))
    return result


def _fragment(value: WireValue) -> str:
    """The canonical JSON text of a small value, cached on the (immutable) value."""
    try:
        return cast(str, value._json)  # type: ignore[attr-defined]
    except AttributeError:
        text = json.dumps(wire_value(value), separators=(",", ":"), allow_nan=False)
        object.__setattr__(value, "_json", text)
        return text


def _parameters_fragment(parameters: tuple[tuple[str, ParameterValue], ...]) -> str:
    inner = ",".join(_quote(name) + ":" + _fragment(value) for name, value in parameters)
    return ',"parameters":{' + inner + "}"


# --- Writing JSON text -----------------------------------------------------------------------


def spec_to_json(spec: Spec) -> str:
    """The canonical compact JSON text of a spec (the value of ``"graph"``)."""
    out: list[str] = ['{"entryPoints":[']
    emit = out.append
    work: list[str | INode | Condition] = [
        '],"repeatPolicy":' + _fragment(spec.repeat_policy) + "}"
    ]
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
            head = (
                '{"type":"standard","address":' + _quote(node.address)
                + ',"retryPolicy":' + _fragment(node.retry_policy)
                + ',"deliveryStrategy":' + _fragment(node.delivery_strategy)
            )  # fmt: skip
            if node.parameters:
                head += _parameters_fragment(node.parameters)
            tail = "}" if node.label_text is None else ',"label":' + _quote(node.label_text) + "}"
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
            head = (
                '{"type":"fork","address":' + _quote(fork.address)
                + ',"retryPolicy":' + _fragment(fork.retry_policy)
                + ',"deliveryStrategy":' + _fragment(fork.delivery_strategy)
            )  # fmt: skip
            if fork.parameters:
                head += _parameters_fragment(fork.parameters)
            if fork.join_node_id is None:
                raise SpecError(
                    f"fork {fork.address!r} has no join_id; set one with .join_id(...) "
                    "(the wire format requires it)"
                )
            tail = '},"joinNodeId":' + _quote(fork.join_node_id)
            if fork.label_text is not None:
                tail += ',"label":' + _quote(fork.label_text)
            push(tail + "}")
            branches = fork.branch_nodes
            for index in range(len(branches) - 1, -1, -1):
                name, branch = branches[index]
                push(branch)
                push(("," if index else "") + _quote(name) + ":")
            emit(head + ',"branches":{')
        elif kind is JoinNode:
            join = cast(JoinNode, item)
            if join.join_node_id is None:
                raise SpecError(
                    f"join {join.address!r} has no join_id; set one with .join_id(...) or "
                    "attach it with fork.joined_by(join)"
                )
            head = (
                '{"type":"join","address":' + _quote(join.address)
                + ',"retryPolicy":' + _fragment(join.retry_policy)
                + ',"deliveryStrategy":' + _fragment(join.delivery_strategy)
            )  # fmt: skip
            if join.parameters:
                head += _parameters_fragment(join.parameters)
            head += ',"joinNodeId":' + _quote(join.join_node_id)
            head += ',"strategy":' + _fragment(join.join_strategy)
            if join.join_timeout is not None:
                head += ',"timeout":' + _quote(format_duration(join.join_timeout))
            push("}" if join.label_text is None else ',"label":' + _quote(join.label_text) + "}")
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
            emit('{"type":"JsonExists","pointer":' + _quote(pointer) + "}")
        elif kind is JsonEqualsCondition:
            equals = cast(JsonEqualsCondition, item)
            emit(
                '{"type":"JsonEquals","pointer":' + _quote(equals.pointer)
                + ',"value":' + equals.value_json + "}"
            )  # fmt: skip
        else:  # pragma: no cover - the model's own checks make this unreachable
            raise SpecError(f"cannot serialize {item!r}")
    return "".join(out)


# --- Writing dicts ---------------------------------------------------------------------------


def spec_to_dict(spec: Spec) -> dict[str, Any]:
    """The wire form as plain dicts and lists, equal to ``json.loads(spec_to_json(spec))``."""
    entries: list[Any] = [None] * len(spec.entry_points)
    root: dict[str, Any] = {"entryPoints": entries, "repeatPolicy": wire_value(spec.repeat_policy)}
    work: list[tuple[INode | Condition, Any, Any]] = [
        (node, entries, index) for index, node in enumerate(spec.entry_points)
    ]
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
                join = cast(JoinNode, item)
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
    return root


# --- Reading ---------------------------------------------------------------------------------

_Path = tuple[Any, str] | None  # (parent path, segment): rendered only when an error is raised

_NODE_KEYS = {
    "standard": ("address", "retryPolicy", "deliveryStrategy", "parameters", "onSuccess",
                 "onFailure", "onConditions", "label"),
    "fork": ("address", "retryPolicy", "deliveryStrategy", "parameters", "branches",
             "joinNodeId", "label"),
    "join": ("address", "retryPolicy", "deliveryStrategy", "parameters", "joinNodeId",
             "strategy", "timeout", "onSuccess", "onFailure", "onTimeout", "label"),
}  # fmt: skip
_NODE_KEY_SETS = {kind: frozenset((*keys, "type")) for kind, keys in _NODE_KEYS.items()}
_CONDITION_KEYS = {
    "Always": (),
    "Not": ("cond",),
    "And": ("all",),
    "Or": ("any",),
    "JsonExists": ("pointer",),
    "JsonEquals": ("pointer", "value"),
}


def render_path(path: _Path) -> str:
    """Turn a linked path into ``$.entryPoints[0].onSuccess``."""
    segments: list[str] = []
    while path is not None:
        path, segment = path
        segments.append(segment)
    return "$" + "".join(reversed(segments))


def _key_segment(key: str) -> str:
    if key.isidentifier():
        return "." + key
    return "[" + json.dumps(key, ensure_ascii=False) + "]"


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class _Reader:
    """Reads one spec document; ``lenient`` adds the leniencies the published docs promise."""

    def __init__(self, *, lenient: bool, json_conditions: bool) -> None:
        self.lenient = lenient
        self.json_conditions = json_conditions

    def fail(self, path: _Path, reason: str, **kwargs: Any) -> SpecDecodeError:
        return SpecDecodeError(render_path(path), reason, **kwargs)

    def object(self, value: object, path: _Path, what: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected {what} (a JSON object), got {_type_name(value)}")
        return value

    def check_keys(
        self, obj: dict[str, Any], allowed: frozenset[str], path: _Path, what: str
    ) -> None:
        unexpected = [key for key in obj if key not in allowed]
        if unexpected:
            valid = ", ".join(sorted(allowed - {"type"}))
            raise self.fail(
                (path, _key_segment(unexpected[0])),
                f"unexpected field {unexpected[0]!r} on {what}; valid fields: {valid}",
            )

    def scalar(self, value: object, kind: str, path: _Path) -> Any:
        try:
            if kind == "duration":
                if not isinstance(value, str):
                    raise SpecError(
                        f"expected a duration string such as '5s', got {_type_name(value)}"
                    )
                return parse_duration(value)
            if kind == "instant":
                if not isinstance(value, str):
                    raise SpecError(f"expected an ISO-8601 instant string, got {_type_name(value)}")
                return parse_instant(value)
            if kind in ("int32", "int64"):
                return check_int(self.integer(value), "value", bits=32 if kind == "int32" else 64)
            if kind == "float":
                return self.number(value)
            if kind == "text":
                if not isinstance(value, str):
                    raise SpecError(f"expected a string, got {_type_name(value)}")
                return value
            if kind == "bool":
                if not isinstance(value, bool):
                    raise SpecError(f"expected true or false, got {_type_name(value)}")
                return value
        except InfiniteDurationError as exc:
            raise self.fail(path, str(exc), stage="infinite-duration") from None
        except SpecError as exc:
            raise self.fail(path, str(exc)) from None
        raise AssertionError(kind)  # pragma: no cover

    def integer(self, value: object) -> int:
        if isinstance(value, bool):
            raise SpecError("expected an integer, got a boolean")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if not self.lenient and isinstance(value, str) and value.strip("+-").isdigit():
            return int(value)  # the server's decoder reads integers inside strings too
        raise SpecError(f"expected an integer, got {_type_name(value)} {value!r}")

    def number(self, value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise SpecError(f"expected a number, got {_type_name(value)}")
        if isinstance(value, str):
            if self.lenient:
                raise SpecError(f"expected a number, got a string {value!r}")
            try:
                value = float(value)  # the server's decoder reads numbers inside strings too
            except ValueError:
                raise SpecError(f"expected a number, got a string {value!r}") from None
        number = float(value)
        if number != number or number in (float("inf"), float("-inf")):
            raise SpecError("expected a finite number")
        return number

    def wire(self, value: object, family: type, path: _Path) -> Any:
        """Read a policy or strategy through the discriminator table."""
        what = _FAMILY_NAMES[family]
        obj = self.object(value, path, what)
        name = obj.get("type")
        classes = _FAMILIES[family]
        if not isinstance(name, str) or name not in classes:
            expected = ", ".join(classes)
            got = "no 'type'" if name is None else f"{name!r}"
            raise self.fail((path, ".type"), f"unknown {what} {got}; expected one of {expected}")
        cls = classes[name]
        _, fields = _WIRE[cls]
        allowed = {wire for _, wire, _ in fields} | {"type"}
        if self.lenient and cls is RepeatTimes and "times" in obj:
            if "time" in obj:
                raise self.fail(
                    (path, ".times"), "give 'time' (the server's name) or 'times', not both"
                )
            obj = {("time" if key == "times" else key): v for key, v in obj.items()}
        self.check_keys(obj, frozenset(allowed), path, f"the {name} {what}")
        arguments = []
        for _, wire, kind in fields:
            if obj.get(wire) is None:
                raise self.fail((path, "." + wire), f"missing required field {wire!r} of {name}")
            arguments.append(self.scalar(obj[wire], kind, (path, "." + wire)))
        try:
            return cls(*arguments)
        except SpecError as exc:  # pragma: no cover - the scalar checks come first
            raise self.fail(path, str(exc)) from None

    def parameters(self, value: object, path: _Path) -> tuple[tuple[str, ParameterValue], ...]:
        obj = self.object(value, path, "parameters")
        result: list[tuple[str, ParameterValue]] = []
        for name, raw in obj.items():
            where = (path, _key_segment(name))
            item = self.object(
                raw, where, 'a typed parameter such as {"type":"StringVal","value":"..."}'
            )
            kind = item.get("type")
            if kind == "Secret":
                self.check_keys(item, frozenset(("type", "ref")), where, "a Secret parameter")
                ref_path = (where, ".ref")
                ref = self.object(item.get("ref"), ref_path, "a secret reference")
                self.check_keys(ref, frozenset(("type", "path", "field", "version")), ref_path,
                                "a secret reference")  # fmt: skip
                if ref.get("path") is None:
                    raise self.fail((ref_path, ".path"), "missing required field 'path'")
                texts = {
                    key: None if ref.get(key) is None else self.scalar(ref[key], "text", (ref_path, "." + key))
                    for key in ("path", "field", "version")
                }  # fmt: skip
                result.append((name, Secret(texts["path"], texts["field"], texts["version"])))
                continue
            cls = _PARAMETER_CLASSES.get(kind) if isinstance(kind, str) else None
            if cls is None:
                raise self.fail(
                    (where, ".type"),
                    f"unknown parameter type {kind!r}; expected StringVal, IntVal, FloatVal, "
                    "BoolVal or Secret",
                )
            self.check_keys(item, frozenset(("type", "value")), where, f"a {kind} parameter")
            if "value" not in item or (item["value"] is None and cls is not FloatVal):
                raise self.fail((where, ".value"), f"missing required field 'value' of {kind}")
            if item["value"] is None:
                raise self.fail((where, ".value"), "null (NaN) is not supported by the SDK")
            field_kind = _WIRE[cls][1][0][2]
            result.append((name, cls(self.scalar(item["value"], field_kind, (where, ".value")))))
        return tuple(sorted(result))

    def condition_type(self, obj: dict[str, Any], path: _Path) -> str:
        name = obj.get("type")
        allowed = _CONDITION_KEYS if self.json_conditions else list(_CONDITION_KEYS)[:4]
        if not isinstance(name, str) or name not in allowed:
            got = "no 'type'" if name is None else f"{name!r}"
            extra = (
                ""
                if self.json_conditions
                else " (JsonExists/JsonEquals are not supported by the server)"
            )
            raise self.fail(
                (path, ".type"),
                f"unknown condition {got}; expected one of {', '.join(allowed)}{extra}",
            )
        self.check_keys(
            obj, frozenset((*_CONDITION_KEYS[name], "type")), path, f"a {name} condition"
        )
        return name


def decode_spec(value: object, *, lenient: bool = True, json_conditions: bool = True) -> Spec:
    """Read a spec from parsed JSON.

    Args:
        value: The value of ``"graph"``.
        lenient: Accept what the published docs promise beyond the server: missing
            ``retryPolicy``/``deliveryStrategy``, ``times`` for ``time``. Without it, read
            exactly like the server (which also reads integers written inside strings).
        json_conditions: Accept the documented ``JsonExists``/``JsonEquals`` conditions.

    Raises:
        SpecDecodeError: with the path of the first offending value.
    """
    from .spec import Spec

    reader = _Reader(lenient=lenient, json_conditions=json_conditions)
    root = reader.object(value, None, "a spec")
    reader.check_keys(root, frozenset(("entryPoints", "repeatPolicy", "type")), None, "the spec")
    entries = root.get("entryPoints")
    if not isinstance(entries, list) or not entries:
        got = "an empty array" if entries == [] else _type_name(entries)
        raise reader.fail((None, ".entryPoints"), f"expected a non-empty array of nodes, got {got}")
    if root.get("repeatPolicy") is None:
        raise reader.fail((None, ".repeatPolicy"), "missing required field 'repeatPolicy'")
    repeat = reader.wire(root["repeatPolicy"], RepeatPolicy, (None, ".repeatPolicy"))

    # Pass 1 (pre-order, explicit stack): check every object and record what to build.
    # Each record is [factory, arguments, child slots]; children come after their parent.
    records: list[list[Any]] = []
    pending: list[tuple[str, Any, _Path, list[Any], int]] = []
    entry_slots: list[Any] = [None] * len(entries)
    for index in range(len(entries) - 1, -1, -1):
        where = ((None, ".entryPoints"), f"[{index}]")
        pending.append(("node", entries[index], where, entry_slots, index))
    readers = {"node": _read_node, "condition": _read_condition, "edge": _read_edge}
    while pending:
        kind, raw, path, parent_slots, slot = pending.pop()
        record: list[Any] = [None, (), path, parent_slots, slot]
        records.append(record)
        readers[kind](reader, raw, path, record, pending)

    # Pass 2 (reverse order): build children before their parents.
    for record in reversed(records):
        factory, arguments, path, parent_slots, slot = record
        try:
            parent_slots[slot] = factory(*arguments)
        except SpecError as exc:
            raise reader.fail(path, str(exc)) from None
    return Spec(tuple(entry_slots), repeat)


def _expect_node(reader: _Reader, raw: object, path: _Path) -> None:
    if not isinstance(raw, dict):
        raise reader.fail(path, f"expected a node (a JSON object), got {_type_name(raw)}")


def _read_node(
    reader: _Reader, raw: object, path: _Path, record: list[Any], pending: list[Any]
) -> None:
    obj = reader.object(raw, path, "a node")
    kind = obj.get("type")
    if kind not in _NODE_KEYS:
        got = "no 'type'" if kind is None else f"{kind!r}"
        raise reader.fail(
            (path, ".type"), f"unknown node type {got}; expected 'standard', 'fork' or 'join'"
        )
    reader.check_keys(obj, _NODE_KEY_SETS[kind], path, f"a {kind} node")
    address = obj.get("address")
    if address is None:
        raise reader.fail((path, ".address"), "missing required field 'address'")
    try:
        check_address(address)
    except SpecError as exc:
        raise reader.fail((path, ".address"), str(exc)) from None
    policies: list[Any] = []
    for wire, family, default in (
        ("retryPolicy", RetryPolicy, RetryPolicy.NONE),
        ("deliveryStrategy", DeliveryStrategy, DeliveryStrategy.IMMEDIATE),
    ):
        raw = obj.get(wire)
        if raw is None:
            if not reader.lenient:
                raise reader.fail((path, "." + wire), f"missing required field {wire!r}")
            policies.append(default)
        else:
            policies.append(reader.wire(raw, family, (path, "." + wire)))
    parameters = obj.get("parameters")
    params = () if parameters is None else reader.parameters(parameters, (path, ".parameters"))
    label = obj.get("label")
    if label is not None:
        label = reader.scalar(label, "text", (path, ".label"))
    common = {
        "address": address,
        "retry_policy": policies[0],
        "delivery_strategy": policies[1],
        "parameters": params,
        "label_text": label,
    }
    children: dict[str, Any] = {}

    def child(wire: str, attribute: str) -> None:
        raw = obj.get(wire)
        if raw is not None:
            where = (path, "." + wire)
            _expect_node(reader, raw, where)
            pending.append(("node", raw, where, children, attribute))

    if kind == "standard":
        edges_raw = obj.get("onConditions")
        edge_slots: list[Any] = []
        if edges_raw is not None:
            if not isinstance(edges_raw, list):
                raise reader.fail(
                    (path, ".onConditions"),
                    f"expected an array of edges, got {_type_name(edges_raw)}",
                )
            edge_slots = [None] * len(edges_raw)
            for index in range(len(edges_raw) - 1, -1, -1):
                where = ((path, ".onConditions"), f"[{index}]")
                pending.append(("edge", edges_raw[index], where, edge_slots, index))
        child("onFailure", "on_failure_node")
        child("onSuccess", "on_success_node")
        record[0] = _build(StandardNode, common, children, edge_slots)
    elif kind == "fork":
        branches = obj.get("branches")
        if branches is None:
            raise reader.fail((path, ".branches"), "missing required field 'branches'")
        if not isinstance(branches, dict):
            raise reader.fail(
                (path, ".branches"), f"expected an object of branches, got {_type_name(branches)}"
            )
        join_id = obj.get("joinNodeId")
        if join_id is None:
            raise reader.fail((path, ".joinNodeId"), "missing required field 'joinNodeId'")
        common["join_node_id"] = reader.scalar(join_id, "text", (path, ".joinNodeId"))
        names = list(branches)
        branch_slots: list[Any] = [None] * len(names)
        for index in range(len(names) - 1, -1, -1):
            where = ((path, ".branches"), _key_segment(names[index]))
            _expect_node(reader, branches[names[index]], where)
            pending.append(("node", branches[names[index]], where, branch_slots, index))
        record[0] = _build_fork(common, names, branch_slots)
    else:
        join_id = obj.get("joinNodeId")
        if join_id is None:
            raise reader.fail((path, ".joinNodeId"), "missing required field 'joinNodeId'")
        common["join_node_id"] = reader.scalar(join_id, "text", (path, ".joinNodeId"))
        if obj.get("strategy") is None:
            raise reader.fail((path, ".strategy"), "missing required field 'strategy'")
        common["join_strategy"] = reader.wire(obj["strategy"], JoinStrategy, (path, ".strategy"))
        if obj.get("timeout") is not None:
            common["join_timeout"] = reader.scalar(obj["timeout"], "duration", (path, ".timeout"))
        child("onTimeout", "on_timeout_node")
        child("onFailure", "on_failure_node")
        child("onSuccess", "on_success_node")
        record[0] = _build(JoinNode, common, children, None)


def _read_edge(
    reader: _Reader, raw: object, path: _Path, record: list[Any], pending: list[Any]
) -> None:
    edge = reader.object(raw, path, 'an edge {"condition": ..., "to": ...}')
    reader.check_keys(edge, frozenset(("condition", "to", "type")), path, "an edge")
    for wire in ("condition", "to"):
        if edge.get(wire) is None:
            raise reader.fail((path, "." + wire), f"missing required field {wire!r}")
    slots: list[Any] = [None, None]
    record[0] = lambda: ConditionalEdge(slots[0], slots[1])
    pending.append(("node", edge["to"], (path, ".to"), slots, 1))
    pending.append(("condition", edge["condition"], (path, ".condition"), slots, 0))


def _build(
    cls: type[StandardNode] | type[JoinNode],
    common: dict[str, Any],
    children: dict[str, Any],
    edge_slots: list[Any] | None,
) -> Callable[[], Node]:
    def factory() -> Node:
        if edge_slots:
            children["conditional_edges"] = tuple(edge_slots)
        return cls(**common, **children)

    return factory


def _build_fork(common: dict[str, Any], names: list[str], slots: list[Any]) -> Callable[[], Node]:
    def factory() -> Node:
        return ForkNode(**common, branch_nodes=tuple(zip(names, slots)))

    return factory


def _read_condition(
    reader: _Reader, raw: object, path: _Path, record: list[Any], pending: list[Any]
) -> None:
    obj = reader.object(raw, path, "a condition")
    name = reader.condition_type(obj, path)
    if name == "Always":
        record[0], record[1] = (lambda: Condition.ALWAYS), ()
    elif name == "Not":
        if obj.get("cond") is None:
            raise reader.fail((path, ".cond"), "missing required field 'cond'")
        slots: list[Any] = [None]
        pending.append(("condition", obj["cond"], (path, ".cond"), slots, 0))
        record[0], record[1] = (lambda: NotCondition(slots[0])), ()
    elif name in ("And", "Or"):
        wire = "all" if name == "And" else "any"
        members = obj.get(wire)
        if members is None:
            raise reader.fail((path, "." + wire), f"missing required field {wire!r}")
        if not isinstance(members, list):
            raise reader.fail(
                (path, "." + wire), f"expected an array of conditions, got {_type_name(members)}"
            )
        member_slots: list[Any] = [None] * len(members)
        for index in range(len(members) - 1, -1, -1):
            where = ((path, "." + wire), f"[{index}]")
            pending.append(("condition", members[index], where, member_slots, index))
        cls = AndCondition if name == "And" else OrCondition
        record[0], record[1] = (lambda: cls(tuple(member_slots))), ()
    else:
        if obj.get("pointer") is None:
            raise reader.fail((path, ".pointer"), "missing required field 'pointer'")
        pointer = reader.scalar(obj["pointer"], "text", (path, ".pointer"))
        if name == "JsonExists":
            record[0], record[1] = JsonExistsCondition, (pointer,)
        else:
            if "value" not in obj:
                raise reader.fail((path, ".value"), "missing required field 'value'")
            record[0], record[1] = JsonEqualsCondition, (pointer, obj["value"])
