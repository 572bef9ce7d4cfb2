"""The reader shares equal small values between nodes, never values that only compare equal."""

from __future__ import annotations

import json
import math

import pytest

from tests.wire import wire_node
from waygrid import Spec, SpecDecodeError


def _parameters(*values: object, kind: str = "FloatVal") -> str:
    nodes = [wire_node(parameters={"p": {"type": kind, "value": value}}) for value in values]
    return json.dumps({"entryPoints": nodes, "repeatPolicy": {"type": "NoRepeat"}})


def test_floats_that_compare_equal_are_read_as_written() -> None:
    """``0.0`` and ``-0.0``, ``1`` and ``1.0`` are each read and written as given."""
    spec = Spec.from_json(_parameters(0.0, -0.0, 0.0, 1, 1.0, -0.0))
    values = [node.parameters[0][1].value for node in spec.entry_points]  # type: ignore[union-attr]
    assert [math.copysign(1, v) for v in values[:3]] == [1, -1, 1]
    assert math.copysign(1, values[5]) == -1
    assert Spec.from_json(spec.to_json()) == spec


@pytest.mark.parametrize("kind", ["IntVal", "BoolVal"])
def test_a_boolean_is_not_an_integer_after_an_equal_integer(kind: str) -> None:
    """``true`` after ``1`` (equal in Python) is still checked on its own."""
    good, bad = (1, True) if kind == "IntVal" else (True, 1)
    with pytest.raises(SpecDecodeError) as caught:
        Spec.from_json(_parameters(good, good, bad, kind=kind))
    assert caught.value.path == "$.entryPoints[2].parameters.p.value"


def test_parameters_too_deep_to_key_are_still_read() -> None:
    """A value nested past what the memo can key is read (and refused) like any other."""
    nested = "[" * 3000 + "]" * 3000
    node = json.dumps(wire_node(parameters={"p": {"type": "StringVal", "value": "x"}}))
    node = node.replace('{"type": "StringVal", "value": "x"}', nested)
    text = '{"entryPoints":[' + node + '],"repeatPolicy":{"type":"NoRepeat"}}'
    with pytest.raises(SpecDecodeError) as caught:
        Spec.from_json(text)
    assert caught.value.path == "$.entryPoints[0].parameters.p"
