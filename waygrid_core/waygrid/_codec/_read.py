"""Reading specs: as strict as the server, plus the leniencies the published docs promise."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .._values import (
    InfiniteDurationError,
    check_address,
    check_int,
    parse_duration,
    parse_instant,
    shown,
)
from .._wire import WireValue
from ..conditions.condition import (
    AndCondition,
    Condition,
    ConditionalEdge,
    JsonEqualsCondition,
    JsonExistsCondition,
    NotCondition,
    OrCondition,
)
from ..errors import SpecDecodeError, SpecError
from ..nodes import ForkNode, JoinNode, Node, StandardNode
from ..parameters import FloatVal, ParameterValue, Secret
from ..policies.delivery import DeliveryStrategy
from ..policies.repeat import RepeatPolicy, RepeatTimes
from ..policies.retry import RetryPolicy
from ..strategies.join import JoinStrategy
from ._tables import FAMILIES, FAMILY_NAMES, PARAMETER_CLASSES, WIRE, Path, key_segment, render_path

if TYPE_CHECKING:
    from ..spec import Spec

__all__ = ["decode_spec"]


_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")

_NODE_KEYS = {
    "standard": (
        "address",
        "retryPolicy",
        "deliveryStrategy",
        "parameters",
        "onSuccess",
        "onFailure",
        "onConditions",
        "label",
    ),
    "fork": (
        "address",
        "retryPolicy",
        "deliveryStrategy",
        "parameters",
        "branches",
        "joinNodeId",
        "label",
    ),
    "join": (
        "address",
        "retryPolicy",
        "deliveryStrategy",
        "parameters",
        "joinNodeId",
        "strategy",
        "timeout",
        "onSuccess",
        "onFailure",
        "onTimeout",
        "label",
    ),
}
_NODE_KEY_SETS = {kind: frozenset((*keys, "type")) for kind, keys in _NODE_KEYS.items()}
_CONDITION_KEYS = {
    "Always": (),
    "Not": ("cond",),
    "And": ("all",),
    "Or": ("any",),
    "JsonExists": ("pointer",),
    "JsonEquals": ("pointer", "value"),
}


def _memo_key(kind: object, value: object) -> tuple[object, ...] | None:
    """A hashable key for a small JSON object, or None when it is not one.

    Members may be scalars or objects of scalars (parameter values, secret references);
    anything deeper is not memoized. Types are part of the key because ``1``, ``1.0`` and
    ``True`` are equal as keys, and floats are keyed by ``repr`` to keep ``-0.0``.
    """
    if type(value) is not dict:
        return None
    try:
        return _memo_members(kind, value)
    except _NotMemoizableError:
        return None


def _memo_members(kind: object, value: dict[Any, Any]) -> tuple[object, ...] | None:
    key: list[object] = [kind]
    for name, item in value.items():
        if type(item) is dict:
            inner: list[object] = []
            for inner_name, inner_item in item.items():
                if type(inner_item) in (dict, list):
                    return None
                inner.extend(_scalar_key(inner_name, inner_item))
            if type(name) is not str:
                raise _NotMemoizableError
            key.append(name)
            key.append(tuple(inner))
        elif type(item) is list:
            return None
        else:
            key.extend(_scalar_key(name, item))
    return tuple(key)


_SCALARS = frozenset((str, int, float, bool, type(None)))


def _scalar_key(name: object, item: object) -> tuple[object, ...]:
    if type(item) not in _SCALARS or type(name) is not str:
        raise _NotMemoizableError
    return (name, type(item), repr(item) if type(item) is float else item)


class _NotMemoizableError(Exception):
    """A member that is not a JSON scalar (from a Python caller): read it without the memo."""


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
        # Specs repeat the same small values (policies, parameters) on many nodes; values are
        # immutable, so one object per distinct JSON form is read once and shared.
        self.seen: dict[tuple[object, ...], Any] = {}

    def fail(self, path: Path, reason: str, **kwargs: Any) -> SpecDecodeError:
        return SpecDecodeError(render_path(path), reason, **kwargs)

    def expect_object(self, value: object, path: Path, what: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected {what} (a JSON object), got {_type_name(value)}")
        return value

    def check_keys(
        self, obj: dict[str, Any], allowed: frozenset[str], path: Path, what: str
    ) -> None:
        unexpected = [key for key in obj if key not in allowed]
        if unexpected:
            self.check_names(obj, path)
            valid = ", ".join(sorted(allowed - {"type"}))
            raise self.fail(
                (path, key_segment(unexpected[0])),
                f"unexpected field {shown(unexpected[0])} on {what}; valid fields: {valid}",
            )

    def check_names(self, obj: dict[Any, Any], path: Path) -> None:
        """JSON object keys are strings; a dict from Python code may hold anything."""
        for key in obj:
            if not isinstance(key, str):
                raise self.fail(
                    path,
                    f"object keys must be strings, got the {type(key).__name__} key {shown(key)}",
                )

    def scalar(self, value: object, kind: str, path: Path) -> Any:
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
        if isinstance(value, float) and value in (math.inf, -math.inf):
            raise SpecError("integer out of range")
        if not self.lenient and isinstance(value, str) and _JSON_NUMBER.fullmatch(value):
            # The server's decoder reads integers inside strings too, in JSON number syntax
            # ("3", "3.0", "3e0"); out-of-range text fails before any exact conversion.
            number = Decimal(value)
            if number.adjusted() > 20:
                raise SpecError(f"integer {shown(value)} is out of range")
            if number == number.to_integral_value():
                return int(number)
        raise SpecError(f"expected an integer, got {_type_name(value)} {shown(value)}")

    def number(self, value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise SpecError(f"expected a number, got {_type_name(value)}")
        if isinstance(value, str):
            if self.lenient or not _JSON_NUMBER.fullmatch(value):
                raise SpecError(f"expected a number, got a string {shown(value)}")
            value = float(value)  # the server's decoder reads numbers inside strings too
        try:
            number = float(value)
        except OverflowError:  # an int too large for a double (only from Python callers)
            raise SpecError("expected a finite number") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise SpecError("expected a finite number")
        return number

    def wire(self, value: object, family: type[WireValue], path: Path) -> Any:
        """Read a policy or strategy through the discriminator table."""
        key = _memo_key(family, value)
        if key is not None:
            found = self.seen.get(key)
            if found is None:
                found = self.seen[key] = self.read_wire(value, family, path)
            return found
        return self.read_wire(value, family, path)

    def read_wire(self, value: object, family: type[WireValue], path: Path) -> Any:
        what = FAMILY_NAMES[family]
        obj = self.expect_object(value, path, what)
        name = obj.get("type")
        classes = FAMILIES[family]
        if not isinstance(name, str) or name not in classes:
            expected = ", ".join(classes)
            got = "no 'type'" if name is None else shown(name)
            raise self.fail((path, ".type"), f"unknown {what} {got}; expected one of {expected}")
        cls = classes[name]
        _, fields = WIRE[cls]
        allowed = {wire for _, wire, _ in fields} | {"type"}
        if self.lenient and cls is RepeatTimes and "times" in obj:
            if "time" in obj:
                raise self.fail(
                    (path, ".times"), "give 'time' (the server's name) or 'times', not both"
                )
            obj = {("time" if key == "times" else key): v for key, v in obj.items()}
        self.check_keys(obj, frozenset(allowed), path, f"the {name} {what}")
        arguments = []
        nan_attributes = []
        for attribute, wire, kind in fields:
            if obj.get(wire) is None:
                if self.server_nan(obj, wire, kind):
                    nan_attributes.append(attribute)
                    arguments.append(0.0)
                    continue
                raise self.fail((path, "." + wire), f"missing required field {wire!r} of {name}")
            arguments.append(self.scalar(obj[wire], kind, (path, "." + wire)))
        try:
            result = cls(*arguments)
        except SpecError as exc:  # pragma: no cover - the scalar checks come first
            raise self.fail(path, str(exc)) from None
        for attribute in nan_attributes:
            object.__setattr__(result, attribute, math.nan)
        return result

    def server_nan(self, obj: dict[str, Any], wire: str, kind: str) -> bool:
        """Whether a ``null`` is read as NaN: the server's decoder does so for doubles.

        The builder refuses NaN, so the value is built with a placeholder and NaN is put in
        afterwards; it is always the one `math.nan` object, which keeps equal specs equal.
        """
        return not self.lenient and kind == "float" and wire in obj

    def parameters(self, value: object, path: Path) -> tuple[tuple[str, ParameterValue], ...]:
        """Read a node's parameters: typed values by name."""
        key = _memo_key("parameters", value)
        if key is not None:
            found = self.seen.get(key)
            if found is None:
                found = self.seen[key] = self.read_parameters(value, path)
            return found
        return self.read_parameters(value, path)

    def read_parameters(self, value: object, path: Path) -> tuple[tuple[str, ParameterValue], ...]:
        obj = self.expect_object(value, path, "parameters")
        self.check_names(obj, path)
        result: list[tuple[str, ParameterValue]] = []
        for name, raw in obj.items():
            where = (path, key_segment(name))
            item = self.expect_object(
                raw, where, 'a typed parameter such as {"type":"StringVal","value":"..."}'
            )
            kind = item.get("type")
            if kind == "Secret":
                result.append((name, self.secret(item, where)))
                continue
            cls = PARAMETER_CLASSES.get(kind) if isinstance(kind, str) else None
            if cls is None:
                raise self.fail(
                    (where, ".type"),
                    f"unknown parameter type {shown(kind)}; expected StringVal, IntVal, FloatVal, "
                    "BoolVal or Secret",
                )
            self.check_keys(item, frozenset(("type", "value")), where, f"a {kind} parameter")
            ((_, _, field_kind),) = WIRE[cls][1]
            if item.get("value") is None:
                if self.server_nan(item, "value", field_kind):
                    nan = FloatVal(0.0)
                    object.__setattr__(nan, "value", math.nan)
                    result.append((name, nan))
                    continue
                # SDK mode holds finite numbers only; server mode reads a null FloatVal as NaN.
                reason = "null (NaN) is only read in server mode" if cls is FloatVal else "missing"
                raise self.fail((where, ".value"), f"{reason}: required field 'value' of {kind}")
            result.append((name, cls(self.scalar(item["value"], field_kind, (where, ".value")))))
        return tuple(sorted(result))

    def secret(self, item: dict[str, Any], where: Path) -> Secret:
        """Read ``{"type": "Secret", "ref": {"path": ..., "field": ..., "version": ...}}``."""
        self.check_keys(item, frozenset(("type", "ref")), where, "a Secret parameter")
        ref_path = (where, ".ref")
        ref = self.expect_object(item.get("ref"), ref_path, "a secret reference")
        keys = ("path", "field", "version")
        self.check_keys(ref, frozenset((*keys, "type")), ref_path, "a secret reference")
        if ref.get("path") is None:
            raise self.fail((ref_path, ".path"), "missing required field 'path'")
        path, field, version = (
            None if ref.get(key) is None else self.scalar(ref[key], "text", (ref_path, "." + key))
            for key in keys
        )
        return Secret(str(path), field, version)

    def condition_type(self, obj: dict[str, Any], path: Path) -> str:
        name = obj.get("type")
        allowed = _CONDITION_KEYS if self.json_conditions else list(_CONDITION_KEYS)[:4]
        if not isinstance(name, str) or name not in allowed:
            got = "no 'type'" if name is None else shown(name)
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
    from ..spec import Spec

    reader = _Reader(lenient=lenient, json_conditions=json_conditions)
    root = reader.expect_object(value, None, "a spec")
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
    pending: list[tuple[str, Any, Path, list[Any] | None, int]] = []
    entry_slots: list[Any] = [None] * len(entries)
    for index in range(len(entries) - 1, -1, -1):
        where = ((None, ".entryPoints"), f"[{index}]")
        pending.append(("node", entries[index], where, entry_slots, index))
    readers = {"node": _read_node, "condition": _read_condition, "edge": _read_edge}
    # A dict from Python code can contain itself: the ids of the objects on the current path
    # find that (each object pushes a marker that takes it off the path once its children are
    # read). Objects shared between branches are not cycles and are read once per place.
    on_path: set[int] = set()
    while pending:
        kind, raw, path, parent_slots, slot = pending.pop()
        if kind == "exit":
            on_path.discard(raw)
            continue
        if type(raw) is dict:
            key = id(raw)
            if key in on_path:
                raise reader.fail(path, "this object contains itself (a reference cycle)")
            on_path.add(key)
            pending.append(("exit", key, None, None, 0))
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


