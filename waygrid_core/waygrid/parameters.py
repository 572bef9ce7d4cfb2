"""Node parameters: typed values, and references to secrets the server resolves."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ._values import check_float, check_int, check_text
from ._wire import NanEqualValue, WireValue
from .errors import SpecError

__all__ = [
    "BoolVal",
    "FloatVal",
    "IntVal",
    "ParameterInput",
    "ParameterValue",
    "Secret",
    "StringVal",
    "to_parameter",
    "to_parameters",
]


@dataclass(frozen=True, slots=True)
class StringVal(WireValue):
    """A string parameter. Wire form ``{"type": "StringVal", "value": ...}``."""

    value: str

    def __post_init__(self) -> None:
        check_text(self.value, "StringVal.value")


@dataclass(frozen=True, slots=True)
class IntVal(WireValue):
    """A 32-bit integer parameter. Wire form ``{"type": "IntVal", "value": ...}``."""

    value: int

    def __post_init__(self) -> None:
        check_int(self.value, "IntVal.value")


@dataclass(frozen=True, slots=True, eq=False)
class FloatVal(NanEqualValue):
    """A finite float parameter. Wire form ``{"type": "FloatVal", "value": ...}``."""

    value: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", check_float(self.value, "FloatVal.value"))


@dataclass(frozen=True, slots=True)
class BoolVal(WireValue):
    """A boolean parameter. Wire form ``{"type": "BoolVal", "value": ...}``."""

    value: bool

    def __post_init__(self) -> None:
        if not isinstance(self.value, bool):
            raise SpecError(f"BoolVal.value must be a bool, got {self.value!r}")


@dataclass(frozen=True, slots=True)
class Secret(WireValue):
    """A reference to a secret the server resolves, e.g. ``Secret("tenant/openai", field="key")``.

    Wire form ``{"type": "Secret", "ref": {"path": ..., "field": ..., "version": ...}}`` with
    ``field`` and ``version`` omitted when None. The secret's value never passes through the SDK.
    """

    path: str
    """Where the secret lives, e.g. ``tenant-123/openai``."""
    field: str | None = None
    """Which field of the secret, if it has several."""
    version: str | None = None
    """A pinned version; the latest when None."""

    def __post_init__(self) -> None:
        check_text(self.path, "Secret.path")
        if self.field is not None:
            check_text(self.field, "Secret.field")
        if self.version is not None:
            check_text(self.version, "Secret.version")


ParameterValue = StringVal | IntVal | FloatVal | BoolVal | Secret
"""A parameter value as the server holds it."""

ParameterInput = str | int | float | bool | ParameterValue
"""What `with_parameters` accepts for a value: plain Python scalars or parameter values."""

_PARAMETER_TYPES = (StringVal, IntVal, FloatVal, BoolVal, Secret)


def to_parameter(name: str, value: object) -> ParameterValue:
    """Turn a Python value into a parameter value (``bool`` is tested before ``int``)."""
    if isinstance(value, _PARAMETER_TYPES):
        return value
    try:
        if isinstance(value, bool):
            return BoolVal(value)
        if isinstance(value, int):
            return IntVal(value)
        if isinstance(value, float):
            return FloatVal(value)
        if isinstance(value, str):
            return StringVal(value)
    except SpecError as exc:
        raise SpecError(f"parameter {name!r}: {exc}") from None
    raise SpecError(
        f"parameter {name!r} must be a str, int, float, bool or Secret, "
        f"got {type(value).__name__} {value!r}"
    )


def to_parameters(
    values: Mapping[str, object] | Iterable[tuple[str, object]],
) -> tuple[tuple[str, ParameterValue], ...]:
    """Convert and sort parameters by name (their canonical order)."""
    items = values.items() if isinstance(values, Mapping) else values
    converted: dict[str, ParameterValue] = {}
    for name, value in items:
        check_text(name, "parameter name")
        converted[name] = to_parameter(name, value)
    return tuple(sorted(converted.items()))
