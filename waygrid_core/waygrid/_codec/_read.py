"""Reading specs: as strict as the server, plus the leniencies the published docs promise."""

from __future__ import annotations

import marshal
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .._json import loads_unchecked
from .._values import check_address, check_duration, shown
from ..conditions.condition import (
    AndCondition,
    Condition,
    ConditionalEdge,
    JsonEqualsCondition,
    JsonExistsCondition,
    NotCondition,
    OrCondition,
)
from ..errors import SpecError
from ..nodes import ForkNode, StandardNode
from ..nodes.fork import branch_order
from ..policies.repeat import RepeatPolicy
from ..strategies.join import JoinStrategy
from ._node_fields import (
    ADDRESS,
    BUILD,
    DELIVERY,
    FIELD,
    LABEL,
    PARAMETERS,
    POLICIES,
    RETRY,
    TEMPLATES,
)
from ._read_values import (
    InfiniteDurationDecodeError,
    ReadMode,
    ValueReader,
    members_of,
    type_name,
)
from ._tables import EDGES, Edge, Path, key_segment

if TYPE_CHECKING:
    from ..spec import Spec

__all__ = ["InfiniteDurationDecodeError", "ReadMode", "decode_json", "decode_spec"]

_COMMON_KEYS = ("type", "address", "retryPolicy", "deliveryStrategy", "parameters", "label")
_KIND_KEYS = {
    "standard": (),
    "fork": ("joinNodeId",),
    "join": ("joinNodeId", "strategy", "timeout"),
}
_NODE_KEY_SETS = {
    kind: frozenset((*_COMMON_KEYS, *_KIND_KEYS[kind], *(edge.wire for edge in edges)))
    for kind, edges in EDGES.items()
}
_EDGES_BACKWARDS = {
    kind: tuple(
        (edge, edge.wire, edge.shape, FIELD[kind][edge.attribute], "." + edge.wire)
        for edge in reversed(edges)
    )
    for kind, edges in EDGES.items()
}
"""Each kind's edges, last first, with the fields the reader uses and the path segment."""
_CONDITION_KEYS = {
    "Always": (),
    "Not": ("cond",),
    "And": ("all",),
    "Or": ("any",),
    "JsonExists": ("pointer",),
    "JsonEquals": ("pointer", "value"),
}
_SERVER_CONDITIONS = ("Always", "Not", "And", "Or")
_dumps = marshal.dumps  # `ValueReader.key` of a parsed document, inline


_Task = tuple["_ReadFn", Any, Path, Any, "int | str"]
"""One JSON object of the tree, to read in pass 1: ``(read, raw, path, slots, slot)``; pass 2
builds it into ``slots[slot]``. A ``read`` of None marks where an object leaves the current
path again (see `_read_tree`)."""

_Built = tuple[Callable[..., Any], Sequence[Any]]
"""How pass 2 builds an object: ``(make, args)``."""

_ReadFn = Callable[["_Reader", Any, Path, list[_Task]], _Built]
"""Reads one object (raw, at path), pushes its children's tasks, and says how to build it."""


class _Reader(ValueReader):
    """Reads one spec document; ``mode`` says how strictly."""

    def __init__(self, *, mode: ReadMode, json_conditions: bool, parsed: bool) -> None:
        super().__init__(mode=mode, json_conditions=json_conditions, parsed=parsed)
        self.addresses: set[str] = set()

    def condition_type(self, obj: dict[str, Any], path: Path) -> str:
        name = obj.get("type")
        allowed = _CONDITION_KEYS if self.json_conditions else _SERVER_CONDITIONS
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

    def address(self, value: object, path: Path) -> str:
        if type(value) is str and value in self.addresses:
            return value
        try:
            address = check_address(value)
        except SpecError as exc:
            raise self.fail((path, ".address"), str(exc)) from None
        self.addresses.add(address)
        return address


def decode_spec(
    value: object,
    *,
    mode: ReadMode = "sdk",
    json_conditions: bool = True,
    acyclic: bool = False,
) -> Spec:
    """Read a spec from parsed JSON.

    Args:
        value: The value of ``"graph"``.
        mode: ``"sdk"`` (the default) accepts what the published docs promise beyond the
            server: missing ``retryPolicy``/``deliveryStrategy``, ``times`` for ``time``.
            ``"server"`` reads exactly like the server (which also reads numbers written
            inside strings, and a ``null`` double as NaN).
        json_conditions: Accept the documented ``JsonExists``/``JsonEquals`` conditions.
        acyclic: ``value`` came from a JSON parser: it holds JSON types only and no object
            contains itself, so the cycle check is skipped.

    Raises:
        SpecDecodeError: with the path of the first offending value.
    """
    reader = _Reader(mode=mode, json_conditions=json_conditions, parsed=acyclic)
    return _decode(reader, value)


