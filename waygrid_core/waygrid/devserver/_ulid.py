"""ULIDs like the server's traversal ids: 26 Crockford base32 characters, upper case."""

from __future__ import annotations

import os
import threading
import time

__all__ = ["ULID_PATTERN", "UlidGenerator"]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_BITS = 80
_RANDOM_MAX = (1 << _RANDOM_BITS) - 1
ULID_PATTERN = r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$"
"""A regular expression matching a ULID (the first character keeps the value in 128 bits)."""


def _encode(value: int) -> str:
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


class UlidGenerator:
    """Makes ULIDs that sort in creation order, even within one millisecond (thread-safe).

    48 bits of Unix time in milliseconds, then 80 random bits; within a millisecond the random
    part is incremented, as monotonic ULID generators do.
    """

    __slots__ = ("_last_ms", "_last_random", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_random = 0

    def new(self) -> str:
        """A new ULID, greater than every ULID this generator made before."""
        with self._lock:
            now = time.time_ns() // 1_000_000
            if now <= self._last_ms:
                now = self._last_ms
                randomness = self._last_random + 1
                if randomness > _RANDOM_MAX:  # 2**80 ids in one millisecond: move to the next
                    now += 1
                    randomness = int.from_bytes(os.urandom(10), "big") >> 1
            else:
                randomness = int.from_bytes(os.urandom(10), "big") >> 1  # room to increment
            self._last_ms, self._last_random = now, randomness
        return _encode(((now & ((1 << 48) - 1)) << _RANDOM_BITS) | randomness)
