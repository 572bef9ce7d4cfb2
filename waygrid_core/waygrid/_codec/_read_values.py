"""Reading the small values of a spec: scalars, policies, strategies and parameters."""

from __future__ import annotations

import marshal
import math
import re
from collections import defaultdict
from decimal import Decimal
from typing import Any, Literal

from .._values import InfiniteDurationError, check_int, parse_duration, parse_instant, shown
from .._wire import WireValue
from ..errors import SpecDecodeError, SpecError
from ..parameters import FloatVal, ParameterValue, Secret
from ..policies.repeat import RepeatTimes
from ._tables import FAMILIES, FAMILY_NAMES, PARAMETER_CLASSES, WIRE, Path, key_segment, render_path

__all__ = [
    "InfiniteDurationDecodeError",
    "ReadMode",
    "ValueReader",
    "members_of",
    "type_name",
]


class InfiniteDurationDecodeError(SpecDecodeError):
    """An infinite duration: the server fails on those with another exception than on other
    bad values, and the dev server answers that exception's text (not a public distinction)."""


ReadMode = Literal["sdk", "server"]
"""How strictly to read: ``"sdk"`` adds the leniencies the published docs promise (missing
``retryPolicy``/``deliveryStrategy``, ``times`` for ``time``); ``"server"`` reads exactly what
the server's decoder reads, which includes numbers written inside strings and ``null`` doubles
read as NaN."""

_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_SCALARS = frozenset((str, int, float, bool, type(None)))
_STR = frozenset((str,))


def type_name(value: object) -> str:
    """How an error message names the JSON type of ``value``."""
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


def members_of(value: object) -> int:
    """The members of every object in ``value``, a parsed JSON value (no cycles)."""
    members = 0
    pending = [value]
    while pending:
        item = pending.pop()
        if type(item) is dict:
            members += len(item)
            pending.extend(item.values())
        elif type(item) is list:
            pending.extend(item)
    return members


def _flat(value: dict[Any, Any]) -> bool:
    """Whether ``value`` has string keys and JSON scalar members only."""
    return _STR.issuperset(map(type, value)) and _SCALARS.issuperset(map(type, value.values()))


def memo_key(value: object) -> str | None:
    """A key for a small JSON object whose members are scalars or objects of scalars.

    ``repr`` of such an object tells ``1``, ``1.0``, ``True`` and ``"1"`` apart, and ``-0.0``
    from ``0.0``, which equality (and so a tuple key) does not. Anything deeper is not keyed.
    """
    if type(value) is not dict or not _STR.issuperset(map(type, value)):
        return None
    for item in value.values():
        if type(item) is dict:
            if not _flat(item):
                return None
        elif type(item) not in _SCALARS:
            return None
    return _repr(value)


def _marshalled(value: object) -> bytes | None:
    """A memo key for parsed JSON: its `marshal` bytes, made in C, which tell ``1``, ``1.0``,
    ``True`` and ``"1"`` apart, and ``-0.0`` from ``0.0``, and keep key order. Equal bytes are
    equal values of equal types; equal values may still differ in bytes (`marshal` marks
    objects referenced more than once), which only costs a second read."""
    try:
        return marshal.dumps(value)  # type: ignore[arg-type]  # parsed JSON: all marshallable
    except ValueError:  # nested too deeply to marshal: no key
        return None


def _repr(value: dict[str, Any]) -> str | None:
    try:
        return repr(value)
    except (RecursionError, ValueError):  # too deep, or an int too long to print: no key
        return None


