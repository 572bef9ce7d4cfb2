"""The jiter fast path reads exactly what the json module path reads, and fails exactly alike."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.core.test_json_iterative import json_values
from waygrid import Spec, SpecDecodeError
from waygrid import _json as strict_json
from waygrid._json import loads_strict, loads_unchecked

_JUNK = ["", "[", "]", "{", "}", ",", ":", '"', "\\", "NaN", "-Infinity", "1e999", ' "a":1',
         "\\ud800", "\\udc00x", "\ud800", "\x01", "\ufeff", "\u00a0", "0" * 4400, "01", "1.",
         "-", '"a":1,"a":2', "true", "nul", "/*x*/", "\t\n\r "]  # fmt: skip


def _exact(value: Any) -> Any:
    """``value`` with every scalar's type and repr, so 1, 1.0 and True (and -0.0, 0.0) differ."""
    if isinstance(value, dict):
        return ("object", [(key, _exact(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("array", [_exact(item) for item in value])
    return (type(value).__name__, repr(value))


def _outcome(read: Any, text: str | bytes) -> tuple[str, Any]:
    try:
        return "ok", _exact(read(text))
    except SpecDecodeError as error:
        return "error", (error.path, error.reason, error.stage)


def _unchecked(text: str | bytes) -> Any:
    value, check = loads_unchecked(text)
    check(None)  # the duplicate-key check as a reader that stopped early asks for it
    return value


@pytest.fixture
def without_jiter(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run the json module path only, as on a platform without jiter."""

    def disable() -> None:
        monkeypatch.setattr(strict_json, "_jiter_from_json", None)

    return disable


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(json_values, st.data())
def test_the_fast_path_agrees_with_the_json_module(
    monkeypatch: pytest.MonkeyPatch, value: Any, data: st.DataObject
) -> None:
    """Valid and broken documents, as text and as UTF-8 bytes: same values, same errors."""
    text = json.dumps(
        value,
        ensure_ascii=data.draw(st.booleans()),
        separators=data.draw(st.sampled_from([(",", ":"), (", ", ": "), (" ,\n", " :\t")])),
    )
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 4)))
    broken = text[:start] + data.draw(st.sampled_from(_JUNK)) + text[end:]
    for document in (text, broken):
        inputs: list[str | bytes] = [document]
        with contextlib.suppress(UnicodeEncodeError):  # a lone surrogate: only as text
            inputs.append(document.encode("utf-8"))
        for given_text in inputs:
            fast = [_outcome(read, given_text) for read in (loads_strict, _unchecked)]
            with monkeypatch.context() as patched:
                patched.setattr(strict_json, "_jiter_from_json", None)
                slow = [_outcome(read, given_text) for read in (loads_strict, _unchecked)]
            assert fast == slow


def test_what_jiter_refuses_the_json_module_reads(without_jiter: Any) -> None:
    """Lone surrogates, deep nesting and huge integers are read as before, through the
    fallback; the same texts give the same values with jiter missing."""
    texts = ['["\\ud800"]', '{"a":"\\udc00"}', "[" * 300 + "]" * 300, "[" + "9" * 5000 + "]"]
    with_jiter = [_exact(loads_strict(text)) for text in texts]
    without_jiter()
    assert [_exact(loads_strict(text)) for text in texts] == with_jiter


def test_specs_read_the_same_without_jiter(without_jiter: Any) -> None:
    """`Spec.from_json` gives equal specs and equal errors with and without jiter."""
    from tests.core.test_duplicate_keys import _rich_spec

    text = _rich_spec().to_json()
    broken = [text.replace('"model"', '"model":1,"model"', 1), text[:-1], text.replace("3", "3.5")]
    spec = Spec.from_json(text)
    errors = [_outcome(Spec.from_json, item) for item in broken]
    assert all(outcome[0] == "error" for outcome in errors)
    without_jiter()
    assert Spec.from_json(text) == spec
    assert Spec.from_json(text.encode()) == spec
    assert [_outcome(Spec.from_json, item) for item in broken] == errors
