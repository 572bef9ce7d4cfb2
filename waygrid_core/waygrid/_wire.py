"""The shared base of small wire values that cache their canonical JSON text."""

from __future__ import annotations

import dataclasses
import math

__all__ = ["NanEqualValue", "WireValue"]

_NAN = object()
"""Stands for NaN in `NanEqualValue` keys, so that NaN equals NaN."""


class WireValue:
    """Base of policies, strategies and parameter values: immutable, so their JSON is cached.

    The codec stores the encoded text in ``_json`` the first time it writes the value.
    """

    __slots__ = ("_json",)
    _json: str


class NanEqualValue(WireValue):
    """A wire value holding a float that the server-mode reader may set to NaN.

    Its dataclass is declared with ``eq=False`` so that these methods apply: fields compare by
    value with NaN equal to NaN, so a spec read back (``null`` is NaN, as on the server) equals
    the spec it was written from on every Python. (A generated ``__eq__`` compares ``nan ==
    nan``, which is false; before 3.13 a tuple's identity shortcut hid that.)
    """

    __slots__ = ()

    def _key(self) -> tuple[object, ...]:
        values = (getattr(self, field.name) for field in dataclasses.fields(self))  # type: ignore[arg-type]
        return tuple(_NAN if isinstance(v, float) and math.isnan(v) else v for v in values)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, NanEqualValue)
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash((type(self), self._key()))
