"""Hostile values from JSON or Python callers give a `SpecDecodeError` with a path, nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from tests.wire import wire_node, wire_spec
from waygrid import Spec, SpecDecodeError
from waygrid._codec import decode_spec
from waygrid._values import parse_duration


def _decode_error(document: object, *, server: bool = False) -> SpecDecodeError:
    read = (
        (lambda: decode_spec(document, mode="server", json_conditions=False))
        if server
        else (lambda: Spec.from_dict(document))
    )
    with pytest.raises(SpecDecodeError) as caught:
        read()
    return caught.value


def test_duration_with_thousands_of_digits() -> None:
    """A 5,000-digit duration is out of range, not a `ValueError` from int conversion."""
    delay = "1" * 5000 + "s"
    error = _decode_error(
        wire_spec(wire_node(deliveryStrategy={"type": "ScheduleAfter", "delay": delay}))
    )
    assert error.path == "$.entryPoints[0].deliveryStrategy.delay"
    assert "out of the server's range" in error.reason
    assert len(str(error)) < 500  # the value is quoted, cut short


def test_leading_zeros_do_not_count_as_digits() -> None:
    """Like Java's Long.parseLong, zeros in front of a small number are fine."""
    assert parse_duration("0" * 5000 + "5s").total_seconds() == 5


def test_integer_with_thousands_of_digits_in_json_and_dicts() -> None:
    """Huge integers in JSON text, in dicts and inside strings are range errors with paths."""
    digits = "9" * 5000
    text = (
        '{"entryPoints":[{"type":"standard","address":"waygrid://p/a","retryPolicy":'
        '{"type":"Linear","base":"1s","maxRetries":' + digits + "}}],"
        '"repeatPolicy":{"type":"NoRepeat"}}'
    )
    with pytest.raises(SpecDecodeError) as caught:
        Spec.from_json(text)
    assert caught.value.path == "$.entryPoints[0].retryPolicy.maxRetries"
    policy = {"type": "Linear", "base": "1s", "maxRetries": 10**5000}
    error = _decode_error(wire_spec(wire_node(retryPolicy=policy)))
    assert error.path == "$.entryPoints[0].retryPolicy.maxRetries"
    assert len(str(error)) < 500
    policy = {"type": "Linear", "base": "1s", "maxRetries": digits}
    error = _decode_error(wire_spec(wire_node(retryPolicy=policy)), server=True)
    assert error.path == "$.entryPoints[0].retryPolicy.maxRetries"
    parameters = {"x": {"type": "FloatVal", "value": 10**5000}}
    error = _decode_error(wire_spec(wire_node(parameters=parameters)))
    assert error.path == "$.entryPoints[0].parameters.x.value"


def test_deep_json_with_a_huge_integer() -> None:
    """The iterative parser (for documents too deep for `json`) reads huge integers too."""
    text = "[" * 50_000 + "9" * 5000 + "]" * 50_000
    with pytest.raises(SpecDecodeError) as caught:
        Spec.from_json(text)
    assert caught.value.path == "$"


def test_self_referencing_dict() -> None:
    """A dict that contains itself is a cycle error at the place it comes back."""
    node = wire_node()
    node["onSuccess"] = node
    error = _decode_error(wire_spec(node))
    assert error.path == "$.entryPoints[0].onSuccess"
    assert "cycle" in error.reason
    condition: dict[str, Any] = {"type": "And", "all": []}
    condition["all"].append({"type": "Not", "cond": condition})
    error = _decode_error(
        wire_spec(wire_node(onConditions=[{"condition": condition, "to": wire_node()}]))
    )
    assert error.path == "$.entryPoints[0].onConditions[0].condition.all[0].cond"


def test_shared_dicts_are_not_cycles() -> None:
    """The same dict used in two places is read twice, as its JSON text would be."""
    leaf = wire_node(address="waygrid://processor/leaf")
    spec = Spec.from_dict(wire_spec(wire_node(onSuccess=leaf, onFailure=leaf)))
    assert spec.entry_points[0].on_success_node == spec.entry_points[0].on_failure_node  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("document", "path"),
    [
        (wire_spec({**wire_node(), 1: "x"}), "$.entryPoints[0]"),
        ({"entryPoints": [wire_node()], "repeatPolicy": {"type": "NoRepeat"}, None: 1}, "$"),
        (
            wire_spec(wire_node(parameters={1: {"type": "IntVal", "value": 1}})),
            "$.entryPoints[0].parameters",
        ),
        (
            wire_spec(
                {
                    "type": "fork",
                    "address": "waygrid://s/w",
                    "retryPolicy": {"type": "None"},
                    "deliveryStrategy": {"type": "Immediate"},
                    "joinNodeId": "j",
                    "branches": {("a",): wire_node(), "b": wire_node()},
                }
            ),
            "$.entryPoints[0].branches",
        ),
        (
            wire_spec(wire_node(retryPolicy={"type": "Linear", (1,): 2})),
            "$.entryPoints[0].retryPolicy",
        ),
        (
            wire_spec(wire_node(parameters={"s": {"type": "Secret", "ref": {"path": "p", 2: 3}}})),
            "$.entryPoints[0].parameters.s.ref",
        ),
    ],
)
def test_non_string_keys(document: object, path: str) -> None:
    """Keys that are not strings name the object that holds them."""
    error = _decode_error(document)
    assert error.path == path
    assert "keys must be strings" in error.reason


@pytest.mark.parametrize(
    "value",
    [
        {1, 2},
        b"5s",
        bytearray(b"x"),
        (1, 2),
        object(),
        [[[]]],
        float("nan"),
        10**5000,
        -(10**5000),
    ],
    ids=lambda value: type(value).__name__,
)
def test_non_json_values_anywhere(value: object) -> None:
    """Python values that are not JSON, wherever they appear, give a typed error with a path."""
    places = [
        wire_spec(wire_node(address=value)),
        wire_spec(wire_node(label=value)),
        wire_spec(wire_node(retryPolicy={"type": value})),
        wire_spec(wire_node(retryPolicy={"type": "Linear", "base": value, "maxRetries": 1})),
        wire_spec(wire_node(retryPolicy={"type": "Linear", "base": "1s", "maxRetries": value})),
        wire_spec(wire_node(parameters={"x": {"type": "FloatVal", "value": value}})),
        wire_spec(wire_node(parameters={"x": {"type": value, "value": 1}})),
        wire_spec(wire_node(parameters={"x": value})),
        wire_spec(wire_node(onConditions=[{"condition": {"type": value}, "to": wire_node()}])),
        wire_spec(wire_node(onConditions=value)),
        {"entryPoints": value, "repeatPolicy": {"type": "NoRepeat"}},
        {
            "entryPoints": [wire_node()],
            "repeatPolicy": {"type": "Times", "every": "1s", "time": value},
        },
    ]
    for document in places:
        for server in (False, True):
            error = _decode_error(document, server=server)
            assert error.path.startswith("$")
            assert len(str(error)) < 1000
