"""Deep and wide specs: clear results or errors, never a RecursionError."""

from __future__ import annotations

import pytest

from waygrid import Condition, Node, Spec, SpecDecodeError, SpecValidationError

DEPTH = 10_000


@pytest.fixture(scope="module")
def deep_chain() -> Spec:
    """A 10,000-deep on_success chain."""
    node = Node.standard("waygrid://processor/last")
    for index in range(DEPTH - 1):
        node = Node.standard(f"waygrid://processor/n{index % 10}").on_success(node)
    return Spec.single(node)


def test_deep_chain_serializes_and_reads_back(deep_chain: Spec) -> None:
    """to_dict, to_json, from_dict and from_json all handle a 10,000-deep chain."""
    as_dict = deep_chain.to_dict()
    text = deep_chain.to_json()
    assert text.count('"onSuccess"') == DEPTH - 1
    assert Spec.from_dict(as_dict) == deep_chain
    assert Spec.from_json(text) == deep_chain
    assert hash(Spec.from_json(text)) == hash(deep_chain)
    assert repr(deep_chain).count("StandardNode(") <= 5


def test_deep_chain_validates_with_a_depth_error(deep_chain: Spec) -> None:
    """validate() reports the server's depth limit instead of recursing."""
    with pytest.raises(SpecValidationError) as caught:
        deep_chain.validate()
    assert [e.code for e in caught.value.errors] == ["depth-exceeded"]


def test_deeply_nested_json_is_a_decode_error_not_a_crash() -> None:
    """JSON nested far too deep for the parser gives a SpecDecodeError with a path."""
    text = '{"entryPoints":' + "[" * 50_000 + "]" * 50_000 + ',"repeatPolicy":{"type":"NoRepeat"}}'
    with pytest.raises(SpecDecodeError) as caught:
        Spec.from_json(text)
    assert caught.value.path == "$.entryPoints[0]"


def test_deep_conditions() -> None:
    """A condition nested 10,000 levels deep is written, read, compared and validated."""
    condition = Condition.ALWAYS
    for _ in range(DEPTH):
        condition = Condition.not_(condition)
    spec = Spec.single(
        Node.standard("waygrid://processor/a").on_conditions(
            [Condition.when(condition, Node.standard("waygrid://processor/b"))]
        )
    )
    text = spec.to_json()
    assert Spec.from_json(text) == spec
    assert spec.validate() == []
    written = spec.to_dict()["entryPoints"][0]["onConditions"][0]["condition"]
    depth = 0
    while written["type"] == "Not":
        written, depth = written["cond"], depth + 1
    assert (depth, written) == (DEPTH, {"type": "Always"})


def test_wide_spec() -> None:
    """A fork with 200 branches of 50 nodes each (10,000 nodes) compiles and round-trips."""
    branches = {}
    for b in range(200):
        node = Node.standard("waygrid://processor/end")
        for _ in range(49):
            node = Node.standard(f"waygrid://processor/b{b}").on_success(node)
        branches[f"branch-{b:03d}"] = node
    fork = (
        Node.fork("waygrid://system/waystation")
        .join_id("wide")
        .branches(branches)
        .joined_by(Node.join("waygrid://system/waystation"))
    )
    spec = Spec.single(fork)
    dag = spec.compile()
    assert len(dag.nodes) == 1 + 200 * 50 + 1
    assert Spec.from_json(spec.to_json()) == spec
