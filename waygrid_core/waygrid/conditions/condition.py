"""Conditions on a standard node's outgoing edges, and the edges themselves."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from .._tree import TreeValue
from .._values import check_text
from ..errors import SpecError

if TYPE_CHECKING:
    from ..nodes import INode
    from ..types import JsonValue

__all__ = [
    "AlwaysCondition",
    "AndCondition",
    "Condition",
    "ConditionalEdge",
    "JsonEqualsCondition",
    "JsonExistsCondition",
    "NotCondition",
    "OrCondition",
]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Condition(TreeValue):
    """A condition. Build one with the static methods or use `Condition.ALWAYS`.

    The server evaluates ``Always``, ``Not``, ``And`` and ``Or``. The documented JSON-pointer
    conditions (`json_exists`, `json_equals`) are not implemented by today's server, which
    rejects specs that use them; `Spec.validate()` warns about them.

    Example:
        >>> Condition.when(Condition.json_equals("/sentiment", "negative"), escalation_node)
    """

    ALWAYS: ClassVar[AlwaysCondition]
    """Always true."""

    @staticmethod
    def json_exists(pointer: str) -> JsonExistsCondition:
        """True when the node output has a value at the JSON pointer (not on today's server)."""
        return JsonExistsCondition(pointer)

    @staticmethod
    def json_equals(pointer: str, value: JsonValue) -> JsonEqualsCondition:
        """True when the output's value at the pointer equals ``value`` (not on today's server)."""
        return JsonEqualsCondition(pointer, value)

    @staticmethod
    def not_(condition: Condition) -> NotCondition:
        """True when ``condition`` is false."""
        return NotCondition(condition)

    @staticmethod
    def and_(conditions: Iterable[Condition]) -> AndCondition:
        """True when every condition is true (an empty list is true)."""
        return AndCondition(tuple(conditions))

    @staticmethod
    def or_(conditions: Iterable[Condition]) -> OrCondition:
        """True when any condition is true (an empty list is false)."""
        return OrCondition(tuple(conditions))

    @staticmethod
    def when(condition: Condition, to: INode) -> ConditionalEdge:
        """An edge to ``to`` taken when ``condition`` holds, for `StandardNode.on_conditions`."""
        return ConditionalEdge(condition, to)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class AlwaysCondition(Condition):
    """Always true. Wire form ``{"type": "Always"}``."""


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class NotCondition(Condition):
    """Negation. Wire form ``{"type": "Not", "cond": ...}``."""

    condition: Condition
    """The negated condition."""

    def __post_init__(self) -> None:
        _check_condition(self.condition, "Condition.not_()")


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class AndCondition(Condition):
    """Conjunction. Wire form ``{"type": "And", "all": [...]}``."""

    conditions: tuple[Condition, ...] = field(default=())
    """The conditions that must all hold."""

    def __post_init__(self) -> None:
        _check_conditions(self, "Condition.and_()")


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class OrCondition(Condition):
    """Disjunction. Wire form ``{"type": "Or", "any": [...]}``."""

    conditions: tuple[Condition, ...] = field(default=())
    """The conditions of which one must hold."""

    def __post_init__(self) -> None:
        _check_conditions(self, "Condition.or_()")


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class JsonExistsCondition(Condition):
    """The output has a value at ``pointer``. Wire form ``{"type": "JsonExists", "pointer": p}``."""

    pointer: str
    """An RFC 6901 JSON pointer such as ``/result/data``."""

    def __post_init__(self) -> None:
        _check_pointer(self.pointer)


@dataclass(frozen=True, slots=True, eq=False, repr=False, init=False)
class JsonEqualsCondition(Condition):
    """The output's value at ``pointer`` equals a JSON value.

    Wire form ``{"type": "JsonEquals", "pointer": ..., "value": ...}``.
    """

    pointer: str
    """An RFC 6901 JSON pointer such as ``/status``."""
    value_json: str
    """The expected value as compact JSON text (``value`` gives it back as Python data)."""

    def __init__(self, pointer: str, value: JsonValue) -> None:
        object.__setattr__(self, "pointer", _check_pointer(pointer))
        try:
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise SpecError(f"Condition.json_equals() value must be JSON data: {exc}") from None
        except RecursionError:
            raise SpecError("Condition.json_equals() value is nested too deeply") from None
        object.__setattr__(self, "value_json", text)

    @property
    def value(self) -> JsonValue:
        """The expected value."""
        result: JsonValue = json.loads(self.value_json)
        return result


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ConditionalEdge(TreeValue):
    """An edge of a standard node taken when its condition holds. Build with `Condition.when`."""

    condition: Condition
    """When to take the edge."""
    to: INode
    """Where it leads."""

    def __post_init__(self) -> None:
        from ..nodes.base import Node

        _check_condition(self.condition, "ConditionalEdge.condition")
        if not isinstance(self.to, Node):
            raise SpecError(
                f"ConditionalEdge.to must be a node (Node.standard/fork/join), "
                f"got {type(self.to).__name__}"
            )


Condition.ALWAYS = AlwaysCondition()


def _check_condition(value: object, what: str) -> None:
    if not isinstance(value, Condition):
        raise SpecError(f"{what} expects a Condition, got {type(value).__name__} {value!r}")


def _check_conditions(owner: AndCondition | OrCondition, what: str) -> None:
    if not isinstance(owner.conditions, tuple):
        object.__setattr__(owner, "conditions", tuple(owner.conditions))
    for item in owner.conditions:
        _check_condition(item, what)


def _check_pointer(pointer: object) -> str:
    text = check_text(pointer, "JSON pointer")
    if text and not text.startswith("/"):
        raise SpecError(f"JSON pointer {text!r} must be empty or start with '/' (RFC 6901)")
    position = text.find("~")
    while position != -1:
        if text[position + 1 : position + 2] not in ("0", "1"):
            raise SpecError(f"JSON pointer {text!r} has '~' not followed by 0 or 1 (RFC 6901)")
        position = text.find("~", position + 1)
    return text
