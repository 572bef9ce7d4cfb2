"""Strict JSON reading like the server's parser: duplicate keys rejected, any nesting depth."""

from __future__ import annotations

import json
import re
from array import array
from collections.abc import Callable
from typing import Any

from ._gc import gc_paused
from .errors import SpecDecodeError

_jiter_from_json: Callable[..., Any] | None
try:  # a Rust JSON parser, faster than the json module; the json module reads without it
    from jiter import from_json as _jiter_from_json
except ImportError:  # pragma: no cover - jiter is a dependency; a platform without wheels
    _jiter_from_json = None

__all__ = ["loads_strict", "loads_unchecked"]

_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?")
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_CONSTANTS: dict[str, object] = {"true": True, "false": False, "null": None}
_scanstring: Any = json.decoder.scanstring  # type: ignore[attr-defined]


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(key)


def _pairs_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKeyError(key)
            seen.add(key)
    return result


def _integer(literal: str) -> int | float:
    """An integer literal; one too long for `int` (CPython refuses 4,300+ digits) is out of any
    range the spec has, so it is read as the float it rounds to (an infinity)."""
    return int(literal) if len(literal) <= _MAX_INT_DIGITS else float(literal)


_MAX_INT_DIGITS = 4000


def json_reason(exc: SpecDecodeError) -> str:
    """Why `loads_strict` refused a text, without the ``invalid JSON:`` its message starts with
    (for callers that say "<where>: not valid JSON: <why>" themselves)."""
    return exc.reason.removeprefix("invalid JSON: ")


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def loads_strict(text: str | bytes) -> Any:
    """Parse JSON the way the Waygrid server does, raising `SpecDecodeError` at ``$``.

    Duplicate object keys, ``NaN``/``Infinity`` and trailing garbage are errors. Documents nested
    deeper than Python's recursion limit are parsed by an iterative fallback, so no input ever
    raises `RecursionError`.
    """
    fast = _fast_loads(text, duplicates=True)
    if fast is not _FAILED:
        return fast
    text = _text(text)
    try:
        return json.loads(
            text,
            object_pairs_hook=_pairs_without_duplicates,
            parse_constant=_reject_constant,
            parse_int=_integer,
        )
    except _DuplicateKeyError as exc:
        raise SpecDecodeError(
            "$", f"invalid JSON: duplicate key {exc.key!r}", stage="json"
        ) from None
    except RecursionError:
        pass  # handled below, outside this handler
    except ValueError as exc:
        raise SpecDecodeError("$", f"invalid JSON: {exc}", stage="json") from None
    return loads_deep(text)


_FAILED: Any = object()


def _fast_loads(text: str | bytes, *, duplicates: bool) -> Any:
    """``text`` parsed by jiter, or `_FAILED` where jiter is missing or refuses ``text``.

    jiter accepts no more than `loads_strict` (strict JSON, no NaN or Infinity, UTF-8 checked,
    and with ``duplicates`` no repeated key) and gives the same values, which a differential
    test checks. It refuses some texts the json module reads (lone surrogates, nesting deeper
    than 200, integers beyond 4,300 digits), and its messages differ: whatever it refuses goes
    to the json module, which reads it or gives the error.
    """
    if _jiter_from_json is None:  # see the import (tests run this path too)
        return _FAILED
    try:
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        return _jiter_from_json(
            data, allow_inf_nan=False, cache_mode="all", catch_duplicate_keys=duplicates
        )
    except ValueError:  # its errors, and UnicodeEncodeError (a lone surrogate)
        return _FAILED


def _text(text: str | bytes) -> str:
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SpecDecodeError(
                "$", f"invalid JSON: not UTF-8 ({exc.reason})", stage="json"
            ) from None
    if not text or text.isspace():  # as `not text.strip()`, without copying the document
        raise SpecDecodeError("$", "invalid JSON: empty body", stage="json")
    return text


