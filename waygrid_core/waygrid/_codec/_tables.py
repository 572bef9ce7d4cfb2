"""The codec's tables: Python classes <-> wire discriminators and fields, and paths."""

from __future__ import annotations

import json
from collections.abc import Callable
from json.encoder import encode_basestring_ascii as quote
from typing import Any

from .._edges import EDGES, Edge, no_join_id
from .._values import format_duration, format_instant
from .._wire import WireValue
from ..parameters import BoolVal, FloatVal, IntVal, ParameterValue, Secret, StringVal
from ..policies.delivery import DeliveryStrategy, Immediate, ScheduleAfter, ScheduleAt
from ..policies.repeat import NoRepeat, RepeatIndefinitely, RepeatPolicy, RepeatTimes, RepeatUntil
from ..policies.retry import (
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
from ..strategies.join import AndJoin, JoinStrategy, OrJoin, QuorumJoin

__all__ = [
    "EDGES",
    "FAMILIES",
    "FAMILY_NAMES",
    "PARAMETER_CLASSES",
    "WIRE",
    "Edge",
    "Path",
    "fragment",
    "edge_path",
    "key_segment",
    "no_join_id",
    "parameters_fragment",
    "quote",
    "render_path",
    "wire_value",
]

# Field kinds: "duration", "instant", "int32", "int64", "float", "text", "bool".
_Field = tuple[str, str, str]
"""(Python attribute, wire name, kind)."""

_BASE: _Field = ("base", "base", "duration")
_RETRIES: _Field = ("max_retries", "maxRetries", "int32")
_EVERY: _Field = ("every", "every", "duration")

WIRE: dict[type[WireValue], tuple[str, tuple[_Field, ...]]] = {
    NoRetryPolicy: ("None", ()),
    LinearRetryPolicy: ("Linear", (_BASE, _RETRIES)),
    ExponentialRetryPolicy: ("Exponential", (_BASE, _RETRIES)),
    BoundedExponentialRetryPolicy: (
        "BoundedExponential",
        (_BASE, ("cap", "cap", "duration"), _RETRIES),
    ),
    FibonacciRetryPolicy: ("Fibonacci", (_BASE, _RETRIES)),
    PolynomialRetryPolicy: ("Polynomial", (_BASE, _RETRIES, ("power", "power", "float"))),
    DecorrelatedJitterRetryPolicy: ("DecorrelatedJitter", (_BASE, _RETRIES)),
    FullJitterRetryPolicy: ("FullJitter", (_BASE, _RETRIES)),
    Immediate: ("Immediate", ()),
    ScheduleAfter: ("ScheduleAfter", (("delay", "delay", "duration"),)),
    ScheduleAt: ("ScheduleAt", (("time", "time", "instant"),)),
    NoRepeat: ("NoRepeat", ()),
    RepeatIndefinitely: ("Indefinitely", (_EVERY,)),
    RepeatTimes: ("Times", (_EVERY, ("times", "time", "int64"))),
    RepeatUntil: ("Until", (_EVERY, ("until", "until", "instant"))),
    AndJoin: ("And", ()),
    OrJoin: ("Or", ()),
    QuorumJoin: ("Quorum", (("n", "n", "int32"),)),
    StringVal: ("StringVal", (("value", "value", "text"),)),
    IntVal: ("IntVal", (("value", "value", "int32"),)),
    FloatVal: ("FloatVal", (("value", "value", "float"),)),
    BoolVal: ("BoolVal", (("value", "value", "bool"),)),
}
"""Every small wire value: its discriminator and its fields in the server's order."""

FAMILIES: dict[type[WireValue], dict[str, type[WireValue]]] = {
    base: {name: cls for cls, (name, _) in WIRE.items() if issubclass(cls, base)}
    for base in (RetryPolicy, DeliveryStrategy, RepeatPolicy, JoinStrategy)
}
PARAMETER_CLASSES: dict[str, type[StringVal | IntVal | FloatVal | BoolVal]] = {
    "StringVal": StringVal,
    "IntVal": IntVal,
    "FloatVal": FloatVal,
    "BoolVal": BoolVal,
}
FAMILY_NAMES: dict[type[WireValue], str] = {
    RetryPolicy: "retry policy",
    DeliveryStrategy: "delivery strategy",
    RepeatPolicy: "repeat policy",
    JoinStrategy: "join strategy",
}


def _float_or_null(value: float) -> float | None:
    """NaN (only ever read in server mode) is written back as ``null``, as the server does."""
    return None if value != value else float(value)


_ENCODE_SCALAR: dict[str, Callable[[Any], object]] = {
    "duration": format_duration,
    "instant": format_instant,
    "int32": int,
    "int64": int,
    "float": _float_or_null,
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
    name, fields = WIRE[type(value)]
    result: dict[str, Any] = {"type": name}
    for attribute, wire, kind in fields:
        result[wire] = _ENCODE_SCALAR[kind](getattr(value, attribute))
    return result


def fragment(value: WireValue) -> str:
    """The canonical JSON text of a small value, cached on the (immutable) value."""
    try:
        return value._json
    except AttributeError:
        text = json.dumps(wire_value(value), separators=(",", ":"), allow_nan=False)
        object.__setattr__(value, "_json", text)
        return text


def parameters_fragment(parameters: tuple[tuple[str, ParameterValue], ...]) -> str:
    """The ``,"parameters":{...}`` member of a node."""
    inner = ",".join(quote(name) + ":" + fragment(value) for name, value in parameters)
    return ',"parameters":{' + inner + "}"


Path = tuple[Any, str] | None
"""A linked JSON path, ``(parent, segment)``: rendered only when an error needs it."""


def render_path(path: Path) -> str:
    """Turn a linked path into ``$.entryPoints[0].onSuccess``."""
    segments: list[str] = []
    while path is not None:
        path, segment = path
        segments.append(segment)
    return "$" + "".join(reversed(segments))


def key_segment(key: str) -> str:
    """The path segment of an object member: ``.name``, or ``["odd name"]``."""
    if key.isidentifier():
        return "." + key
    return "[" + json.dumps(key, ensure_ascii=False) + "]"


def edge_path(path: Path, edge: Edge, key: int | str | None) -> Path:
    """The path of a child reached along ``edge`` (``key``: its edge index or branch name)."""
    if key is None:
        return (path, "." + edge.wire)
    if edge.shape == "edges":
        return ((path, "." + edge.wire), f"[{key}].to")
    return ((path, "." + edge.wire), key_segment(str(key)))
