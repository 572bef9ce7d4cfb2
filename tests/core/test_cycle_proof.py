"""The compiler's cheap acyclicity proof never hides a cycle the server's DFS would find."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from waygrid import Node, Spec, SpecError
from waygrid.dag._compiler import _Compiler
from waygrid.dag._problems import StopError
from waygrid.dag._structure import find_cycle, may_loop
from waygrid.nodes import INode

from .strategies import specs


def _agrees(spec: Spec) -> None:
    compiler = _Compiler("test")
    try:
        entry_ids = compiler.run(spec)
    except StopError:
        return
    if not may_loop(compiler):
        assert find_cycle(compiler, entry_ids) is None


@settings(max_examples=300, deadline=None)
@given(specs)
def test_no_cycle_when_proved_acyclic(spec: Spec) -> None:
    """Any spec: when `may_loop` says no, the DFS finds no cycle."""
    _agrees(spec)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["", "j", "k"]), min_size=1, max_size=10), st.data())
def test_forks_nested_in_their_own_continuation(join_ids: list[str], data: st.DataObject) -> None:
    """Forks and joins reused at several depths (the shapes that do loop) agree too."""
    node: INode = Node.standard("waygrid://p/leaf")
    for join_id in join_ids:
        fork = Node.fork("waygrid://s/f").join_id(join_id)
        fork = fork.branches({"a": node, "b": Node.standard("waygrid://p/b")})
        node = fork
        if data.draw(st.booleans()):
            with contextlib.suppress(SpecError):  # joined_by refuses some reuses of an id
                node = fork.joined_by(Node.join("waygrid://s/j").join_id(join_id))
        if data.draw(st.booleans()):
            node = Node.standard("waygrid://p/step").on_success(node)
    _agrees(Spec.single(node))
