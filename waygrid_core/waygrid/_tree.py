"""Equality, hashing and repr for tree-shaped values that never hit the recursion limit."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

__all__ = ["TreeValue"]

_REPR_DEPTH = 4
_repr_state = threading.local()
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


class _Length(int):
    """Marks where a tuple's items start in a flattened part list (so shapes compare too)."""

    __slots__ = ()


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(cls))
        _FIELD_NAMES[cls] = names
    return names


def _parts(tree: TreeValue) -> list[object]:
    """Every field of ``tree`` in order, tuples flattened so that child trees sit inline.

    Tuples nest only a level or two (edges, ``(name, node)`` branches, parameter pairs), but
    they are still flattened with a stack rather than recursion.
    """
    flat: list[object] = []
    for name in _field_names(type(tree)):
        value = getattr(tree, name)
        if type(value) is not tuple:
            flat.append(value)
            continue
        stack: list[Any] = [value]
        while stack:
            item = stack.pop()
            if type(item) is tuple:
                flat.append(_Length(len(item)))
                stack.extend(reversed(item))
            else:
                flat.append(item)
    return flat


class TreeValue:
    """Base of the nodes, conditions, edges and the spec: value semantics without recursion.

    A generated dataclass ``__eq__``/``__hash__``/``__repr__`` recurses once per level, so a
    10,000-deep ``on_success`` chain would raise `RecursionError`. The methods here compare
    and hash every dataclass field (read once per class from `dataclasses.fields`, so a new
    field can never be left out), walking child trees with an explicit stack, and cache the
    hash.
    """

    __slots__ = ("_hash",)

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if type(other) is not type(self):
            return NotImplemented
        pending: list[tuple[TreeValue, Any]] = [(self, other)]
        while pending:
            left, right = pending.pop()
            if left is right:
                continue
            if type(left) is not type(right):
                return False
            left_hash = getattr(left, "_hash", None)
            right_hash = getattr(right, "_hash", None)
            if left_hash is not None and right_hash is not None and left_hash != right_hash:
                return False
            left_parts, right_parts = _parts(left), _parts(right)
            if len(left_parts) != len(right_parts):
                return False
            for a, b in zip(left_parts, right_parts, strict=True):
                if isinstance(a, TreeValue):
                    pending.append((a, b))
                elif type(a) is not type(b) or a != b:
                    return False
        return True

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        cached: int | None = getattr(self, "_hash", None)
        if cached is not None:
            return cached
        pending: list[tuple[TreeValue, bool]] = [(self, False)]
        while pending:
            tree, children_done = pending.pop()
            if getattr(tree, "_hash", None) is not None:
                continue
            parts = _parts(tree)
            if children_done:
                key = tuple(p._hash if isinstance(p, TreeValue) else p for p in parts)  # type: ignore[attr-defined]
                object.__setattr__(tree, "_hash", hash((type(tree).__name__, key)))
                continue
            pending.append((tree, True))
            pending.extend(
                (p, False)
                for p in parts
                if isinstance(p, TreeValue) and getattr(p, "_hash", None) is None
            )
        result: int = self._hash  # type: ignore[attr-defined]
        return result

    def __repr__(self) -> str:
        depth: int = getattr(_repr_state, "depth", 0)
        name = type(self).__name__
        if depth >= _REPR_DEPTH:
            return f"{name}(...)"
        _repr_state.depth = depth + 1
        try:
            shown = []
            for field in dataclasses.fields(self):  # type: ignore[arg-type]
                value = getattr(self, field.name)
                if field.default is not dataclasses.MISSING and value == field.default:
                    continue
                if value == () and field.default_factory is not dataclasses.MISSING:
                    continue
                shown.append(f"{field.name}={value!r}")
            return f"{name}({', '.join(shown)})"
        finally:
            _repr_state.depth = depth
