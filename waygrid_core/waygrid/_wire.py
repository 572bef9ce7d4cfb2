"""The shared base of small wire values that cache their canonical JSON text."""

from __future__ import annotations

__all__ = ["WireValue"]


class WireValue:
    """Base of policies, strategies and parameter values: immutable, so their JSON is cached.

    The codec stores the encoded text in ``_json`` the first time it writes the value.
    """

    __slots__ = ("_json",)
    _json: str
