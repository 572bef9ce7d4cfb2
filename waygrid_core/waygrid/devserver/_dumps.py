"""Compact JSON bytes for every dev server answer, however deep the document."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from typing import Any, cast

__all__ = ["dumps", "scalar"]


def dumps(document: Any) -> bytes:
    """Compact UTF-8 JSON of any document the dev server accepted, however deep.

    Lone surrogates are written as ``\\udxxx`` escapes and infinities (from literals such as
    ``1e999``) as ``1e999``/``-1e999``; NaN (a null double read like the server) as ``null``.
    """
    try:
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (ValueError, RecursionError):  # infinities, or nested beyond the C encoder's reach
        return _dumps_iterative(document).encode("ascii")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: escape them instead
        return json.dumps(document, separators=(",", ":"), allow_nan=False).encode("ascii")


_encode_string: Any = json.encoder.encode_basestring_ascii


def scalar(value: object, string: Callable[[str], str] = _encode_string) -> str:
    """One JSON scalar: ``string`` writes strings (ASCII escapes by default); NaN (a null
    double) is ``null`` and an infinity ``1e999``/``-1e999``, the literals it was read from."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return string(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "null"
        if math.isinf(value):
            return "1e999" if value > 0 else "-1e999"
        return repr(value)
    if isinstance(value, int):
        return int.__repr__(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _dumps_iterative(document: Any) -> str:
    """Compact ASCII JSON with an explicit stack (any depth), like `json.dumps`' output."""
    out: list[str] = []
    # Each open container: its remaining items, and whether it is an object.
    stack: list[tuple[Iterator[Any], bool]] = []
    value: Any = document
    first = True
    while True:
        if isinstance(value, dict):
            out.append("{")
            stack.append((iter(value.items()), True))
            first = True
        elif isinstance(value, (list, tuple)):
            out.append("[")
            stack.append((iter(value), False))
            first = True
        else:
            out.append(scalar(value))
        while stack:
            items, keyed = stack[-1]
            item = next(items, _END)
            if item is _END:
                stack.pop()
                out.append("}" if keyed else "]")
                first = False
                continue
            if not first:
                out.append(",")
            first = False
            if keyed:
                key, value = cast("tuple[object, Any]", item)
                out.append(scalar(str(key)) + ":")
            else:
                value = item
            break
        else:
            return "".join(out)


_END = object()
