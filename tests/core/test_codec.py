"""The wire form: canonical output, strict reading with paths, the documented leniencies."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from tests.wire import wire_node
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
    SpecError,
)
from waygrid._codec import decode_spec


def _spec(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"entryPoints": list(entries) or [wire_node()], "repeatPolicy": {"type": "NoRepeat"}}


def test_canonical_key_order_and_omitted_members() -> None:
    """`type` comes first, then the server's order; unset optional members are omitted."""
    join = (
        Node.join("waygrid://system/waystation")
        .strategy(JoinStrategy.quorum(2))
        .timeout(timedelta(seconds=30))
        .label("J")
        .on_timeout(Node.standard("waygrid://processor/late"))
        .on_success(Node.standard("waygrid://processor/ok"))
    )
    fork = (
        Node.fork("waygrid://system/waystation")
        .join_id("p")
        .label("F")
        .with_parameters({"k": 1})
        .branches(
            {
                "b": Node.standard("waygrid://processor/b"),
                "a": Node.standard("waygrid://processor/a"),
            }
        )
        .joined_by(join)
    )
    wire = Spec.single(fork).to_dict()
    entry = wire["entryPoints"][0]
    assert list(entry) == [
        "type", "address", "retryPolicy", "deliveryStrategy", "parameters", "branches",
        "joinNodeId", "label",
    ]  # fmt: skip
    assert list(entry["branches"]) == ["a", "b"]
    branch = entry["branches"]["a"]
    assert list(branch) == ["type", "address", "retryPolicy", "deliveryStrategy", "onSuccess"]
    assert list(branch["onSuccess"]) == [
        "type", "address", "retryPolicy", "deliveryStrategy", "joinNodeId", "strategy",
        "timeout", "onSuccess", "onTimeout", "label",
    ]  # fmt: skip
    assert branch["onSuccess"]["strategy"] == {"type": "Quorum", "n": 2}
    assert list(wire) == ["entryPoints", "repeatPolicy"]


def test_json_is_compact_ascii_and_byte_stable() -> None:
    """to_json uses compact separators, escapes non-ASCII, and never changes between calls."""
    spec = Spec.single(Node.standard("waygrid://processor/a").label('Grüße ✓ "q"'))
    text = spec.to_json()
    assert text.isascii() and ", " not in text and ": " not in text
    assert json.loads(text)["entryPoints"][0]["label"] == 'Grüße ✓ "q"'
    assert text == spec.to_json() == Spec.from_json(text).to_json()
    assert json.loads(spec.to_json(indent=2)) == json.loads(text)


def test_to_dict_holds_only_plain_json_types() -> None:
    """to_dict contains only dict, list, str, int, float, bool and None (never tuples)."""
    spec = Spec.single(
        Node.standard("waygrid://processor/a")
        .with_parameters({"s": "x", "i": 1, "f": 0.5, "b": False, "k": Secret("p", field="f")})
        .on_conditions(
            [Condition.when(Condition.and_([Condition.ALWAYS]), Node.standard("waygrid://p/b"))]
        ),
        RepeatPolicy.times(timedelta(hours=1), 3),
    )
    pending: list[object] = [spec.to_dict()]
    while pending:
        value = pending.pop()
        assert type(value) in (dict, list, str, int, float, bool, type(None))
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)


def test_to_dict_is_a_fresh_copy() -> None:
    """Mutating the dict of one call never affects the spec or later calls."""
    spec = Spec.single(
        Node.standard("waygrid://processor/a").with_retry(
            RetryPolicy.linear(timedelta(seconds=1), 2)
        )
    )
    first = spec.to_dict()
    first["entryPoints"][0]["retryPolicy"]["maxRetries"] = 99
    assert spec.to_dict()["entryPoints"][0]["retryPolicy"]["maxRetries"] == 2
    assert '"maxRetries":2' in spec.to_json()


