"""The parser for documents too deep for `json`: same values and same refusals as `json.loads`."""

from __future__ import annotations

import json
import time
import tracemalloc
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from waygrid import Spec, SpecDecodeError
from waygrid import _json as strict_json
from waygrid._json import loads_deep, loads_strict

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=30,
)


def _reference(text: str) -> tuple[str, Any]:
    try:
        return "ok", loads_strict(text)
    except SpecDecodeError:
        return "error", None


def _iterative(text: str) -> tuple[str, Any]:
    try:
        return "ok", loads_deep(text)
    except SpecDecodeError:
        return "error", None


@pytest.fixture(params=["C scanner for shallow parts", "explicit stack only"])
def shallow(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.param == "explicit stack only":
        monkeypatch.setattr(strict_json, "_SHALLOW", 0)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(json_values, st.data())
def test_same_values_and_errors_as_json(shallow: None, value: Any, data: st.DataObject) -> None:
    """On valid and broken documents the iterative parser agrees with `loads_strict`."""
    text = json.dumps(value, separators=data.draw(st.sampled_from([(",", ":"), (", ", ": ")])))
    assert _iterative(text) == ("ok", value) or value != value
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 4)))
    junk = data.draw(
        st.sampled_from(["", "[", "]", "{", "}", ",", ":", '"', "\\", "NaN", "1e999", ' "a":1'])
    )
    broken = text[:start] + junk + text[end:]
    assert _iterative(broken) == _reference(broken)


def test_duplicate_keys_nan_and_bad_strings_are_refused_deep_down(shallow: None) -> None:
    """The checks of the strict parser hold inside deep documents, in both parsers."""
    bad = ['{"a":1,"a":2}', "[NaN]", '["\\x"]', '["a\x01"]', "[1,]", "[Infinity]", '["a', '"\\ud8']
    for inner in bad:
        text = "[" * 3000 + inner + "]" * 3000
        with pytest.raises(SpecDecodeError):
            loads_strict(text)


def test_a_deep_document_with_wide_shallow_parts_costs_like_a_shallow_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 9's 1 MiB body (1,000 '[' around 523,000 zeros) is read by the C scanner."""
    zeros = ",".join(["0"] * 523_000)
    deep = "[" * 1000 + zeros + "]" * 1000
    shallow = "[" * 10 + zeros + "]" * 10
    assert loads_strict(deep) is not None

    def best(text: str) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            loads_strict(text)
            times.append(time.perf_counter() - started)
        return min(times)

    # A ratio, not a timing: the explicit stack alone was 20x slower than the C scanner here.
    # jiter refuses the deep one (200 levels at most), so both are read by the json module.
    monkeypatch.setattr(strict_json, "_jiter_from_json", None)
    assert best(deep) < best(shallow) * 5


@pytest.mark.parametrize(
    ("shape", "bound"),
    [
        ("[" * 200_000 + "]" * 200_000, 60),  # 200,000 lists: ~44 bytes of result per byte
        ('{"a":' * 60_000 + "1" + "}" * 60_000, 45),  # 60,000 one-key dicts
        ("[" * 1000 + ",".join(["0"] * 200_000) + "]" * 1000, 10),  # issue 9's shape
    ],
    ids=["lists", "objects", "zeros"],
)
def test_deep_documents_cost_little_more_memory_than_their_result(shape: str, bound: int) -> None:
    """The explicit stack holds two references per open container, nothing per value.

    The bound is set by the parsed document itself (a list object per `[`); the old stack
    (a list and a set per open container) peaked at 181 bytes per input byte on `[[[...]]]`.
    """
    tracemalloc.start()
    try:
        loads_strict(shape)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < bound * len(shape), f"{peak / len(shape):.1f} bytes per input byte"


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000,
        "[" * 100_000 + "]" * 99_999 + "x",
        '{"a":' * 50_000 + "1" + "}" * 49_999,
        "[" * 5_000 + "1,]" + "]" * 4_999,
        "[" * 3_000 + '"\x01"' + "]" * 3_000,
    ],
    ids=["unclosed", "trailing", "unclosed-object", "trailing-comma", "control-character"],
)
def test_deep_invalid_json_is_a_json_stage_error(text: str) -> None:
    """Invalid JSON nested past the recursion limit fails at stage "json", like shallow JSON."""
    with pytest.raises(SpecDecodeError) as caught:
        Spec.from_json(text)
    assert caught.value.stage == "json"
    assert caught.value.path == "$"
