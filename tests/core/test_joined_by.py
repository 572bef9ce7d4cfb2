"""ForkNode.joined_by: weaving the join into every path of every branch."""

from __future__ import annotations

from datetime import timedelta

import pytest

from waygrid import Condition, JoinStrategy, Node, Spec, SpecError
from waygrid.nodes import ForkNode, JoinNode, StandardNode

WAYSTATION = "waygrid://system/waystation"
RUNTIME_FORK_JOIN = {
    "runtime-branch-failure-fails-traversal",
    "runtime-control-node-never-answered",
    "runtime-join-continuation-stalls",
}
"""What today's server does wrong with a fork entry point woven by ``joined_by``."""


def _std(name: str) -> StandardNode:
    return Node.standard(f"waygrid://processor/{name}")


def _join(join_id: str | None = "p") -> JoinNode:
    join = Node.join(WAYSTATION).on_success(_std("after"))
    return join if join_id is None else join.join_id(join_id)


def _ends(node: Node) -> list[Node]:
    """The last nodes of every success/conditional path from ``node``."""
    ends, pending = [], [node]
    while pending:
        current = pending.pop()
        if isinstance(current, StandardNode):
            nexts = [e.to for e in current.conditional_edges]
            if current.on_success_node is not None:
                nexts.append(current.on_success_node)
            if not nexts:
                ends.append(current)
            pending.extend(nexts)
        else:
            ends.append(current)
    return ends


def test_join_is_appended_with_its_continuation() -> None:
    """Every success end of every branch gets the join, repeated in full with its continuation."""
    join = _join()
    fork = (
        Node.fork(WAYSTATION)
        .join_id("p")
        .branches({"a": _std("a").on_success(_std("a2")), "b": _std("b")})
        .joined_by(join)
    )
    for _, branch in fork.branch_nodes:
        assert _ends(branch) == [join]
    # The compiler accepts it; only the runtime warnings speak: the join's continuation is
    # duplicated per branch and stalls on today's server, as does a fork entry point.
    assert sorted(issue.code for issue in Spec.single(fork).validate()) == [
        "runtime-branch-failure-fails-traversal",
        "runtime-control-node-never-answered",
        "runtime-join-continuation-stalls",
    ]


def test_conditional_paths_are_woven_and_failure_paths_left_alone() -> None:
    """Conditional edges lead to the join too; on_failure paths are untouched (and warned)."""
    cleanup = _std("cleanup")
    branch = (
        _std("a").on_failure(cleanup).on_conditions([Condition.when(Condition.ALWAYS, _std("c"))])
    )
    fork = (
        Node.fork(WAYSTATION)
        .join_id("p")
        .branches({"a": branch, "b": _std("b")})
        .joined_by(_join())
    )
    woven = dict(fork.branch_nodes)["a"]
    assert isinstance(woven, StandardNode)
    assert woven.on_failure_node == cleanup
    assert isinstance(woven.on_success_node, JoinNode)
    assert isinstance(woven.conditional_edges[0].to.on_success_node, JoinNode)  # type: ignore[union-attr]
    codes = {w.code for w in Spec.single(fork).validate()}
    assert "branch-never-joins" in codes


def test_join_takes_the_forks_id_and_the_fork_takes_the_joins() -> None:
    """A join without an id takes the fork's; a fork without one takes the join's."""
    fork = Node.fork(WAYSTATION).join_id("p").branches({"a": _std("a"), "b": _std("b")})
    woven = fork.joined_by(_join(None))
    assert _ends(dict(woven.branch_nodes)["a"])[0].join_node_id == "p"  # type: ignore[attr-defined]
    unnamed = Node.fork(WAYSTATION).branches({"a": _std("a"), "b": _std("b")}).joined_by(_join("q"))
    assert unnamed.join_node_id == "q"
    with pytest.raises(SpecError, match="differs"):
        fork.joined_by(_join("q"))
    with pytest.raises(SpecError, match="join_id"):
        Node.fork(WAYSTATION).branches({"a": _std("a")}).joined_by(_join(None))


