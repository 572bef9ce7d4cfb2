"""circe's ``spaces2`` printer, which the server uses to echo a request body it cannot decode."""

from __future__ import annotations

import math

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


def _scalar(value: object) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, float):
        if math.isinf(value):  # a literal such as 1e999 that Python read as infinity
            return "1e999" if value > 0 else "-1e999"
        return repr(value)
    return str(value)


def spaces2(value: object, *, limit: int = 1 << 20) -> str:
    """``value`` printed like circe's ``Printer.spaces2``: two-space indent, ``"key" : value``.

    Empty arrays and objects keep circe's line breaks. Iterative, so any nesting depth works; the
    output stops after about ``limit`` characters (deeply nested input grows quadratically).
    """
    out: list[str] = []
    size = 0
    # Work items: a str is emitted as is; a tuple (value, depth) is printed.
    work: list[str | tuple[object, int]] = [(value, 0)]
    while work:
        item = work.pop()
        if isinstance(item, str):
            out.append(item)
            size += len(item)
        else:
            current, depth = item
            if isinstance(current, dict):
                inner = "\n" + _INDENT * (depth + 1)
                closing = "\n" + _INDENT * depth + "}"
                work.append(closing)
                keys = list(current)
                for index in range(len(keys) - 1, -1, -1):
                    work.append((current[keys[index]], depth + 1))
                    separator = "," + inner if index else ""
                    work.append(separator + _string(keys[index]) + " : ")
                out.append("{" + inner)
                size += len(inner) + 1
            elif isinstance(current, list):
                if not current:
                    text = "[\n" + _INDENT * depth + "]"
                    out.append(text)
                    size += len(text)
                    continue
                inner = "\n" + _INDENT * (depth + 1)
                work.append("\n" + _INDENT * depth + "]")
                for index in range(len(current) - 1, -1, -1):
                    work.append((current[index], depth + 1))
                    if index:
                        work.append("," + inner)
                out.append("[" + inner)
                size += len(inner) + 1
            else:
                text = _scalar(current)
                out.append(text)
                size += len(text)
        if size > limit:
            out.append(_TRUNCATED)
            break
    return "".join(out)