def decode_json(text: str | bytes) -> Spec:
    """`decode_spec` of `loads_strict` (``text``), each failing exactly as there, for less:
    the reader counts the members of the objects it reads for `loads_unchecked`."""
    value, check = loads_unchecked(text)
    reader = _Reader(mode="sdk", json_conditions=True, parsed=True)
    try:
        spec = _decode(reader, value)
    except Exception:
        check(None)  # a duplicate key is reported first, as by `loads_strict`
        raise
    check(reader.members)
    return spec


def _decode(reader: _Reader, value: object) -> Spec:
    from ..spec import Spec

    root = reader.expect_object(value, None, "a spec")
    reader.members += len(root)
    reader.check_keys(root, frozenset(("entryPoints", "repeatPolicy", "type")), None, "the spec")
    entries = root.get("entryPoints")
    if not isinstance(entries, list) or not entries:
        got = "an empty array" if entries == [] else type_name(entries)
        raise reader.fail((None, ".entryPoints"), f"expected a non-empty array of nodes, got {got}")
    repeat_raw = reader.require(root, "repeatPolicy", None)
    repeat = reader.wire(repeat_raw, RepeatPolicy, (None, ".repeatPolicy"))

    entry_slots: list[Any] = [None] * len(entries)
    pending: list[_Task] = [
        (_read_node, entries[index], ((None, ".entryPoints"), f"[{index}]"), entry_slots, index)
        for index in range(len(entries) - 1, -1, -1)
    ]
    records = _read_tree(reader, pending, reader.parsed)
    # Pass 2 (reverse order): build children before their parents.
    path: Path = None
    try:
        for slots, slot, make, args, path in reversed(records):  # noqa: B007 (used on failure)
            slots[slot] = make(*args)
    except SpecError as exc:
        raise reader.fail(path, str(exc)) from None
    return Spec(tuple(entry_slots), repeat)


_Record = tuple[Any, "int | str", Callable[..., Any], Sequence[Any], Path]
"""A read object, for pass 2: ``(slots, slot, make, args, path)``."""


def _read_tree(reader: _Reader, pending: list[_Task], acyclic: bool) -> list[_Record]:
    """Pass 1 (pre-order, explicit stack): check every object and record how to build it."""
    records: list[_Record] = []
    append, pop = records.append, pending.pop
    if acyclic:
        while pending:
            read, raw, path, slots, slot = pop()
            # The parent's record comes before its children's: they are read after it returns.
            make, args = read(reader, raw, path, pending)
            append((slots, slot, make, args, path))
        return records
    # A dict from Python code can contain itself: the ids of the objects on the current path
    # find that (each object pushes a marker that takes it off the path once its children are
    # read). Objects shared between branches are not cycles and are read once per place.
    on_path: set[int] = set()
    while pending:
        read, raw, path, slots, slot = pending.pop()
        if read is None:
            on_path.discard(raw)
            continue
        if type(raw) is dict:
            key = id(raw)
            if key in on_path:
                raise reader.fail(path, "this object contains itself (a reference cycle)")
            on_path.add(key)
            pending.append((None, key, None, None, 0))  # type: ignore[arg-type]
        make, args = read(reader, raw, path, pending)
        append((slots, slot, make, args, path))
    return records


