"""The server's node ids and dagHash: XXH3-64 over JVM strings and longs."""

from __future__ import annotations

import xxhash

__all__ = ["MASK", "MAX_DEPTH", "PHI", "hash_chars", "hex_id", "signed", "xxh3"]

MAX_DEPTH = 128
"""The server's depth limit: entry points are at depth 0, each edge adds 1."""

MASK = (1 << 64) - 1
PHI = 0x9E3779B97F4A7C15
xxh3 = xxhash.xxh3_64_intdigest
"""XXH3-64 of bytes, as an unsigned integer (of a JVM long: its 8 bytes, little-endian)."""


def hash_chars(text: str) -> int:
    """XXH3-64 of the UTF-16LE code units, as the JVM hashes a String."""
    return xxh3(text.encode("utf-16-le", "surrogatepass"))


def signed(value: int) -> int:
    """The JVM's signed reading of a 64-bit value."""
    return value - (1 << 64) if value >> 63 else value


def hex_id(value: int) -> str:
    """16 lower-case hex digits, as the server prints node ids."""
    return "%016x" % (value & MASK)
