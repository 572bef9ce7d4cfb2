"""`Spec.validate()`: the compiler's errors, plus warnings for specs that are likely wrong.

Every pass here costs time in proportion to the spec's size, whatever its shape: one walk over
the nodes (no per-fork re-walks), linked paths (no per-level copies), and at most
`MAX_LISTED` issues of each kind, whose paths alone are rendered.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .._codec import EDGES, edge_path
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
from ._compiler import MAX_DEPTH, check_with_warnings, problem_issues
from ._issues import IssueList

if TYPE_CHECKING:
    from ..spec import Spec

__all__ = ["validate_spec"]

_ADDRESS = re.compile(r"waygrid://[a-z]+/[a-z0-9-]+")
_MAX_LABEL = 64

_Context = tuple[str, list[Any], str, Any] | None
"""The forks whose branches enclose a node and are not joined yet, innermost first, linked:
``(join id, the fork's list of never-joined paths, the branch name, the enclosing context)``."""


def validate_spec(spec: Spec, *, strict: bool = False) -> list[ValidationIssue]:
    """See `Spec.validate`."""
    found = IssueList()
    _warnings(spec, found)
    problems, server = check_with_warnings(spec, found)  # then the runtime's warnings
    errors = problem_issues(problems).issues()
    warnings = found.issues()
    if errors or (strict and warnings):
        raise SpecValidationError(errors + warnings, server_error=server)
    return warnings


def _warnings(spec: Spec, found: IssueList) -> None:
    def warn(code: str, path: Any, message: str, hint: str | None = None) -> None:
        found.add("warning", code, path, message, hint)

    checks = _Checks()
    marked, never_joined = _walk(spec, checks)
    branch_counts: dict[str, int] = {}
    for node, _ in marked:  # every fork is marked
        if isinstance(node, ForkNode) and node.join_node_id is not None:
            branch_counts[node.join_node_id] = len(node.branch_nodes)
    for (node, path), ends in zip(marked, never_joined, strict=True):
        address = node.address
        if not checks.address_ok(address):
            warn(
                "address-format",
                (path, ".address"),
                f"the address {_shown(address)} is not of the form "
                "waygrid://<component>/<service>; "
                "the server accepts any URI, but its dagHash may then differ from the SDK's",
            )
        label = node.label_text
        if label is not None and len(label) > _MAX_LABEL:
            warn(
                "label-too-long",
                (path, ".label"),
                f"the label has {len(label)} characters; the documented limit is 64",
            )
        retries = getattr(node.retry_policy, "max_retries", None)
        if checks.retries_off(node.retry_policy):
            warn(
                "max-retries-out-of-range",
                (path, ".retryPolicy.maxRetries"),
                f"maxRetries is {retries}; the documented range is 1..100",
            )
        if isinstance(node, JoinNode):
            _join_warnings(node, path, branch_counts, warn)
        if isinstance(node, StandardNode) and node.conditional_edges:
            _condition_warnings(node, path, warn)
        join_id = node.join_node_id if isinstance(node, ForkNode) else None
        for where, branch in ends:
            warn(
                "branch-never-joins",
                where,
                f"this path of branch {_shown(branch)} ends without reaching the join "
                f"{_shown(join_id or '')}; the traversal completes (or fails) here "
                "while other branches still run",
                "end every path with the join: fork.joined_by(join) does it for success and "
                "conditional paths",
            )


class _Checks:
    """The per-node checks that decide whether a node needs a closer look (see `_walk`).

    Specs repeat their addresses and (shared) policies: each distinct one is checked once.
    """

    def __init__(self) -> None:
        self.addresses: dict[str, bool] = {}
        self.policies: dict[int, bool] = {}  # the spec holds every policy, so ids stay unique

    def address_ok(self, address: str) -> bool:
        ok = self.addresses.get(address)
        if ok is None:
            ok = self.addresses[address] = _ADDRESS.fullmatch(address) is not None
        return ok

    def retries_off(self, policy: object) -> bool:
        off = self.policies.get(id(policy))
        if off is None:
            retries = getattr(policy, "max_retries", None)
            off = self.policies[id(policy)] = retries is not None and not 1 <= retries <= 100
        return off


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 100 else repr(text[:100]) + f"... ({len(text):,} characters)"


def _walk(
    spec: Spec, checks: _Checks | None = None
) -> tuple[list[tuple[INode, Any]], list[list[Any]]]:
    """The nodes within the server's depth limit that may need a warning, with their paths, in
    pre-order; and for each, the paths of its branches that end without reaching its join
    (for a fork; empty for other nodes), with each branch's name.

    A node is marked when it is a fork or a join, has conditional edges, or fails one of the
    checks of `_Checks`: `_warnings` then looks closer at the marked nodes only, while the walk
    itself stays cheap on the common node (standard, plain, well formed).

    Deeper nodes are left out: the compiler already reports the spec as too deep. One stack of
    open forks serves every enclosing fork at once: a join closes the innermost open fork with
    its id, and a path that ends reports to the innermost fork still open, which is exactly
    where a walk from each fork in turn would report it.
    """
    marked: list[tuple[INode, Any]] = []
    never_joined: list[list[Any]] = []
    pending: list[tuple[INode, Any, int, _Context]] = [
        (node, ((None, ".entryPoints"), f"[{index}]"), 0, None)
        for index, node in reversed(list(enumerate(spec.entry_points)))
    ]
    push, pop = pending.append, pending.pop
    if checks is None:
        checks = _Checks()
    addresses, policies = checks.addresses, checks.policies
    while pending:
        node, path, depth, context = pop()
        kind = node.kind
        label = node.label_text
        if (  # the dict lookups answer for addresses and policies checked before
            kind != "standard"
            or node.conditional_edges  # type: ignore[union-attr]
            or (not addresses.get(node.address, False) and not checks.address_ok(node.address))
            or (label is not None and len(label) > _MAX_LABEL)
            or (policies.get(id(node.retry_policy), True) and checks.retries_off(node.retry_policy))
        ):
            marked.append((node, path))
            never_joined.append([])
        if kind == "join" and context is not None and node.join_node_id == context[0]:  # type: ignore[union-attr]
            context = context[3]
        deeper = depth + 1 if depth < MAX_DEPTH else 0
        if kind == "fork" and node.join_node_id is not None:  # type: ignore[union-attr]
            if deeper:
                join_id, names = node.join_node_id, node.branch_nodes  # type: ignore[union-attr]
                ends = never_joined[-1]  # the fork's own list: it was just marked
                children = _children(node, path)
                for position in range(len(children) - 1, -1, -1):
                    child, child_path = children[position]
                    push((child, child_path, deeper, (join_id, ends, names[position][0], context)))
            continue
        if not deeper:
            if context is not None and kind != "fork" and not _children(node, path):
                context[1].append((path, context[2]))
            continue
        if kind == "standard" and not node.conditional_edges:  # type: ignore[union-attr]
            # The usual node, read without the table: what `_BACKWARDS["standard"]` gives.
            failure, success = node.on_failure_node, node.on_success_node  # type: ignore[union-attr]
            if failure is not None:
                push((failure, (path, ".onFailure"), deeper, context))
            if success is not None:
                push((success, (path, ".onSuccess"), deeper, context))
            elif failure is None and context is not None:
                context[1].append((path, context[2]))
            continue
        before = len(pending)
        for attribute, shape, segment, edge in _BACKWARDS[kind]:
            value = getattr(node, attribute)
            if not value:
                continue
            if shape == "node":
                push((value, (path, segment), deeper, context))
            elif shape == "edges":
                for position in range(len(value) - 1, -1, -1):
                    child_path = edge_path(path, edge, position)
                    push((value[position].to, child_path, deeper, context))
            else:
                for name, child in reversed(value):
                    push((child, edge_path(path, edge, name), deeper, context))
        if len(pending) == before and context is not None and kind != "fork":
            context[1].append((path, context[2]))
    return marked, never_joined


_PLANS = {
    kind: tuple((edge.attribute, edge.shape, "." + edge.wire, edge) for edge in edges)
    for kind, edges in EDGES.items()
}
"""`EDGES` with each wire key's path segment made once."""
_BACKWARDS = {kind: plans[::-1] for kind, plans in _PLANS.items()}
"""`_PLANS` last edge first: pushed in this order, a node's children are popped in wire order."""


def _children(node: INode, path: Any) -> list[tuple[INode, Any]]:
    found: list[tuple[INode, Any]] = []
    for attribute, shape, segment, edge in _PLANS[node.kind]:
        value = getattr(node, attribute)
        if shape == "node":
            if value is not None:
                found.append((value, (path, segment)))
        elif not value:
            continue
        elif shape == "edges":
            found.extend(
                (item.to, edge_path(path, edge, index)) for index, item in enumerate(value)
            )
        else:
            found.extend((child, edge_path(path, edge, name)) for name, child in value)
    return found


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
        constant, pointers, first = _evaluate(edge.condition, where)
        if first is not None:
            more = f" ({pointers:,} in this condition)" if pointers > 1 else ""
            warn(
                "unsupported-by-server",
                first,
                "JSON-pointer conditions (JsonExists/JsonEquals) are documented but today's "
                f"server rejects them{more}",
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
        shown = always if len(always) <= 10 else [*always[:10], "..."]
        warn(
            "multiple-always-conditions",
            (path, ".onConditions"),
            f"conditions {shown} are true whatever the output; the server takes every matching "
            "edge and fails the traversal when more than one matches",
            "keep one unconditional edge, or use on_success",
        )


def _evaluate(root: Condition, base: Any) -> tuple[bool | None, int, Any]:
    """The condition's value when it does not depend on the output (else None), how many
    JSON-pointer conditions it holds, and the linked path of the first. Iterative and linear:
    nesting can be deep, and a condition object used in several places is evaluated once."""
    values: dict[int, bool | None] = {}
    pointers = 0
    first: Any = None
    pending: list[tuple[Condition, Any, bool]] = [(root, base, False)]
    while pending:
        condition, where, ready = pending.pop()
        if not ready and id(condition) in values:
            continue
        if isinstance(condition, AlwaysCondition):
            values[id(condition)] = True
        elif isinstance(condition, (JsonExistsCondition, JsonEqualsCondition)):
            values[id(condition)] = None
            pointers += 1
            if first is None:
                first = where
        elif isinstance(condition, NotCondition):
            if not ready:
                pending.append((condition, where, True))
                pending.append((condition.condition, (where, ".cond"), False))
            else:
                inner = values[id(condition.condition)]
                values[id(condition)] = None if inner is None else not inner
        elif isinstance(condition, (AndCondition, OrCondition)):
            wire = ".all" if isinstance(condition, AndCondition) else ".any"
            if not ready:
                pending.append((condition, where, True))
                members = condition.conditions
                pending.extend(
                    (members[index], ((where, wire), f"[{index}]"), False)
                    for index in range(len(members) - 1, -1, -1)
                )
            else:
                member_values = {values[id(m)] for m in condition.conditions}
                absorbing = isinstance(condition, OrCondition)  # True absorbs Or, False absorbs And
                if absorbing in member_values:
                    values[id(condition)] = absorbing
                elif None in member_values:
                    values[id(condition)] = None
                else:
                    values[id(condition)] = not absorbing
    return values[id(root)], pointers, first
