"""Fuzzing the readers: whatever `from_dict`/`from_json` get, only a typed spec error escapes."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.core.strategies import specs
from waygrid import Spec, SpecError
from waygrid._codec._read import ReadMode, decode_spec
from waygrid._json import loads_strict

_KEYS = st.one_of(
    st.sampled_from(
        ["type", "address", "entryPoints", "repeatPolicy", "onSuccess", "cond", "value", "all"]
    ),
    st.text(max_size=6),
    st.integers(-3, 3),
    st.none(),
    st.booleans(),
    st.tuples(st.integers(0, 2)),
    st.floats(allow_nan=False),
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([2**31, -(2**31) - 1, 2**63, 10**400]),
    st.integers(4301, 4400).map(lambda digits: -(10**digits)),  # past int-to-str limits
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(
        ["standard", "fork", "join", "Not", "And", "Always", "FloatVal", "Linear", "5s", "1.5h"]
    ),
    st.sampled_from(["9" * 5000 + "s", "\ud800", "1" * 300 + ".5 seconds", "Inf", "-0s"]),
    st.binary(max_size=4),
    st.just(object()),
)
hostile_values: st.SearchStrategy[Any] = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(_KEYS, inner, max_size=5),
    ),
    max_leaves=20,
)


def _read_everything(document: object) -> None:
    """Read ``document`` both ways; whatever reads must validate, compile, draw and round-trip."""
    for mode in ("sdk", "server"):
        try:
            spec = decode_spec(document, mode=mode, json_conditions=mode == "sdk")
        except SpecError:
            continue
        _use(spec, mode=mode)


def _use(spec: Spec, *, mode: ReadMode) -> None:
    try:
        spec.validate()
        spec.to_mermaid()
    except SpecError:
        pass
    text = spec.to_json()
    assert decode_spec(loads_strict(text), mode=mode, json_conditions=True) == spec
    assert decode_spec(spec.to_dict(), mode=mode, json_conditions=True).to_json() == text


@settings(max_examples=500, deadline=None)
@given(hostile_values)
def test_arbitrary_values(value: Any) -> None:
    """Any Python value, as the spec or wrapped as one, gives a spec or a SpecError."""
    _read_everything(value)
    _read_everything({"entryPoints": [value], "repeatPolicy": {"type": "NoRepeat"}})
    _read_everything({"entryPoints": value, "repeatPolicy": value})


def _positions(document: Any) -> list[tuple[Any, Any, list[Any]]]:
    """Every (container, key or index, ancestors) inside ``document``, each container once."""
    found: list[tuple[Any, Any, list[Any]]] = []
    pending: list[tuple[Any, list[Any]]] = [(document, [])]
    seen: set[int] = set()
    while pending:
        container, ancestors = pending.pop()
        if id(container) in seen:  # an earlier mutation made a cycle
            continue
        seen.add(id(container))
        keys = list(container) if isinstance(container, dict) else range(len(container))
        for key in keys:
            found.append((container, key, ancestors))
            child = container[key]
            if isinstance(child, (dict, list)):
                pending.append((child, [*ancestors, container]))
    return found


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs, st.data())
def test_mutated_specs(spec: Spec, data: st.DataObject) -> None:
    """A valid spec's dict with one to three places broken (a hostile value, a removed or
    foreign member, a reference back to an enclosing object) reads or fails with SpecError."""
    document = spec.to_dict()
    for _ in range(data.draw(st.integers(1, 3))):
        positions = _positions(document)
        if not positions:
            break
        container, key, ancestors = data.draw(st.sampled_from(positions))
        action = data.draw(st.sampled_from(["replace", "delete", "add", "cycle"]))
        if action == "replace":
            container[key] = data.draw(hostile_values)
        elif action == "delete" and isinstance(container, dict):
            del container[key]
        elif action == "add" and isinstance(container, dict):
            container[data.draw(_KEYS)] = data.draw(hostile_values)
        elif action == "cycle":
            container[key] = data.draw(st.sampled_from([*ancestors, container]))
    _read_everything(document)


@settings(max_examples=300, deadline=None)
@given(specs, st.data())
def test_mutated_json_text(spec: Spec, data: st.DataObject) -> None:
    """Canonical JSON text with a slice replaced by hostile text reads or fails with SpecError."""
    text = spec.to_json()
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 20)))
    insert = data.draw(
        st.one_of(
            st.text(max_size=8),
            st.sampled_from(["[" * 3000, "{" * 3000, "9" * 5000, "1e999", "NaN", '"\\ud800"']),
        )
    )
    broken = text[:start] + insert + text[end:]
    for source in (broken, broken.encode("utf-8", "surrogatepass")):
        try:
            read = Spec.from_json(source)
        except SpecError:
            continue
        _use(read, mode="sdk")


@settings(max_examples=20, deadline=None)
@given(st.integers(1_000, 20_000), st.sampled_from(["list", "dict", "not", "chain"]))
def test_deep_nesting(depth: int, shape: str) -> None:
    """Documents nested thousands deep read or fail with SpecError, never RecursionError."""
    node = '{"type":"standard","address":"waygrid://p/a"'
    if shape == "list":
        text = "[" * depth + "]" * depth
    elif shape == "dict":
        text = '{"a":' * depth + "1" + "}" * depth
    elif shape == "not":
        condition = '{"type":"Not","cond":' * depth + '{"type":"Always"}' + "}" * depth
        text = (
            '{"entryPoints":[' + node + ',"onConditions":[{"condition":' + condition
            + ',"to":' + node + "}}]}],"
            '"repeatPolicy":{"type":"NoRepeat"}}'
        )  # fmt: skip
    else:
        text = (
            '{"entryPoints":[' + (node + ',"onSuccess":') * depth + node + "}" * (depth + 1)
            + '],"repeatPolicy":{"type":"NoRepeat"}}'
        )  # fmt: skip
    try:
        spec = Spec.from_json(text)
    except SpecError:
        return
    _use(spec, mode="sdk")