def _read_node(reader: _Reader, raw: Any, path: Path, pending: list[_Task]) -> _Built:
    obj = raw if type(raw) is dict else reader.expect_object(raw, path, "a node")
    kind = obj.get("type")
    if type(kind) is not str or kind not in _NODE_KEY_SETS:  # a JSON array/object is unhashable
        got = "no 'type'" if kind is None else shown(kind)
        raise reader.fail(
            (path, ".type"), f"unknown node type {got}; expected 'standard', 'fork' or 'join'"
        )
    if not obj.keys() <= _NODE_KEY_SETS[kind]:
        reader.check_keys(obj, _NODE_KEY_SETS[kind], path, f"a {kind} node")
    members = len(obj)
    address = obj.get("address")
    if type(address) is not str or address not in reader.addresses:  # else checked already
        address = reader.address(reader.require(obj, "address", path), path)
    values = TEMPLATES[kind].copy()
    values[ADDRESS] = address
    # Nodes repeat their policies and parameters: read once per distinct JSON form, together.
    small = (obj.get("retryPolicy"), obj.get("deliveryStrategy"), obj.get("parameters"))
    try:
        key = _dumps(small) if reader.parsed else None  # `ValueReader.key`, inline
    except ValueError:  # nested too deeply to marshal: read (and refused) below
        key = None
    memo = reader.memos[_SMALL]
    found = memo.get(key)
    if found is None:
        before = reader.members
        found = (*_read_small(reader, small, obj, path), reader.members - before)
        if key is not None:
            memo[key] = found
    else:
        reader.members += found[3]
    values[RETRY], values[DELIVERY], values[PARAMETERS] = found[0], found[1], found[2]
    label = obj.get("label")
    if label is not None:
        values[LABEL] = label if type(label) is str else reader.text(label, (path, ".label"))
    reader.members += members
    built: _Built = (BUILD[kind], values)
    if kind == "fork":
        _read_fork_fields(reader, obj, path, values)
    elif kind == "join":
        _read_join_fields(reader, obj, path, values)
    # Children are pushed last edge first, so they are read (and fail) in wire order.
    for edge, wire, shape, field, segment in _EDGES_BACKWARDS[kind]:
        child = obj.get(wire)
        if child is None and shape != "branches":
            continue
        if shape == "node":
            where = (path, segment)
            if type(child) is not dict:
                raise reader.fail(where, f"expected a node (a JSON object), got {type_name(child)}")
            pending.append((_read_node, child, where, values, field))
        elif shape == "edges":
            built = _read_conditional_edges(reader, path, obj, edge, field, built, pending)
        else:
            built = _read_branches(reader, path, obj, edge, field, values, pending)
    return built


_SMALL = "small values"
"""The memo family of a node's policies and parameters, read together (see `_read_small`)."""


def _read_small(
    reader: _Reader, small: tuple[Any, Any, Any], obj: dict[str, Any], path: Path
) -> tuple[Any, Any, Any]:
    """A node's retry policy, delivery strategy and parameters, defaults where absent."""
    *policies, parameters = small
    read: list[Any] = []
    for (_, wire, family, default), raw in zip(POLICIES, policies, strict=True):
        if raw is None:
            if reader.server:
                reader.require(obj, wire, path)
            read.append(default)
        else:
            read.append(reader.wire(raw, family, (path, "." + wire)))
    return read[0], read[1], () if parameters is None else reader.parameters(parameters, path)


def _read_conditional_edges(
    reader: _Reader,
    path: Path,
    obj: dict[str, Any],
    edge: Edge,
    field: int,
    built: _Built,
    pending: list[_Task],
) -> _Built:
    wire = "." + edge.wire
    edges_raw = obj.get(edge.wire)
    if edges_raw is None:
        return built
    if not isinstance(edges_raw, list):
        raise reader.fail((path, wire), f"expected an array of edges, got {type_name(edges_raw)}")
    if not edges_raw:
        return built
    edge_slots: list[Any] = [None] * len(edges_raw)
    for index in range(len(edges_raw) - 1, -1, -1):
        where = ((path, wire), f"[{index}]")
        pending.append((_read_edge, edges_raw[index], where, edge_slots, index))
    return _standard_with_edges, (built[1], field, edge_slots)


def _standard_with_edges(values: list[Any], field: int, edge_slots: list[Any]) -> StandardNode:
    values[field] = tuple(edge_slots)
    node: StandardNode = BUILD["standard"](*values)
    return node


def _read_fork_fields(reader: _Reader, obj: dict[str, Any], path: Path, values: list[Any]) -> None:
    branches = reader.require(obj, "branches", path)
    if not isinstance(branches, dict):
        raise reader.fail(
            (path, ".branches"), f"expected an object of branches, got {type_name(branches)}"
        )
    join_id = reader.require(obj, "joinNodeId", path)
    values[FIELD["fork"]["join_node_id"]] = reader.text(join_id, (path, ".joinNodeId"))