def loads_unchecked(text: str | bytes) -> tuple[Any, Callable[[int | None], None]]:
    """`loads_strict` with its duplicate-key check left to a reader that sees every object.

    A hook that checks each object's keys costs a Python call per object, 40% of the parse (and
    jiter's own check a third of its parse). Instead the parser (jiter, else the json module's
    C scanner) builds the dicts and the caller adds up their sizes as it reads them:
    an object with a duplicate key is smaller than its members in the text, so when the sum
    reaches the number of members the text holds, no key was repeated.

    Returns:
        The value, and ``check(members)``: given the members of the parsed objects (None when
        reading stopped early), it raises exactly the `SpecDecodeError` `loads_strict` raises
        if ``text`` repeats a key (it parses again in that case only).
    """
    value = _fast_loads(text, duplicates=False)
    if value is _FAILED:
        text = _text(text)
        try:
            # Without `parse_int`, a Python call per integer: the json module refuses integers
            # of 4,300+ digits itself, and `loads_strict` then reads them.
            value = json.loads(text, parse_constant=_reject_constant)
        except (ValueError, RecursionError):  # the strict parser gives the error, or goes deep
            return loads_strict(text), _checked
    elif not isinstance(text, str):
        text = bytes(text).decode("utf-8")  # valid: jiter checked it; counted below as text
    # Every member has one colon after its key, outside strings; colons of `://` are inside
    # strings. So this bounds the members from above, and is exact unless strings hold colons.
    bound = text.count(":") - text.count("://")

    def check(members: int | None) -> None:
        if members is not None and (members == bound or members == _members_bound(text)):
            return
        loads_strict(text)  # raises on a duplicate key; a document without one is fine

    return value, check


def _checked(members: int | None) -> None:
    """`loads_unchecked`'s check for a document `loads_strict` parsed: nothing left to do."""


_SPACED_COLON = re.compile(r"[ \t\n\r]:")


def _members_bound(text: str) -> int:
    """A tighter upper bound on the members of ``text``: a member's colon follows the closing
    quote of its key or whitespace, so colons inside strings elsewhere (times, prose) are not
    counted. Whitespace before a colon is rare; where there is any, this gives up (-1)."""
    if _SPACED_COLON.search(text):
        return -1
    return text.count('":')


def loads_deep(text: str) -> Any:
    """`loads_strict` for documents nested too deeply for `json.loads` (any depth)."""
    try:
        with gc_paused():  # one container per level, none in a cycle: see `gc_paused`
            return _loads_iterative(text)
    except SpecDecodeError:
        raise
    except json.JSONDecodeError as exc:  # from the string scanner
        raise _fail(text, exc.pos, exc.msg) from None
    except ValueError as exc:
        raise SpecDecodeError("$", f"invalid JSON: {exc}", stage="json") from None


def _fail(text: str, pos: int, what: str) -> SpecDecodeError:
    line = text.count("\n", 0, pos) + 1
    column = pos - text.rfind("\n", 0, pos)
    return SpecDecodeError(
        "$", f"invalid JSON: {what}: line {line} column {column} (char {pos})", stage="json"
    )


_STRUCTURE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_SHALLOW = 200
"""Containers at most this many levels high are handed to the C scanner whole."""
_DECODER = json.JSONDecoder(
    object_pairs_hook=_pairs_without_duplicates,
    parse_constant=_reject_constant,
    parse_int=_integer,
)
_scan_once: Any = _DECODER.scan_once  # type: ignore[attr-defined]


def _shallow_starts(text: str) -> set[int]:
    """Where the explicit stack should hand a container to the C scanner: the positions of the
    containers at most `_SHALLOW` levels high whose enclosing container is higher than that.

    One pass over the brackets outside strings, with compact per-level arrays: a document of
    half a million open brackets costs 16 bytes per level here. In a malformed document the
    result may be off; it only chooses between two parsers that both check everything.
    """
    starts: set[int] = set()
    positions = array("q")  # of the open containers
    heights = array("q")  # the highest child closed so far, per open container
    shallow_children: dict[int, array[int]] = {}  # by level, for open containers
    for match in _STRUCTURE.finditer(text):
        start = match.start()
        char = text[start]
        if char == '"':
            continue
        if char == "[" or char == "{":
            positions.append(start)
            heights.append(0)
        elif positions:
            level = len(positions) - 1
            position = positions.pop()
            height = heights.pop() + 1
            children = shallow_children.pop(level, None)
            if height > _SHALLOW:
                if children is not None:
                    starts.update(children)
            elif level:
                shallow_children.setdefault(level - 1, array("q")).append(position)
            if level and heights[level - 1] < height:
                heights[level - 1] = height
    return starts


