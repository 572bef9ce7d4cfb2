"""Server-mode reading: what the real server accepts, the reader accepts and writes back."""

from __future__ import annotations

import json
import math
from datetime import timedelta

import pytest

from tests.wire import wire_node, wire_spec
from waygrid import RetryPolicy, Spec, SpecDecodeError, SpecError
from waygrid._codec import decode_spec
from waygrid.parameters import FloatVal


def _server(document: object) -> Spec:
    return decode_spec(document, mode="server", json_conditions=False)


NAN_DOCUMENTS = {
    "float-parameter": wire_spec(wire_node(parameters={"x": {"type": "FloatVal", "value": None}})),
    "polynomial-power": wire_spec(
        wire_node(retryPolicy={"type": "Polynomial", "base": "1s", "maxRetries": 3, "power": None})
    ),
}


@pytest.mark.parametrize("name", sorted(NAN_DOCUMENTS))
def test_null_double_is_nan_and_round_trips(name: str) -> None:
    """A null FloatVal or power reads as NaN, as the server does, and is written back as null."""
    document = NAN_DOCUMENTS[name]
    spec = _server(document)
    node = spec.entry_points[0]
    value = node.parameters[0][1].value if node.parameters else node.retry_policy.power  # type: ignore[union-attr, attr-defined]
    assert math.isnan(value)
    assert spec.to_dict() == document
    assert json.loads(spec.to_json()) == document
    again = _server(json.loads(spec.to_json()))
    assert again == spec
    assert hash(again) == hash(spec)
    assert again.to_json() == spec.to_json()
    spec.validate()
    assert spec.compile().dag_hash == again.compile().dag_hash


@pytest.mark.parametrize("name", sorted(NAN_DOCUMENTS))
def test_sdk_mode_still_refuses_null_double(name: str) -> None:
    """The SDK's own reading keeps refusing NaN, with the path and a reason."""
    with pytest.raises(SpecDecodeError, match=r"value|power") as caught:
        Spec.from_dict(NAN_DOCUMENTS[name])
    assert caught.value.path.startswith("$.entryPoints[0].")


def test_absent_double_is_still_missing_in_server_mode() -> None:
    """Only an explicit null is NaN: a missing power or value is an error, as on the server."""
    no_power = wire_spec(
        wire_node(retryPolicy={"type": "Polynomial", "base": "1s", "maxRetries": 3})
    )
    with pytest.raises(SpecDecodeError, match="power") as caught:
        _server(no_power)
    assert caught.value.path == "$.entryPoints[0].retryPolicy.power"
    no_value = wire_spec(wire_node(parameters={"x": {"type": "FloatVal"}}))
    with pytest.raises(SpecDecodeError, match="value") as caught:
        _server(no_value)
    assert caught.value.path == "$.entryPoints[0].parameters.x.value"


def test_null_is_nan_only_for_doubles() -> None:
    """A null IntVal, maxRetries or base stays an error in server mode."""
    for document, path in [
        (
            wire_spec(wire_node(parameters={"x": {"type": "IntVal", "value": None}})),
            ".parameters.x.value",
        ),
        (
            wire_spec(wire_node(retryPolicy={"type": "Linear", "base": "1s", "maxRetries": None})),
            ".retryPolicy.maxRetries",
        ),
        (
            wire_spec(wire_node(retryPolicy={"type": "Linear", "base": None, "maxRetries": 1})),
            ".retryPolicy.base",
        ),
    ]:
        with pytest.raises(SpecDecodeError) as caught:
            _server(document)
        assert caught.value.path == "$.entryPoints[0]" + path


def test_builder_refuses_nan() -> None:
    """Users building a spec get the clear error; NaN only ever comes from server-mode reading."""
    with pytest.raises(SpecError, match="finite"):
        FloatVal(math.nan)
    with pytest.raises(SpecError, match="finite"):
        RetryPolicy.polynomial(timedelta(seconds=1), 3, math.nan)


def test_numeric_strings_follow_json_number_syntax() -> None:
    """Server mode reads doubles inside strings only in JSON number syntax, like the server."""
    for text, expected in [("1.5", 1.5), ("-2e3", -2000.0), ("0", 0.0)]:
        document = wire_spec(wire_node(parameters={"x": {"type": "FloatVal", "value": text}}))
        assert _server(document).entry_points[0].parameters[0][1].value == expected  # type: ignore[union-attr]
    for text in ["1_0", " 1", "\u0661", "NaN", "inf", "0x10", "1.", ".5", "+1"]:
        document = wire_spec(wire_node(parameters={"x": {"type": "FloatVal", "value": text}}))
        with pytest.raises(SpecDecodeError) as caught:
            _server(document)
        assert caught.value.path == "$.entryPoints[0].parameters.x.value"


def test_modes_sdk_and_server() -> None:
    """mode="sdk" (the default) reads the documented leniencies, mode="server" refuses them."""
    document = wire_spec({"type": "standard", "address": "waygrid://processor/a"})
    assert decode_spec(document) == decode_spec(document, mode="sdk")
    with pytest.raises(SpecDecodeError) as caught:
        decode_spec(document, mode="server")
    assert caught.value.path == "$.entryPoints[0].retryPolicy"
    quoted = wire_spec(wire_node(retryPolicy={"type": "Linear", "base": "1s", "maxRetries": "3"}))
    assert decode_spec(quoted, mode="server").entry_points[0].retry_policy.max_retries == 3  # type: ignore[attr-defined]
    with pytest.raises(SpecDecodeError):
        decode_spec(quoted, mode="sdk")
