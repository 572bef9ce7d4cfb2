"""The shared wire-format vectors: the SDK reads, re-writes and compiles them like the server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import load_vectors
from waygrid import Spec, SpecDecodeError, SpecValidationError
from waygrid._codec import decode_spec

VECTORS = load_vectors()
ACCEPTED = [(name, v) for name, v in VECTORS if v["expect"] == "accept"]
COMPILE_REJECTS = [(name, v) for name, v in VECTORS if v.get("stage") == "compile"]
DECODE_REJECTS = [(name, v) for name, v in VECTORS if v.get("stage") == "decode"]

# Decode-stage rejects the SDK reads anyway, because the contract's §4 lists their shape as a
# documented leniency: missing retryPolicy/deliveryStrategy, `times` for `time`, and the
# documented JSON-pointer conditions (which validate() then warns about).
LENIENT_READS = {
    "docs-reject-error-handling-example",
    "docs-reject-json-equals",
    "docs-reject-json-exists",
    "docs-reject-parallel-fanout-example",
    "docs-reject-schedule-after-missing-policies",
    "docs-reject-simple-linear-example",
    "docs-reject-times-field",
}


def _ids(items: list[tuple[str, Any]]) -> list[str]:
    return [name for name, _ in items]


def test_the_vector_set_is_complete() -> None:
    """The copied vectors cover accepts, compile rejects and decode rejects."""
    assert len(ACCEPTED) >= 19 and COMPILE_REJECTS and len(DECODE_REJECTS) >= 12


@pytest.mark.parametrize(("name", "vector"), ACCEPTED, ids=_ids(ACCEPTED))
def test_accepted_vector(name: str, vector: dict[str, Any]) -> None:
    """An accepted vector parses, re-serializes to a server-valid form, keeps its dagHash."""
    spec = Spec.from_dict(vector["spec"])
    dag = spec.compile()
    assert dag.dag_hash == vector["dag_hash_unverified"]
    assert len(dag.nodes) == vector["compiled_node_count_unverified"]
    text = spec.to_json()
    # The canonical form is read back by the server's strict reader unchanged ...
    strict = decode_spec(json.loads(text), mode="server")
    assert strict == spec
    assert strict.compile().dag_hash == vector["dag_hash_unverified"]
    # ... and is a fixed point.
    assert Spec.from_json(text).to_json() == text


@pytest.mark.parametrize(("name", "vector"), COMPILE_REJECTS, ids=_ids(COMPILE_REJECTS))
def test_compile_reject_vector(name: str, vector: dict[str, Any]) -> None:
    """A compile-stage reject parses but fails validate() with the server's error text."""
    spec = Spec.from_dict(vector["spec"])
    with pytest.raises(SpecValidationError) as caught:
        spec.validate()
    assert caught.value.server_error is not None
    assert "RouteCompilerError" in caught.value.server_error
    model = vector.get("model_error_unverified")
    if model:
        assert caught.value.server_error.split("\n")[0] in model


@pytest.mark.parametrize(("name", "vector"), DECODE_REJECTS, ids=_ids(DECODE_REJECTS))
def test_decode_reject_vector(name: str, vector: dict[str, Any]) -> None:
    """A decode-stage reject fails from_dict, unless the contract reads it leniently."""
    with pytest.raises(SpecDecodeError):
        decode_spec(vector["spec"], mode="server", json_conditions=False)
    if name in LENIENT_READS:
        spec = Spec.from_dict(vector["spec"])
        # What the SDK sends instead is the server-valid canonical form.
        text = spec.to_json()
        assert decode_spec(json.loads(text), mode="server") == spec
    else:
        with pytest.raises(SpecDecodeError) as caught:
            Spec.from_dict(vector["spec"])
        assert caught.value.path.startswith("$")


def test_reencoding_matches_the_server_up_to_form() -> None:
    """Where the server would re-encode a vector, the SDK's form decodes to the same spec."""
    for name, vector in ACCEPTED:
        if "server_reencoding" in vector:
            ours = Spec.from_dict(vector["spec"])
            theirs = Spec.from_dict(vector["server_reencoding"])
            assert ours == theirs, name