def test_parameters_wire_form() -> None:
    """Parameters: bool before int, 32-bit ints, secrets with optional members omitted."""
    node = Node.standard("waygrid://processor/a").with_parameters(
        {"model": "gpt-4", "temperature": 0.7, "n": 3, "stream": True,
         "apiKey": Secret("tenant/openai", field="key")}
    )  # fmt: skip
    params = Spec.single(node).to_dict()["entryPoints"][0]["parameters"]
    assert params == {
        "apiKey": {"type": "Secret", "ref": {"path": "tenant/openai", "field": "key"}},
        "model": {"type": "StringVal", "value": "gpt-4"},
        "n": {"type": "IntVal", "value": 3},
        "stream": {"type": "BoolVal", "value": True},
        "temperature": {"type": "FloatVal", "value": 0.7},
    }
    merged = node.with_parameters({"n": 4, "extra": "x"})
    assert dict(merged.parameters)["n"].value == 4 and len(merged.parameters) == 6
    with pytest.raises(SpecError, match="'big'"):
        node.with_parameters({"big": 2**31})
    with pytest.raises(SpecError, match="'bad'"):
        node.with_parameters({"bad": [1, 2]})  # type: ignore[dict-item]


def test_polynomial_retry_policy() -> None:
    """RetryPolicy.polynomial (server-supported) writes base, maxRetries and a float power."""
    policy = RetryPolicy.polynomial(timedelta(milliseconds=250), max_retries=4, power=2)
    wire = Spec.single(Node.standard("waygrid://p/a").with_retry(policy)).to_dict()
    assert wire["entryPoints"][0]["retryPolicy"] == {
        "type": "Polynomial", "base": "250ms", "maxRetries": 4, "power": 2.0,
    }  # fmt: skip


def test_join_always_emits_its_strategy() -> None:
    """A join built without .strategy() is an AND join and says so on the wire."""
    fork = (
        Node.fork("waygrid://system/waystation")
        .join_id("p")
        .branches({"a": Node.standard("waygrid://p/a"), "b": Node.standard("waygrid://p/b")})
        .joined_by(Node.join("waygrid://system/waystation"))
    )
    text = Spec.single(fork).to_json()
    assert text.count('"strategy":{"type":"And"}') == 2