def _read_branches(
    reader: _Reader,
    path: Path,
    obj: dict[str, Any],
    edge: Edge,
    field: int,
    values: list[Any],
    pending: list[_Task],
) -> _Built:
    wire = "." + edge.wire
    branches = obj[edge.wire]  # checked by _read_fork_fields
    reader.members += len(branches)
    reader.check_names(branches, (path, wire))
    names = list(branches)
    branch_slots: list[Any] = [None] * len(names)
    for index in range(len(names) - 1, -1, -1):
        where = ((path, wire), key_segment(names[index]))
        branch = branches[names[index]]
        if not isinstance(branch, dict):
            raise reader.fail(where, f"expected a node (a JSON object), got {type_name(branch)}")
        pending.append((_read_node, branch, where, branch_slots, index))
    return _fork, (values, field, names, branch_slots)


def _fork(values: list[Any], field: int, names: list[str], slots: list[Any]) -> ForkNode:
    values[field] = tuple(sorted(zip(names, slots, strict=True), key=branch_order))
    node: ForkNode = BUILD["fork"](*values)
    return node


def _read_join_fields(reader: _Reader, obj: dict[str, Any], path: Path, values: list[Any]) -> None:
    fields = FIELD["join"]
    join_id = reader.require(obj, "joinNodeId", path)
    values[fields["join_node_id"]] = reader.text(join_id, (path, ".joinNodeId"))
    strategy = reader.require(obj, "strategy", path)
    values[fields["join_strategy"]] = reader.wire(strategy, JoinStrategy, (path, ".strategy"))
    if obj.get("timeout") is not None:
        timeout = reader.scalar(obj["timeout"], "duration", (path, ".timeout"))
        try:
            values[fields["join_timeout"]] = check_duration(timeout, "timeout()")
        except SpecError as exc:  # pragma: no cover - parse_duration gives valid durations
            raise reader.fail((path, ".timeout"), str(exc)) from None


def _read_edge(reader: _Reader, raw: Any, path: Path, pending: list[_Task]) -> _Built:
    edge = reader.expect_object(raw, path, 'an edge {"condition": ..., "to": ...}')
    reader.check_keys(edge, frozenset(("condition", "to", "type")), path, "an edge")
    reader.members += len(edge)
    for wire in ("condition", "to"):
        reader.require(edge, wire, path)
    slots: list[Any] = [None, None]
    pending.append((_read_node, edge["to"], (path, ".to"), slots, 1))
    pending.append((_read_condition, edge["condition"], (path, ".condition"), slots, 0))
    return _edge, (slots,)


def _edge(slots: list[Any]) -> ConditionalEdge:
    return ConditionalEdge(slots[0], slots[1])


def _read_condition(reader: _Reader, raw: Any, path: Path, pending: list[_Task]) -> _Built:
    obj = reader.expect_object(raw, path, "a condition")
    name = reader.condition_type(obj, path)
    reader.members += len(obj)
    if name == "Always":
        return _always, ()
    if name == "Not":
        slots: list[Any] = [None]
        cond = reader.require(obj, "cond", path)
        pending.append((_read_condition, cond, (path, ".cond"), slots, 0))
        return _not, (slots,)
    if name in ("And", "Or"):
        wire = "all" if name == "And" else "any"
        members = reader.require(obj, wire, path)
        if not isinstance(members, list):
            raise reader.fail(
                (path, "." + wire), f"expected an array of conditions, got {type_name(members)}"
            )
        member_slots: list[Any] = [None] * len(members)
        for index in range(len(members) - 1, -1, -1):
            where = ((path, "." + wire), f"[{index}]")
            pending.append((_read_condition, members[index], where, member_slots, index))
        return (_and if name == "And" else _or), (member_slots,)
    pointer = reader.text(reader.require(obj, "pointer", path), (path, ".pointer"))
    if name == "JsonExists":
        return JsonExistsCondition, (pointer,)
    if "value" not in obj:
        raise reader.fail((path, ".value"), "missing required field 'value'")
    if reader.parsed:
        reader.members += members_of(obj["value"])
    return JsonEqualsCondition, (pointer, obj["value"])


def _always() -> Condition:
    return Condition.ALWAYS


def _not(slots: list[Any]) -> NotCondition:
    return NotCondition(slots[0])


def _and(slots: list[Any]) -> AndCondition:
    return AndCondition(tuple(slots))


def _or(slots: list[Any]) -> OrCondition:
    return OrCondition(tuple(slots))
