"""validate() and compile(): the server's compiler rules, warnings, dagHash and Mermaid."""

from __future__ import annotations

from datetime import timedelta

import pytest

from waygrid import (
    Condition,
    JoinStrategy,
    Node,
    RetryPolicy,
    Spec,
    SpecValidationError,
    ValidationIssue,
)
from waygrid.nodes import JoinNode

A = Node.standard("waygrid://processor/a")
B = Node.standard("waygrid://processor/b")
JOIN = Node.join("waygrid://system/waystation").join_id("p")


def _fork(join: JoinNode = JOIN, **branches: Node) -> Node:
    fork = Node.fork("waygrid://system/waystation").join_id("p")
    return fork.branches(branches or {"a": A, "b": B}).joined_by(join)


def _errors(spec: Spec) -> list[ValidationIssue]:
    with pytest.raises(SpecValidationError) as caught:
        spec.validate()
    return list(caught.value.errors)


def _codes(issues: list[ValidationIssue]) -> set[str]:
    return {issue.code for issue in issues}


def test_a_valid_spec_has_no_issues() -> None:
    """A well-formed fork/join spec: no errors, and only the runtime's branch-failure warning."""
    (warning,) = Spec.single(A.on_success(_fork())).validate()
    assert warning.code == "runtime-branch-failure-fails-traversal"
    assert warning.path == "$.entryPoints[0].onSuccess"
    assert Spec.single(A.on_success(B)).validate() == []


def test_fork_without_join() -> None:
    """A fork whose join id reaches no join is an error with a joined_by hint."""
    fork = Node.fork("waygrid://system/waystation").join_id("p").branches({"a": A, "b": B})
    (error,) = _errors(Spec.single(fork))
    assert (error.code, error.path) == ("fork-without-join", "$.entryPoints[0]")
    assert "joined_by" in (error.hint or "")


def test_multiple_joins_for_one_id() -> None:
    """Two join nodes (different addresses) for one join id is an error."""
    other = Node.join("waygrid://system/other").join_id("p")
    fork = (
        Node.fork("waygrid://system/waystation")
        .join_id("p")
        .branches({"a": A.on_success(JOIN), "b": B.on_success(other)})
    )
    assert "multiple-joins" in _codes(_errors(Spec.single(fork)))


def test_join_without_fork() -> None:
    """A join whose id no fork uses is an error at the join's path."""
    (error,) = _errors(Spec.single(A.on_success(JOIN)))
    assert (error.code, error.path) == ("join-without-fork", "$.entryPoints[0].onSuccess")


def test_fork_with_one_branch() -> None:
    """A fork needs at least two branches in the compiled graph."""
    fork = Node.fork("waygrid://system/waystation").join_id("p").branches({"a": A}).joined_by(JOIN)
    (error,) = _errors(Spec.single(fork))
    assert error.code == "fork-insufficient-branches"


def test_cycle_through_join_identity() -> None:
    """A join inside its own continuation closes a cycle (ids are address + join id)."""
    inner = _fork()
    outer_join = JOIN.on_success(inner)
    fork = Node.fork("waygrid://system/waystation").join_id("p").branches({"a": A, "b": B})
    spec = Spec.single(fork.joined_by(outer_join))
    assert "cycle" in _codes(_errors(spec))


@pytest.mark.parametrize(("length", "ok"), [(129, True), (130, False)])
def test_depth_limit(length: int, ok: bool) -> None:
    """Depth 128 (129 nodes in a chain) passes; one more is the server's depth error."""
    node = Node.standard("waygrid://processor/last")
    for _ in range(length - 1):
        node = Node.standard("waygrid://processor/step").on_success(node)
    spec = Spec.single(node)
    if ok:
        assert spec.compile().nodes
        return
    (error,) = _errors(spec)
    assert error.code == "depth-exceeded"
    assert error.path == "$.entryPoints[0]" + ".onSuccess" * 129
    with pytest.raises(SpecValidationError) as caught:
        spec.compile()
    assert caught.value.server_error == (
        "com.monadial.waygrid.common.domain.algebra.RouteCompilerError: "
        "Max recursion depth (128) exceeded at node 'waygrid://processor/last'"
    )


def test_warnings() -> None:
    """Each likely mistake the server accepts is a warning with its own code and path."""
    join = (
        Node.join("waygrid://system/waystation")
        .join_id("p")
        .strategy(JoinStrategy.quorum(3))
        .label("x" * 65)
    )
    fork = (
        Node.fork("waygrid://system/waystation")
        .join_id("p")
        .branches({"a": A.with_retry(RetryPolicy.linear(timedelta(seconds=1), 0)), "b": B})
    )
    entry = (
        Node.standard("http://example.com/hook")
        .on_success(fork.joined_by(join))
        .on_conditions(
            [
                Condition.when(Condition.ALWAYS, A),
                Condition.when(Condition.not_(Condition.or_([])), B),
                Condition.when(Condition.json_exists("/x"), A),
            ]
        )
    )
    warnings = Spec.single(entry).validate()
    by_code = {w.code: w for w in warnings}
    assert set(by_code) == {
        "address-format",
        "label-too-long",
        "max-retries-out-of-range",
        "quorum-out-of-range",
        "join-without-timeout",
        "unsupported-by-server",
        "multiple-always-conditions",
        "on-success-shadowed",
        "runtime-branch-failure-fails-traversal",
    }
    assert by_code["unsupported-by-server"].path == "$.entryPoints[0].onConditions[2].condition"
    assert by_code["max-retries-out-of-range"].path.endswith(".branches.a.retryPolicy.maxRetries")
    with pytest.raises(SpecValidationError):
        Spec.single(entry).validate(strict=True)