@pytest.mark.parametrize(
    ("document", "path", "message"),
    [
        ([], "$", "a spec"),
        ({"entryPoints": [], "repeatPolicy": {"type": "NoRepeat"}}, "$.entryPoints", "non-empty"),
        ({"entryPoint": wire_node(), "repeatPolicy": {"type": "NoRepeat"}}, "$.entryPoint", "unexpected field 'entryPoint'"),
        ({"entryPoints": [wire_node()]}, "$.repeatPolicy", "missing"),
        (_spec(wire_node(extra=1)), "$.entryPoints[0].extra", "unexpected field 'extra'"),
        (_spec(wire_node(onTimeout=wire_node())), "$.entryPoints[0].onTimeout", "standard node"),
        (_spec(wire_node(type="Standard")), "$.entryPoints[0].type", "unknown node type"),
        (_spec({"address": "waygrid://a/b"}), "$.entryPoints[0].type", "no 'type'"),
        (_spec(wire_node(address=5)), "$.entryPoints[0].address", "str"),
        (_spec(wire_node(address="waygrid://a/b c")), "$.entryPoints[0].address", "not allowed"),
        (_spec(wire_node(retryPolicy={"type": "NoRetry"})), "$.entryPoints[0].retryPolicy.type", "unknown retry policy 'NoRetry'"),
        (_spec(wire_node(retryPolicy={"type": "Linear", "delay": "1s", "maxRetries": 1})), "$.entryPoints[0].retryPolicy.delay", "unexpected field 'delay'"),
        (_spec(wire_node(retryPolicy={"type": "Linear", "base": "5 Seconds", "maxRetries": 1})), "$.entryPoints[0].retryPolicy.base", "duration"),
        (_spec(wire_node(retryPolicy={"type": "Linear", "base": 5000, "maxRetries": 1})), "$.entryPoints[0].retryPolicy.base", "duration string"),
        (_spec(wire_node(retryPolicy={"type": "Linear", "base": "1s", "maxRetries": "3"})), "$.entryPoints[0].retryPolicy.maxRetries", "integer"),
        (_spec(wire_node(retryPolicy={"type": "Linear", "base": "1s", "maxRetries": True})), "$.entryPoints[0].retryPolicy.maxRetries", "boolean"),
        (_spec(wire_node(retryPolicy={"type": "Linear", "base": "1s", "maxRetries": 2**31})), "$.entryPoints[0].retryPolicy.maxRetries", "32-bit"),
        (_spec(wire_node(deliveryStrategy={"type": "ScheduleAt", "time": "2030-01-01"})), "$.entryPoints[0].deliveryStrategy.time", "ISO-8601"),
        (_spec(wire_node(parameters={"url": "https://x"})), '$.entryPoints[0].parameters.url', "typed parameter"),
        (_spec(wire_node(parameters={"n": {"type": "IntVal", "value": 1.5}})), "$.entryPoints[0].parameters.n.value", "integer"),
        (_spec(wire_node(parameters={"k": {"type": "Secret", "ref": {"field": "f"}}})), "$.entryPoints[0].parameters.k.ref.path", "missing"),
        (_spec(wire_node(onConditions=[{"condition": {"type": "Always"}}])), "$.entryPoints[0].onConditions[0].to", "missing"),
        (_spec(wire_node(onConditions=[{"condition": {"type": "Never"}, "to": wire_node()}])), "$.entryPoints[0].onConditions[0].condition.type", "unknown condition 'Never'"),
        (_spec(wire_node(onConditions=[{"condition": {"type": "Not", "cond": {"type": "And", "all": [{"type": "Always", "x": 1}]}}, "to": wire_node()}])), "$.entryPoints[0].onConditions[0].condition.cond.all[0].x", "unexpected field"),
        (_spec(wire_node(onSuccess={"type": "fork", "address": "waygrid://a/b", "retryPolicy": {"type": "None"}, "deliveryStrategy": {"type": "Immediate"}, "joinNodeId": "p", "branches": {"odd name": 3}})), '$.entryPoints[0].onSuccess.branches["odd name"]', "a node"),
        (_spec(wire_node(onSuccess={"type": "join", "address": "waygrid://a/b", "retryPolicy": {"type": "None"}, "deliveryStrategy": {"type": "Immediate"}, "joinNodeId": "p"})), "$.entryPoints[0].onSuccess.strategy", "missing"),
        (_spec(wire_node(onSuccess={"type": "fork", "address": "waygrid://a/b", "retryPolicy": {"type": "None"}, "deliveryStrategy": {"type": "Immediate"}, "branches": {}, "onSuccess": None})), "$.entryPoints[0].onSuccess.onSuccess", "fork node"),
        ({"entryPoints": [wire_node()], "repeatPolicy": {"type": "Times", "every": "1h", "time": 1, "times": 1}}, "$.repeatPolicy.times", "not both"),
    ],
)  # fmt: skip
def test_decode_errors_name_the_path(document: Any, path: str, message: str) -> None:
    """Every malformed document raises SpecDecodeError at the exact path, saying what was wrong."""
    with pytest.raises(SpecDecodeError) as caught:
        Spec.from_dict(document)
    assert caught.value.path == path
    assert message in caught.value.reason
    assert str(caught.value).startswith(path + ": ")


def test_type_is_tolerated_on_every_object() -> None:
    """Like the server, the key `type` is accepted on the spec, edges and secret references."""
    document = _spec(
        wire_node(
            parameters={"k": {"type": "Secret", "ref": {"type": "x", "path": "p"}}},
            onConditions=[{"type": "edge", "condition": {"type": "Always"}, "to": wire_node()}],
        )
    )
    document["type"] = "spec"
    assert Spec.from_dict(document).entry_points[0].parameters[0][1] == Secret("p")


