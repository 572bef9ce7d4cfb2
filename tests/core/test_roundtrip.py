"""Property tests: every spec survives the wire unchanged, byte for byte."""

from __future__ import annotations

import json

from hypothesis import given, settings

from tests.core.strategies import specs
from waygrid import Spec, SpecValidationError
from waygrid._codec import decode_spec


@settings(max_examples=300, deadline=None)
@given(specs)
def test_json_round_trip(spec: Spec) -> None:
    """from_json(to_json(s)) == s, with the same hash, and to_json is a fixed point."""
    text = spec.to_json()
    back = Spec.from_json(text)
    assert back == spec
    assert hash(back) == hash(spec)
    assert back.to_json() == text


@settings(max_examples=200, deadline=None)
@given(specs)
def test_dict_form_matches_json_form(spec: Spec) -> None:
    """to_dict equals the parsed JSON, key order included, and reads back to the same spec."""
    as_dict = spec.to_dict()
    parsed = json.loads(spec.to_json())
    assert as_dict == parsed
    assert json.dumps(as_dict) == json.dumps(parsed)
    assert Spec.from_dict(as_dict) == spec


@settings(max_examples=200, deadline=None)
@given(specs)
def test_canonical_form_is_what_the_server_reads(spec: Spec) -> None:
    """The server's own strict reading of the canonical JSON gives the same spec."""
    assert decode_spec(json.loads(spec.to_json()), mode="server") == spec


@settings(max_examples=200, deadline=None)
@given(specs)
def test_validate_and_compile_never_crash(spec: Spec) -> None:
    """validate() returns warnings or raises SpecValidationError, nothing else; compile agrees."""
    try:
        warnings = spec.validate()
    except SpecValidationError as error:
        assert error.errors
    else:
        assert all(w.severity == "warning" for w in warnings)
        assert len(spec.compile().dag_hash) == 16
        assert spec.to_mermaid().startswith("flowchart TD")