def test_nested_forks_continue_after_their_join() -> None:
    """A nested fork's paths continue after its own join, where the outer join is attached."""
    inner = (
        Node.fork(WAYSTATION)
        .join_id("inner")
        .branches({"x": _std("x"), "y": _std("y")})
        .joined_by(Node.join(WAYSTATION).join_id("inner"))
    )
    outer_join = _join("outer")
    outer = Node.fork(WAYSTATION).join_id("outer").branches({"a": inner, "b": _std("b")})
    woven = outer.joined_by(outer_join)
    spec = Spec.single(woven)
    # The compiler accepts it; only runtime warnings (each join's continuation stalls).
    assert {issue.code for issue in spec.validate()} == RUNTIME_FORK_JOIN
    inner_woven = dict(woven.branch_nodes)["a"]
    assert isinstance(inner_woven, ForkNode)
    for _, branch in inner_woven.branch_nodes:
        (inner_join,) = _ends(branch)
        assert isinstance(inner_join, JoinNode) and inner_join.join_node_id == "inner"
        assert inner_join.on_success_node == outer_join


def test_nested_fork_without_its_join_is_an_error() -> None:
    """Weaving through a nested fork that has no join yet says to join it first."""
    inner = Node.fork(WAYSTATION).join_id("inner").branches({"x": _std("x"), "y": _std("y")})
    outer = Node.fork(WAYSTATION).join_id("outer").branches({"a": inner, "b": _std("b")})
    with pytest.raises(SpecError, match="joined_by"):
        outer.joined_by(_join("outer"))


def test_conflicting_join_and_branch_escaping_the_fork() -> None:
    """A branch already ending in another join with the id, or in a foreign join, is an error."""
    other = Node.join(WAYSTATION).join_id("p").strategy(JoinStrategy.OR)
    fork = (
        Node.fork(WAYSTATION)
        .join_id("p")
        .branches({"a": _std("a").on_success(other), "b": _std("b")})
    )
    with pytest.raises(SpecError, match="conflicting-join"):
        fork.joined_by(_join())
    stray = (
        Node.fork(WAYSTATION)
        .join_id("p")
        .branches(
            {"a": _std("a").on_success(Node.join(WAYSTATION).join_id("elsewhere")), "b": _std("b")}
        )
    )
    with pytest.raises(SpecError, match="branch-escapes-fork"):
        stray.joined_by(_join())


def test_weaving_twice_with_the_same_join_is_harmless() -> None:
    """A branch that already ends in the very same join is left as it is."""
    join = _join()
    fork = (
        Node.fork(WAYSTATION)
        .join_id("p")
        .branches({"a": _std("a").on_success(join), "b": _std("b")})
    )
    woven = fork.joined_by(join)
    assert dict(woven.branch_nodes)["a"] == dict(fork.branch_nodes)["a"]


def test_branches_after_joined_by_is_refused() -> None:
    """Setting branches after joined_by raises, telling the user to call joined_by last."""
    fork = (
        Node.fork(WAYSTATION)
        .join_id("p")
        .branches({"a": _std("a"), "b": _std("b")})
        .joined_by(_join())
    )
    with pytest.raises(SpecError, match="joined_by\\(\\) last"):
        fork.branches({"c": _std("c")})
    with pytest.raises(SpecError, match="before joined_by"):
        fork.join_id("other")
    parsed = Spec.from_json(Spec.single(fork).to_json()).entry_points[0]
    assert parsed == fork
    with pytest.raises(SpecError, match="joined_by\\(\\) last"):
        parsed.branches({"c": _std("c")})  # type: ignore[union-attr]


def test_joined_by_needs_branches_and_a_join_node() -> None:
    """joined_by without branches, or with something that is not a join, is an error."""
    with pytest.raises(SpecError, match="branches"):
        Node.fork(WAYSTATION).join_id("p").joined_by(_join())
    with pytest.raises(SpecError, match="join node"):
        Node.fork(WAYSTATION).join_id("p").branches({"a": _std("a")}).joined_by(_std("x"))  # type: ignore[arg-type]


def test_weaving_a_deep_branch() -> None:
    """A branch thousands of nodes long is woven without hitting the recursion limit."""
    chain = _std("end")
    for _ in range(5000):
        chain = _std("step").on_success(chain)
    fork = (
        Node.fork(WAYSTATION)
        .join_id("p")
        .branches({"a": chain, "b": _std("b")})
        .joined_by(_join().timeout(timedelta(seconds=1)))
    )
    assert isinstance(_ends(dict(fork.branch_nodes)["a"])[0], JoinNode)
