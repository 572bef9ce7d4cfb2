"""circe's ``spaces2`` printer, which the server uses to echo a request body it cannot decode."""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

from ._dumps import scalar

__all__ = ["spaces2"]

_INDENT = "  "
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}
_TRUNCATED = " ... (truncated by the waygrid dev server)"


def _string(text: str) -> str:
    """A JSON string as circe writes it: non-ASCII kept, ISO control characters as ``\\u00xx``."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return '"' + text + '"'
    out = ['"']
    for char in text:
        escaped = _ESCAPES.get(char)
        if escaped is not None:
            out.append(escaped)
        elif ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


class _Output:
    """The text printed so far; refuses everything past ``limit`` characters."""

    __slots__ = ("chunks", "cut", "pending", "room")

    def __init__(self, limit: int) -> None:
        self.chunks: list[str] = []
        self.pending: list[str] = []  # joined into one chunk every few hundred writes
        self.room = limit
        self.cut = False

    def write(self, text: str) -> None:
        if len(text) > self.room:
            text = text[: self.room]
            self.cut = True
        self.pending.append(text)
        self.room -= len(text)
        if len(self.pending) >= 512:  # small strings cost ~50 bytes each: keep few alive
            self.chunks.append("".join(self.pending))
            self.pending.clear()

    def newline(self, depth: int) -> None:
        # Never builds an indent longer than the room left, however deep the value is.
        self.write("\n" + _INDENT * min(depth, self.room // len(_INDENT) + 1))

    def text(self, suffix: str) -> str:
        """Everything written, then ``suffix`` (joined once: no copy of the whole to append it)."""
        self.pending.append(suffix)
        self.chunks.append("".join(self.pending))
        self.pending.clear()
        return "".join(self.chunks)


class _Frame:
    """An array or object being printed: its remaining items and where it stands."""

    __slots__ = ("depth", "first", "items", "keyed")

    def __init__(self, items: Iterator[object], depth: int, *, keyed: bool) -> None:
        self.items = items
        self.depth = depth
        self.keyed = keyed
        self.first = True


def spaces2(value: object, *, limit: int = 1 << 20, prefix: str = "") -> str:
    """``value`` printed like circe's ``Printer.spaces2``: two-space indent, ``"key" : value``.

    Empty arrays and objects keep circe's line breaks. The output is cut after ``limit``
    characters (then marked as truncated). Streaming: memory is one small frame per open array
    or object, whatever their length, and time is linear in the output, so a hostile body costs
    no more than its size even when deep nesting would make the full text huge. ``prefix`` is
    put in front (not counted in ``limit``) without copying the whole text once more.
    """
    out = _Output(limit)
    out.pending.append(prefix)
    stack: list[_Frame] = []
    _open(value, 0, out, stack)
    end = object()
    while stack and out.room > 0:
        frame = stack[-1]
        item = next(frame.items, end)
        if item is end:
            stack.pop()
            out.newline(frame.depth)
            out.write("}" if frame.keyed else "]")
            continue
        if frame.first:
            frame.first = False
        else:
            out.write(",")
            out.newline(frame.depth + 1)
        if frame.keyed:
            key, item = cast("tuple[str, object]", item)
            out.write(_string(key) + " : ")
        _open(item, frame.depth + 1, out, stack)
    return out.text(_TRUNCATED if out.cut or stack else "")


def _open(value: object, depth: int, out: _Output, stack: list[_Frame]) -> None:
    """Print a scalar, or start an array or object (its items follow from the stack)."""
    if isinstance(value, dict):
        out.write("{")
        out.newline(depth + 1)
        stack.append(_Frame(iter(value.items()), depth, keyed=True))
    elif isinstance(value, list):
        out.write("[")
        if value:
            out.newline(depth + 1)
            stack.append(_Frame(iter(value), depth, keyed=False))
        else:
            out.newline(depth)
            out.write("]")
    else:
        out.write(scalar(value, _string))