def test_documented_leniencies() -> None:
    """Missing policies, null for absent, `times`, long duration names and offsets are read."""
    document = {
        "entryPoints": [
            {
                "type": "standard",
                "address": "waygrid://processor/a",
                "label": None,
                "onSuccess": None,
                "onConditions": None,
                "parameters": None,
                "deliveryStrategy": {"type": "ScheduleAt", "time": "2030-01-01T02:00:00+02:00"},
                "retryPolicy": {"type": "Linear", "base": "1.5 minutes", "maxRetries": 3.0},
            }
        ],
        "repeatPolicy": {"type": "Times", "every": "2 hrs", "times": 4},
    }
    spec = Spec.from_dict(document)
    assert spec == Spec.single(
        Node.standard("waygrid://processor/a")
        .with_retry(RetryPolicy.linear(timedelta(seconds=90), 3))
        .with_delivery(DeliveryStrategy.schedule_at(spec.entry_points[0].delivery_strategy.time)),  # type: ignore[attr-defined]
        RepeatPolicy.times(timedelta(hours=2), 4),
    )
    assert '"time":"2030-01-01T00:00:00Z"' in spec.to_json()
    assert '"repeatPolicy":{"type":"Times","every":"2h","time":4}' in spec.to_json()
    # The server's own reading refuses the SDK leniencies.
    with pytest.raises(SpecDecodeError, match=r"retryPolicy|times"):
        decode_spec(document, mode="server")


def test_server_mode_reads_integers_inside_strings() -> None:
    """Without leniency the reader follows the server, which reads "3" as an integer."""
    document = _spec(wire_node(retryPolicy={"type": "Linear", "base": "1s", "maxRetries": "3"}))
    assert decode_spec(document, mode="server").entry_points[0].retry_policy.max_retries == 3  # type: ignore[attr-defined]


def test_json_pointer_conditions_can_be_refused() -> None:
    """The reader refuses JsonExists/JsonEquals when asked to behave like today's server."""
    document = _spec(
        wire_node(
            onConditions=[{"condition": {"type": "JsonExists", "pointer": "/a"}, "to": wire_node()}]
        )
    )
    assert Spec.from_dict(document)
    with pytest.raises(SpecDecodeError, match="not supported by the server"):
        decode_spec(document, json_conditions=False)


def test_from_json_rejects_duplicate_keys_and_bad_json() -> None:
    """Duplicate keys (a parse error on the server) and malformed JSON raise at `$`."""
    text = Spec.single(Node.standard("waygrid://p/a")).to_json()
    duplicated = text.replace('"type":"standard"', '"type":"standard","type":"standard"')
    with pytest.raises(SpecDecodeError, match="duplicate key 'type'") as caught:
        Spec.from_json(duplicated)
    assert caught.value.stage == "json"
    for bad in ["", "{", "[1,]", "NaN", b"\xff"]:
        with pytest.raises(SpecDecodeError) as caught:
            Spec.from_json(bad)
        assert caught.value.path == "$"


def test_infinite_duration_is_a_plain_decode_error() -> None:
    """An infinite duration is a SpecDecodeError at its path; the public stage says only "decode"."""
    document = _spec(wire_node(deliveryStrategy={"type": "ScheduleAfter", "delay": "Inf"}))
    with pytest.raises(SpecDecodeError) as caught:
        Spec.from_dict(document)
    assert caught.value.stage == "decode"
    assert caught.value.path == "$.entryPoints[0].deliveryStrategy.delay"


def test_to_json_of_fork_without_join_id_is_a_clear_error() -> None:
    """A fork without a join id cannot be written: SpecError says which call is missing."""
    fork = Node.fork("waygrid://system/waystation").branches({"a": Node.standard("waygrid://p/a")})
    with pytest.raises(SpecError, match=r"join_id"):
        Spec.single(fork).to_json()
    with pytest.raises(SpecError, match=r"join_id"):
        Spec.single(fork).to_dict()