def test_branch_that_never_joins() -> None:
    """A failure path inside a branch that ends without the join is a warning."""
    fork = (
        Node.fork("waygrid://system/waystation")
        .join_id("p")
        .branches({"a": A.on_failure(Node.standard("waygrid://processor/cleanup")), "b": B})
        .joined_by(JOIN)
    )
    static = [w for w in Spec.single(fork).validate() if not w.code.startswith("runtime-")]
    (warning,) = static
    assert warning.code == "branch-never-joins"
    assert warning.path == "$.entryPoints[0].branches.a.onFailure"


def test_labels_policies_and_parameters_are_not_hashed() -> None:
    """As on the server, the dagHash ignores labels, policies and parameters, not addresses."""
    plain = Spec.single(A.on_success(B))
    dressed = Spec.single(
        A.label("A")
        .with_retry(RetryPolicy.exponential(timedelta(seconds=1), 3))
        .on_success(B.with_parameters({"k": "v"}))
    )
    assert plain.compile().dag_hash == dressed.compile().dag_hash
    assert plain.compile(salt="other").dag_hash != plain.compile().dag_hash
    assert Spec.single(B.on_success(A)).compile().dag_hash != plain.compile().dag_hash


def test_branch_order_does_not_change_the_hash() -> None:
    """Branches are ordered by name, so insertion order never changes the spec or hash."""
    one = _fork(a=A, b=B)
    two = (
        Node.fork("waygrid://system/waystation")
        .join_id("p")
        .branches({"b": B, "a": A})
        .joined_by(JOIN)
    )
    assert one == two
    assert Spec.single(one).compile().dag_hash == Spec.single(two).compile().dag_hash


def test_compiled_dag_shape() -> None:
    """compile() exposes ids, kinds, edges with guards and the server's join fan-out."""
    dag = Spec.single(
        A.on_success(_fork(JOIN.on_success(Node.standard("waygrid://d/x"))))
    ).compile()
    kinds = [node.kind for node in dag.nodes]
    assert kinds.count("fork") == 1 and kinds.count("join") == 1
    assert kinds.count("standard") == 1 + 2 + 2  # entry, branches, continuation once per branch
    assert all(len(node.id) == 16 for node in dag.nodes)
    join = next(node for node in dag.nodes if node.kind == "join")
    assert join.fork_id is not None and join.fork_id.isupper()
    assert {edge.guard for edge in dag.edges} == {"OnSuccess"}
    assert dag.node(join.id) is join
    assert dag.node(dag.entry_points[0]).path == "$.entryPoints[0]"


def test_mermaid_picture() -> None:
    """to_mermaid draws every compiled node once, with guards on the edges."""
    join = JOIN.timeout(timedelta(seconds=5)).on_timeout(Node.standard("waygrid://d/late"))
    spec = Spec.single(
        A.label('Say "hi"')
        .on_success(_fork(join))
        .on_failure(B)
        .on_conditions([Condition.when(Condition.ALWAYS, Node.standard("waygrid://d/c"))])
    )
    text = spec.to_mermaid()
    assert text.startswith("flowchart TD\n")
    dag = spec.compile()
    for node in dag.nodes:
        assert f"n{node.id}" in text
    assert "-. failure .->" in text and "-. timeout .->" in text
    assert '-- "always" -->' in text
    assert "Say #34;hi#34;" in text


def test_mermaid_condition_labels_are_short_and_readable() -> None:
    """Conditional edges carry a readable, bounded label, however deep the condition."""
    deep = Condition.json_equals("/status", "ok")
    for _ in range(5000):
        deep = Condition.not_(deep)
    spec = Spec.single(
        A.on_conditions(
            [
                Condition.when(Condition.and_([Condition.json_exists("/a"), Condition.ALWAYS]), B),
                Condition.when(deep, B),
            ]
        )
    )
    text = spec.to_mermaid()
    assert '-- "all(exists /a, always)" -->' in text
    assert '-- "not(not(not(not(not(not(not(not(not(n..." -->' in text


def test_always_condition_shadows_on_success() -> None:
    """An always-true conditional edge next to on_success makes on_success unreachable."""
    spec = Spec.single(A.on_success(B).on_conditions([Condition.when(Condition.ALWAYS, B)]))
    (warning,) = spec.validate()
    assert (warning.code, warning.path) == ("on-success-shadowed", "$.entryPoints[0].onSuccess")
    assert Spec.single(A.on_conditions([Condition.when(Condition.ALWAYS, B)])).validate() == []


def test_the_fast_paths_agree_with_the_edge_table() -> None:
    """The compiler and the warnings' walk expand a standard node without conditional edges
    without the edge table; what they assume of it (order, guards, path bits, segments) holds."""
    from waygrid.dag._compiler import _VISIT_ORDER
    from waygrid.dag._validate import _BACKWARDS

    assert [(attribute, plan[:5]) for attribute, plan in _VISIT_ORDER["standard"][:2]] == [
        ("on_failure_node", ("node", "OnFailure", 1, 0, ".onFailure")),
        ("on_success_node", ("node", "OnSuccess", 1, 1, ".onSuccess")),
    ]
    assert [plan[:3] for plan in _BACKWARDS["standard"]] == [
        ("conditional_edges", "edges", ".onConditions"),
        ("on_failure_node", "node", ".onFailure"),
        ("on_success_node", "node", ".onSuccess"),
    ]