def _loads_iterative(text: str) -> Any:
    """A small JSON parser with an explicit stack, for documents too deep for `json.loads`.

    Only the deep part is walked here: a container shallow enough for the C scanner (found by
    `_shallow_starts`) is parsed by it in one call, so a deep document costs little more than a
    shallow one of the same size. Per open container the stack holds two references.
    """
    starts = _shallow_starts(text)
    fast = True
    containers: list[Any] = []  # the open containers, innermost last
    keys: list[Any] = []  # for each, the key its next value goes under (objects only)
    pos = _WHITESPACE.match(text, 0).end()  # type: ignore[union-attr]
    result: Any = None
    done = False
    while True:
        if pos >= len(text):
            raise _fail(text, pos, "unexpected end of document")
        char = text[pos]
        value: Any
        is_value = True
        scanned = False
        if fast and pos in starts:
            try:
                value, pos = _scan_once(text, pos)
                scanned = True
            except RecursionError:  # a deep caller left less room than expected
                fast = False
            except StopIteration as stop:
                raise _fail(text, stop.value, "expecting value") from None
            except _DuplicateKeyError as exc:
                raise SpecDecodeError(
                    "$", f"invalid JSON: duplicate key {exc.key!r}", stage="json"
                ) from None
            except json.JSONDecodeError as exc:
                raise _fail(text, exc.pos, exc.msg) from None
            except ValueError as exc:  # NaN or Infinity
                raise SpecDecodeError("$", f"invalid JSON: {exc}", stage="json") from None
        if scanned:
            pass
        elif char == "{" or char == "[":
            containers.append({} if char == "{" else [])
            keys.append(None)
            pos = _WHITESPACE.match(text, pos + 1).end()  # type: ignore[union-attr]
            closer = "}" if char == "{" else "]"
            if pos < len(text) and text[pos] == closer:
                pos += 1
                keys.pop()
                value = containers.pop()
            else:
                if char == "{":
                    pos = _read_key(text, pos, containers, keys)
                continue
        elif char == '"':
            value, pos = _scanstring(text, pos + 1, True)
        elif char in "-0123456789":
            match = _NUMBER.match(text, pos)
            if match is None:
                raise _fail(text, pos, "invalid number")
            literal = match.group(0)
            value = float(literal) if match.group(1) or match.group(2) else _integer(literal)
            pos = match.end()
        else:
            for word, constant in _CONSTANTS.items():
                if text.startswith(word, pos):
                    value = constant
                    pos += len(word)
                    break
            else:
                is_value = False
        if not is_value:
            raise _fail(text, pos, "expecting value")
        # Attach the value and close every container that ends here.
        while True:
            if not containers:
                result, done = value, True
                break
            container = containers[-1]
            is_object = isinstance(container, dict)
            if is_object:
                container[keys[-1]] = value
            else:
                container.append(value)
            pos = _WHITESPACE.match(text, pos).end()  # type: ignore[union-attr]
            closer = "}" if is_object else "]"
            if pos < len(text) and text[pos] == ",":
                pos = _WHITESPACE.match(text, pos + 1).end()  # type: ignore[union-attr]
                if is_object:
                    pos = _read_key(text, pos, containers, keys)
                break
            if pos < len(text) and text[pos] == closer:
                pos += 1
                keys.pop()
                value = containers.pop()
                continue
            raise _fail(text, pos, f"expecting ',' or '{closer}'")
        if done:
            break
    pos = _WHITESPACE.match(text, pos).end()  # type: ignore[union-attr]
    if pos != len(text):
        raise _fail(text, pos, "extra data")
    return result


def _read_key(text: str, pos: int, containers: list[Any], keys: list[Any]) -> int:
    if pos >= len(text) or text[pos] != '"':
        raise _fail(text, pos, "expecting property name enclosed in double quotes")
    key, pos = _scanstring(text, pos + 1, True)
    if key in containers[-1]:  # the keys read so far are in the object already
        raise SpecDecodeError("$", f"invalid JSON: duplicate key {key!r}", stage="json")
    keys[-1] = key
    pos = _WHITESPACE.match(text, pos).end()  # type: ignore[union-attr]
    if pos >= len(text) or text[pos] != ":":
        raise _fail(text, pos, "expecting ':' delimiter")
    return _WHITESPACE.match(text, pos + 1).end()  # type: ignore[union-attr]
