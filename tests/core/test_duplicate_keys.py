"""`Spec.from_json` rejects a duplicate key in any object, as `loads_strict` does, however placed."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings

from tests.core.strategies import specs
from waygrid import (
    Condition,
    DeliveryStrategy,
    JoinStrategy,
    Node,
    RepeatPolicy,
    RetryPolicy,
    Secret,
    Spec,
    SpecDecodeError,
)
from waygrid._codec._read import _decode, _Reader
from waygrid._json import loads_strict


def _rich_spec(label: str = "step: one") -> Spec:
    """Every kind of object the reader reads: policies, parameters, a secret, conditions,
    a JSON value, a fork's branches and a join."""
    pointer = Condition.json_equals("/a", {"deep": [{"x": 1}, {"y": {"z": None}}]})
    condition = Condition.and_([Condition.not_(Condition.ALWAYS), pointer])
    join = Node.join("waygrid://system/join").strategy(JoinStrategy.quorum(1))
    leaf = (
        Node.standard("waygrid://processor/leaf")
        .label(label)
        .with_retry(RetryPolicy.exponential(timedelta(seconds=1), 3))
        .with_delivery(
            DeliveryStrategy.schedule_at(datetime(2030, 1, 2, 3, 4, tzinfo=timezone.utc))
        )
        .with_parameters({"model": "gpt-4", "key": Secret("vault/openai", "token", "2")})
        .on_conditions([Condition.when(condition, Node.standard("waygrid://destination/x"))])
    )
    fork = (
        Node.fork("waygrid://system/fork")
        .join_id("j")
        .branches({"a": leaf, "b": Node.standard("waygrid://processor/b")})
    )
    return Spec.single(fork.joined_by(join), RepeatPolicy.times(timedelta(seconds=5), 2))


def _objects(value: object) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            found.append(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return found


def _with_duplicate(text: str, index: int) -> tuple[str, str]:
    """``text`` with the first key of its ``index``-th object (in document order) repeated."""
    starts = [match.start() for match in re.finditer(r'\{"', text)]
    start = starts[index]
    key_end = text.index('"', start + 2)
    key = text[start + 2 : key_end]
    return text[: start + 1] + f'"{key}":null,' + text[start + 1 :], key


def test_a_duplicate_key_in_any_object_fails_as_loads_strict_does() -> None:
    """Each object of a spec using every feature, given a repeated key, fails at `$` alike."""
    text = _rich_spec().to_json()
    count = len(_objects(json.loads(text)))
    assert count == text.count('{"')
    for index in range(count):
        duplicated, key = _with_duplicate(text, index)
        with pytest.raises(SpecDecodeError) as expected:
            loads_strict(duplicated)
        with pytest.raises(SpecDecodeError) as caught:
            Spec.from_json(duplicated)
        assert (caught.value.path, str(caught.value)) == (expected.value.path, str(expected.value))
        assert f"duplicate key {key!r}" in str(caught.value)
        assert caught.value.stage == "json"


def test_a_duplicate_key_is_reported_before_a_later_decode_error() -> None:
    """The parse error comes first, as when the duplicate check ran inside the parser."""
    text = Spec.single(Node.standard("waygrid://p/a")).to_json()
    broken = text.replace('"type":"NoRepeat"', '"type":"Sometimes"')
    duplicated = broken.replace('"type":"standard"', '"type":"standard","type":"standard"')
    with pytest.raises(SpecDecodeError, match="unknown repeat policy"):
        Spec.from_json(broken)
    with pytest.raises(SpecDecodeError, match="duplicate key 'type'"):
        Spec.from_json(duplicated)


@pytest.mark.parametrize(
    "label",
    ["no colon", "step: one", 'quoted ": colon', "spaced : colon", "a\\b:c", "://x"],
)
def test_colons_and_spacing_inside_strings_read_normally(label: str) -> None:
    """Colons in strings and whitespace before member colons never pass for duplicates."""
    spec = _rich_spec(label)
    spaced = json.dumps(spec.to_dict(), separators=(" , ", " : "))
    for text in (spec.to_json(), spec.to_json(indent=2), spaced):
        assert Spec.from_json(text) == spec


@settings(max_examples=200, deadline=None)
@given(specs)
def test_the_reader_counts_each_member_once(spec: Spec) -> None:
    """The members the reader counts are exactly those of the parsed objects: fewer would
    only cost a second parse, but more could hide a duplicate key."""
    value = json.loads(spec.to_json())
    reader = _Reader(mode="sdk", json_conditions=True, parsed=True)
    assert _decode(reader, value) == spec
    assert reader.members == sum(len(obj) for obj in _objects(value))
