"""The compiler's cheap acyclicity proof never hides a cycle the server's DFS would find."""

from __future__ import annotations

from hypothesis import given, settings

from waygrid import Node, Spec
from waygrid.dag._compiler import _Compiler
from waygrid.dag._problems import StopError
from waygrid.dag._structure import find_cycle, may_loop

from .strategies import nested_forks, specs


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
@given(nested_forks(max_size=10, steps=True))
def test_forks_nested_in_their_own_continuation(spec: Spec) -> None:
    """Forks and joins reused at several depths (the shapes that do loop) agree too."""
    _agrees(spec)


def test_the_proof_skips_the_search_on_a_tree_and_not_on_a_loop() -> None:
    """The proof holds where it should (so the DFS is skipped), and flags a real cycle."""
    from benchmarks.core import wide_spec
    from tests.core.test_validate import JOIN, A, B, _errors, _fork

    def proof(spec: Spec) -> bool:
        compiler = _Compiler("test")
        compiler.run(spec)
        return may_loop(compiler)

    assert proof(wide_spec(1_000)) is False
    fork = Node.fork("waygrid://system/waystation").join_id("p").branches({"a": A, "b": B})
    looping = Spec.single(fork.joined_by(JOIN.on_success(_fork())))  # test_validate's cycle
    assert any(issue.code == "cycle" for issue in _errors(looping))
    assert proof(looping) is True
