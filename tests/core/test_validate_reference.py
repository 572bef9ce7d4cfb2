"""The one-pass validation agrees with the per-fork definition of a branch that never joins."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import given, settings

from waygrid import Node, Spec
from waygrid._codec import render_path
from waygrid.dag._compiler import MAX_DEPTH
from waygrid.dag._issues import MAX_LISTED
from waygrid.dag._validate import _children, _walk
from waygrid.errors import SpecValidationError, ValidationIssue
from waygrid.nodes import ForkNode, INode, JoinNode

from .strategies import nested_forks, specs


def _reference(spec: Spec) -> Counter[str]:
    """The definition, walked once per fork (quadratic; for small specs only)."""
    found: Counter[str] = Counter()
    nodes, _ = _walk(spec)
    for fork, path in nodes:
        if not isinstance(fork, ForkNode) or fork.join_node_id is None:
            continue
        pending: list[tuple[INode, Any, tuple[str, ...]]] = [
            (child, child_path, ()) for child, child_path in _children(fork, path)
        ]
        while pending:
            node, where, context = pending.pop()
            if isinstance(node, JoinNode):
                if context and node.join_node_id == context[-1]:
                    context = context[:-1]
                elif not context and node.join_node_id == fork.join_node_id:
                    continue
            if isinstance(node, ForkNode) and node.join_node_id is not None:
                context = (*context, node.join_node_id)
            children = _children(node, where)
            if not children and not isinstance(node, ForkNode) and not context:
                found[render_path(where)] += 1
            pending.extend((child, child_path, context) for child, child_path in children)
    return found


def _never_joins(spec: Spec) -> Counter[str]:
    try:
        issues = spec.validate()
    except SpecValidationError as error:
        issues = list(error.issues)
    return Counter(issue.path for issue in issues if issue.code == "branch-never-joins")


@settings(max_examples=400, deadline=None)
@given(specs)
def test_branch_never_joins_matches_the_definition(spec: Spec) -> None:
    """Every path the per-fork walk reports is reported once, and nothing else."""
    reference = _reference(spec)
    if sum(reference.values()) <= MAX_LISTED:
        assert _never_joins(spec) == reference


@settings(max_examples=200, deadline=None)
@given(nested_forks(max_size=12))
def test_nested_forks_with_shared_join_ids(spec: Spec) -> None:
    """Forks nested in forks, with join ids reused, agree with the definition."""
    assert _never_joins(spec) == _reference(spec)


def test_many_issues_are_counted_not_listed() -> None:
    """Past MAX_LISTED issues of one kind, one summary issue gives the count."""
    leaves = {f"b{i}": Node.standard(f"bad:address-{i}") for i in range(MAX_LISTED + 50)}
    spec = Spec.single(Node.fork("waygrid://s/f").join_id("j").branches(leaves))
    try:
        issues: list[ValidationIssue] = spec.validate()
    except SpecValidationError as error:
        issues = list(error.issues)
    formats = [issue for issue in issues if issue.code == "address-format"]
    assert len(formats) == MAX_LISTED + 1
    assert formats[-1].path == "$"
    assert formats[-1].message.startswith("50 more address-format warnings")


def test_nodes_past_the_depth_limit_are_not_walked() -> None:
    """Past the server's limit only the depth error is reported, not warnings on every node."""
    node: INode = Node.standard("bad:address")
    for _ in range(MAX_DEPTH + 50):
        node = Node.standard("bad:address").on_success(node)
    try:
        Spec.single(node).validate()
    except SpecValidationError as error:
        codes = Counter(issue.code for issue in error.issues)
    assert codes["depth-exceeded"] == 1
    assert codes["address-format"] == MAX_LISTED + 1  # 129 nodes walked: 100 listed + summary