def _expect_node(reader: _Reader, raw: object, path: Path) -> None:
    if not isinstance(raw, dict):
        raise reader.fail(path, f"expected a node (a JSON object), got {_type_name(raw)}")


def _read_node(
    reader: _Reader, raw: object, path: Path, record: list[Any], pending: list[Any]
) -> None:
    obj = reader.expect_object(raw, path, "a node")
    kind = obj.get("type")
    if not isinstance(kind, str) or kind not in _NODE_KEYS:  # a JSON array/object is unhashable
        got = "no 'type'" if kind is None else shown(kind)
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
        reader.check_names(branches, (path, ".branches"))
        names = list(branches)
        branch_slots: list[Any] = [None] * len(names)
        for index in range(len(names) - 1, -1, -1):
            where = ((path, ".branches"), key_segment(names[index]))
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
    reader: _Reader, raw: object, path: Path, record: list[Any], pending: list[Any]
) -> None:
    edge = reader.expect_object(raw, path, 'an edge {"condition": ..., "to": ...}')
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
        return ForkNode(**common, branch_nodes=tuple(zip(names, slots, strict=True)))

    return factory


def _read_condition(
    reader: _Reader, raw: object, path: Path, record: list[Any], pending: list[Any]
) -> None:
    obj = reader.expect_object(raw, path, "a condition")
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
