"""`Spec.validate()`: the compiler's errors, plus warnings for specs that are likely wrong."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .._codec import key_segment, render_path
from ..conditions.condition import (
    AlwaysCondition,
    AndCondition,
    Condition,
    JsonEqualsCondition,
    JsonExistsCondition,
    NotCondition,
    OrCondition,
)
from ..errors import SpecValidationError, ValidationIssue
from ..nodes import ForkNode, INode, JoinNode, StandardNode
from ..strategies.join import OrJoin, QuorumJoin
from ._compiler import _issue, compile_with_problems

if TYPE_CHECKING:
    from ..spec import Spec

__all__ = ["validate_spec"]

_ADDRESS = re.compile(r"waygrid://[a-z]+/[a-z0-9-]+")
_MAX_LABEL = 64


def validate_spec(spec: Spec, *, strict: bool = False) -> list[ValidationIssue]:
    """See `Spec.validate`."""
    _, problems, server = compile_with_problems(spec, build=False)
    errors = [_issue(p) for p in problems]
    warnings = _warnings(spec)
    if errors or (strict and warnings):
        raise SpecValidationError(errors + warnings, server_error=server)
    return warnings


def _warnings(spec: Spec) -> list[ValidationIssue]:
    found: list[ValidationIssue] = []

    def warn(code: str, path: Any, message: str, hint: str | None = None) -> None:
        found.append(ValidationIssue("warning", code, render_path(path), message, hint))

    nodes = list(_walk(spec))
    branch_counts: dict[str, int] = {}
    for node, _ in nodes:
        if isinstance(node, ForkNode) and node.join_node_id is not None:
            branch_counts[node.join_node_id] = len(node.branch_nodes)
    for node, path in nodes:
        if not _ADDRESS.fullmatch(node.address):
            warn(
                "address-format",
                (path, ".address"),
                f"the address {node.address!r} is not of the form "
                "waygrid://<component>/<service>; "
                "the server accepts any URI, but its dagHash may then differ from the SDK's",
            )
        if node.label_text is not None and len(node.label_text) > _MAX_LABEL:
            warn(
                "label-too-long",
                (path, ".label"),
                f"the label has {len(node.label_text)} characters; the documented limit is 64",
            )
        retries = getattr(node.retry_policy, "max_retries", None)
        if retries is not None and not 1 <= retries <= 100:
            warn(
                "max-retries-out-of-range",
                (path, ".retryPolicy.maxRetries"),
                f"maxRetries is {retries}; the documented range is 1..100",
            )
        if isinstance(node, JoinNode):
            _join_warnings(node, path, branch_counts, warn)
        if isinstance(node, StandardNode) and node.conditional_edges:
            _condition_warnings(node, path, warn)
        if isinstance(node, ForkNode) and node.join_node_id is not None:
            _unjoined_paths(node, path, warn)
    return found


def _walk(spec: Spec) -> list[tuple[INode, Any]]:
    """Every node of the spec with its path, without recursion."""
    result: list[tuple[INode, Any]] = []
    pending: list[tuple[INode, Any]] = [
        (node, ((None, ".entryPoints"), f"[{index}]"))
        for index, node in reversed(list(enumerate(spec.entry_points)))
    ]
    while pending:
        node, path = pending.pop()
        result.append((node, path))
        pending.extend(reversed(_children(node, path)))
    return result


def _children(node: INode, path: Any) -> list[tuple[INode, Any]]:
    if isinstance(node, StandardNode):
        children = [
            (child, (path, wire))
            for child, wire in (
                (node.on_success_node, ".onSuccess"),
                (node.on_failure_node, ".onFailure"),
            )
            if child is not None
        ]
        children.extend(
            (edge.to, ((path, ".onConditions"), f"[{index}].to"))
            for index, edge in enumerate(node.conditional_edges)
        )
        return children
    if isinstance(node, ForkNode):
        return [
            (child, ((path, ".branches"), key_segment(name))) for name, child in node.branch_nodes
        ]
    return [
        (child, (path, wire))
        for child, wire in (
            (node.on_success_node, ".onSuccess"),
            (node.on_failure_node, ".onFailure"),
            (node.on_timeout_node, ".onTimeout"),
        )
        if child is not None
    ]


def _join_warnings(node: JoinNode, path: Any, branch_counts: dict[str, int], warn: Any) -> None:
    strategy = node.join_strategy
    if isinstance(strategy, (OrJoin, QuorumJoin)) and node.join_timeout is None:
        warn(
            "join-without-timeout",
            path,
            f"an {'OR' if isinstance(strategy, OrJoin) else 'quorum'} join without a timeout "
            "waits forever when too few branches complete",
            "set .timeout(...) and, if useful, .on_timeout(...)",
        )
    if isinstance(strategy, QuorumJoin) and node.join_node_id in branch_counts:
        count = branch_counts[node.join_node_id]
        if not 1 <= strategy.n <= count:
            warn(
                "quorum-out-of-range",
                (path, ".strategy.n"),
                f"quorum n is {strategy.n} but the fork has {count} branch(es); use 1..{count}",
            )


def _condition_warnings(node: StandardNode, path: Any, warn: Any) -> None:
    always = []
    for index, edge in enumerate(node.conditional_edges):
        where = ((path, ".onConditions"), f"[{index}].condition")
        constant, pointers = _evaluate(edge.condition)
        for pointer_path in pointers:
            warn(
                "unsupported-by-server",
                _join_path(where, pointer_path),
                "JSON-pointer conditions (JsonExists/JsonEquals) are documented but today's "
                "server rejects them",
                "use Always/Not/And/Or, or submit to a server that supports them",
            )
        if constant is True:
            always.append(index)
    if always and node.on_success_node is not None:
        warn(
            "on-success-shadowed",
            (path, ".onSuccess"),
            f"condition {always[0]} is true whatever the output, and the server takes matching "
            "conditional edges instead of on_success, so this on_success is never taken",
            "drop the unconditional edge, or make it the on_success continuation",
        )
    if len(always) >= 2:
        warn(
            "multiple-always-conditions",
            (path, ".onConditions"),
            f"conditions {always} are true whatever the output; the server takes every matching "
            "edge and fails the traversal when more than one matches",
            "keep one unconditional edge, or use on_success",
        )


def _join_path(base: Any, relative: list[str]) -> Any:
    for segment in relative:
        base = (base, segment)
    return base


def _evaluate(root: Condition) -> tuple[bool | None, list[list[str]]]:
    """The condition's value when it does not depend on the output (else None), and the
    relative paths of the JSON-pointer conditions inside it. Iterative: nesting can be deep."""
    values: dict[int, bool | None] = {}
    pointers: list[list[str]] = []
    pending: list[tuple[Condition, list[str], bool]] = [(root, [], False)]
    while pending:
        condition, where, ready = pending.pop()
        if isinstance(condition, AlwaysCondition):
            values[id(condition)] = True
        elif isinstance(condition, (JsonExistsCondition, JsonEqualsCondition)):
            values[id(condition)] = None
            pointers.append(where)
        elif isinstance(condition, NotCondition):
            if not ready:
                pending.append((condition, where, True))
                pending.append((condition.condition, [*where, ".cond"], False))
            else:
                inner = values[id(condition.condition)]
                values[id(condition)] = None if inner is None else not inner
        elif isinstance(condition, (AndCondition, OrCondition)):
            wire = ".all" if isinstance(condition, AndCondition) else ".any"
            if not ready:
                pending.append((condition, where, True))
                pending.extend(
                    (member, [*where, wire, f"[{index}]"], False)
                    for index, member in enumerate(condition.conditions)
                )
            else:
                members = [values[id(m)] for m in condition.conditions]
                absorbing = isinstance(condition, OrCondition)  # True absorbs Or, False absorbs And
                if absorbing in members:
                    values[id(condition)] = absorbing
                elif None in members:
                    values[id(condition)] = None
                else:
                    values[id(condition)] = not absorbing
    return values[id(root)], pointers


def _unjoined_paths(fork: ForkNode, path: Any, warn: Any) -> None:
    """Warn about every path of the fork's branches that ends without reaching its join."""
    join_id = fork.join_node_id
    pending: list[tuple[INode, Any, tuple[str, ...], str]] = [
        (child, ((path, ".branches"), key_segment(name)), (), name)
        for name, child in fork.branch_nodes
    ]
    while pending:
        node, where, context, branch = pending.pop()
        if isinstance(node, JoinNode):
            if context and node.join_node_id == context[-1]:
                context = context[:-1]
            elif not context and node.join_node_id == join_id:
                continue
        if isinstance(node, ForkNode) and node.join_node_id is not None:
            context = (*context, node.join_node_id)
        children = _children(node, where)
        if not children and not isinstance(node, ForkNode) and not context:
            warn(
                "branch-never-joins",
                where,
                f"this path of branch {branch!r} ends without reaching the join {join_id!r}; "
                "the traversal completes (or fails) here while other branches still run",
                "end every path with the join: fork.joined_by(join) does it for success and "
                "conditional paths",
            )
        pending.extend((child, child_path, context, branch) for child, child_path in children)