class ValueReader:
    """Reads the scalars and small values of one spec document, sharing repeated ones."""

    def __init__(self, *, mode: ReadMode, json_conditions: bool, parsed: bool = False) -> None:
        self.server = mode == "server"
        self.parsed = parsed
        self.json_conditions = json_conditions
        # Specs repeat the same small values (policies, parameters) on many nodes; values are
        # immutable, so one object per distinct JSON form is read once and shared: per family
        # (a policy or strategy class, or `ParameterValue`), by `key`.
        self.memos: defaultdict[object, dict[object, Any]] = defaultdict(dict)
        # For a parsed document: the members of the objects read so far, each object counted
        # once at most (see `loads_unchecked`, whose duplicate-key check this count makes).
        self.members = 0

    def key(self, value: object) -> object:
        """The memo key of a small value, one that tells every JSON form apart.

        A parsed document holds JSON types only, whose `marshal` bytes are exact; a dict from
        Python code may hold anything, so only objects of scalars (and of objects of scalars)
        are keyed, by their ``repr``.
        """
        return _marshalled(value) if self.parsed else memo_key(value)

    def fail(self, path: Path, reason: str, **kwargs: Any) -> SpecDecodeError:
        return SpecDecodeError(render_path(path), reason, **kwargs)

    def require(self, obj: dict[str, Any], wire: str, path: Path, of: str = "") -> Any:
        """``obj[wire]``, or a `SpecDecodeError` at ``path.wire`` when it is absent or null."""
        value = obj.get(wire)
        if value is None:
            raise self.fail((path, "." + wire), f"missing required field {wire!r}{of}")
        return value

    def expect_object(self, value: object, path: Path, what: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected {what} (a JSON object), got {type_name(value)}")
        return value

    def check_keys(
        self, obj: dict[str, Any], allowed: frozenset[str], path: Path, what: str
    ) -> None:
        if obj.keys() <= allowed:
            return
        self.check_names(obj, path)
        unexpected = next(key for key in obj if key not in allowed)
        valid = ", ".join(sorted(allowed - {"type"}))
        raise self.fail(
            (path, key_segment(unexpected)),
            f"unexpected field {shown(unexpected)} on {what}; valid fields: {valid}",
        )

    def check_names(self, obj: dict[Any, Any], path: Path) -> None:
        """JSON object keys are strings; a dict from Python code may hold anything."""
        for key in obj:
            if not isinstance(key, str):
                raise self.fail(
                    path,
                    f"object keys must be strings, got the {type(key).__name__} key {shown(key)}",
                )

    def text(self, value: object, path: Path) -> str:
        if type(value) is str:
            return value
        result: str = self.scalar(value, "text", path)
        return result

    def scalar(self, value: object, kind: str, path: Path) -> Any:
        try:
            if kind == "duration":
                if not isinstance(value, str):
                    raise SpecError(
                        f"expected a duration string such as '5s', got {type_name(value)}"
                    )
                return parse_duration(value)
            if kind == "instant":
                if not isinstance(value, str):
                    raise SpecError(f"expected an ISO-8601 instant string, got {type_name(value)}")
                return parse_instant(value)
            if kind in ("int32", "int64"):
                return check_int(self.integer(value), "value", bits=32 if kind == "int32" else 64)
            if kind == "float":
                return self.number(value)
            if kind == "text":
                if not isinstance(value, str):
                    raise SpecError(f"expected a string, got {type_name(value)}")
                return value
            if kind == "bool":
                if not isinstance(value, bool):
                    raise SpecError(f"expected true or false, got {type_name(value)}")
                return value
        except InfiniteDurationError as exc:
            raise InfiniteDurationDecodeError(render_path(path), str(exc)) from None
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
        if self.server and isinstance(value, str) and _JSON_NUMBER.fullmatch(value):
            # The server's decoder reads integers inside strings too, in JSON number syntax
            # ("3", "3.0", "3e0"); out-of-range text fails before any exact conversion.
            number = Decimal(value)
            if number.adjusted() > 20:
                raise SpecError(f"integer {shown(value)} is out of range")
            if number == number.to_integral_value():
                return int(number)
        raise SpecError(f"expected an integer, got {type_name(value)} {shown(value)}")

    def number(self, value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise SpecError(f"expected a number, got {type_name(value)}")
        if isinstance(value, str):
            if not self.server or not _JSON_NUMBER.fullmatch(value):
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
        if type(value) is dict:
            self.members += len(value)  # a policy read without error holds scalars only
        key = self.key(value)
        if key is None:
            return self.read_wire(value, family, path)
        memo = self.memos[family]
        found = memo.get(key)
        if found is None:
            found = memo[key] = self.read_wire(value, family, path)
        return found

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
        if not self.server and cls is RepeatTimes and "times" in obj:
            if "time" in obj:
                raise self.fail(
                    (path, ".times"), "give 'time' (the server's name) or 'times', not both"
                )
            obj = {("time" if key == "times" else key): v for key, v in obj.items()}
        self.check_keys(obj, frozenset(allowed), path, f"the {name} {what}")
        arguments = []
        nan_attributes = []
        for attribute, wire, kind in fields:
            if obj.get(wire) is None and self.server_nan(obj, wire, kind):
                nan_attributes.append(attribute)
                arguments.append(0.0)
                continue
            raw = self.require(obj, wire, path, f" of {name}")
            arguments.append(self.scalar(raw, kind, (path, "." + wire)))
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
        return self.server and kind == "float" and wire in obj

    def parameters(self, value: object, node: Path) -> tuple[tuple[str, ParameterValue], ...]:
        """Read a node's parameters (``value``, at ``node.parameters``): typed values by name."""
        key = self.key(value)
        if key is None:
            if self.parsed:
                self.members += members_of(value)
            return self.read_parameters(value, (node, ".parameters"))
        memo = self.memos[ParameterValue]
        found = memo.get(key)
        if found is None:
            read = self.read_parameters(value, (node, ".parameters"))
            members = members_of(value) if self.parsed else 0
            found = memo[key] = (read, members)
        self.members += found[1]
        return found[0]

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
        self.require(ref, "path", ref_path)
        path, field, version = (
            None if ref.get(key) is None else self.scalar(ref[key], "text", (ref_path, "." + key))
            for key in keys
        )
        return Secret(str(path), field, version)
