"""The server's DAG compiler, reproduced: node ids, edges, dagHash and the compile-time checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

import xxhash

from .._codec import key_segment, render_path
from ..conditions.condition import Condition
from ..errors import SpecValidationError
from ..nodes import ForkNode, INode, JoinNode, StandardNode
from ..parameters import ParameterValue
from ..policies.delivery import DeliveryStrategy
from ..policies.repeat import RepeatPolicy
from ..policies.retry import RetryPolicy
from ..strategies.join import JoinStrategy
from ._issues import IssueList

if TYPE_CHECKING:
    from ..spec import Spec

__all__ = ["MAX_DEPTH", "CompiledDag", "CompiledEdge", "CompiledNode", "compile_spec"]

MAX_DEPTH = 128
"""The server's depth limit: entry points are at depth 0, each edge adds 1."""

_MASK = (1 << 64) - 1
_PHI = 0x9E3779B97F4A7C15
_SERVER_ERROR = "com.monadial.waygrid.common.domain.algebra.RouteCompilerError: "
_xxh3 = xxhash.xxh3_64_intdigest

Guard = Literal["OnSuccess", "OnFailure", "OnTimeout", "Conditional"]


def _hash_chars(text: str) -> int:
    """XXH3-64 of the UTF-16LE code units, as the JVM hashes a String."""
    return _xxh3(text.encode("utf-16-le", "surrogatepass"))


def _hash_long(value: int) -> int:
    return _xxh3((value & _MASK).to_bytes(8, "little"))


def _signed(value: int) -> int:
    return value - (1 << 64) if value >> 63 else value


def _hex(value: int) -> str:
    return "%016x" % (value & _MASK)


@dataclass(frozen=True, slots=True)
class CompiledNode:
    """A node of the compiled DAG (a spec node reached on one path, or a shared fork/join)."""

    id: str
    """The server's node id: 16 lower-case hex digits."""
    kind: Literal["standard", "fork", "join"]
    """The node kind."""
    address: str
    """The service address."""
    label: str | None
    """The label of the first spec node compiled to this id."""
    retry_policy: RetryPolicy
    """Its retry policy."""
    delivery_strategy: DeliveryStrategy
    """Its delivery strategy."""
    parameters: tuple[tuple[str, ParameterValue], ...]
    """Its parameters (not part of the dagHash)."""
    fork_id: str | None = None
    """For forks and joins: the server's ForkId (16 upper-case hex digits of the join id)."""
    join_node_id: str | None = None
    """For forks and joins: the join id from the spec."""
    join_strategy: JoinStrategy | None = None
    """For joins: the strategy."""
    join_timeout: timedelta | None = None
    """For joins: the timeout."""
    _path: Any = field(default=None, repr=False, compare=False)

    @property
    def path(self) -> str:
        """Where the spec defines this node, e.g. ``$.entryPoints[0].onSuccess``."""
        return render_path(self._path)


@dataclass(frozen=True, slots=True)
class CompiledEdge:
    """An edge of the compiled DAG."""

    source: str
    """The id of the node the edge leaves."""
    target: str
    """The id of the node it leads to."""
    guard: Guard
    """When it is taken; fork branches are ``OnSuccess`` edges."""
    condition: Condition | None = None
    """For ``Conditional`` edges: the condition."""


@dataclass(frozen=True, slots=True)
class CompiledDag:
    """The result of `Spec.compile`: what the server builds from the spec."""

    dag_hash: str
    """The server's dagHash: 16 lower-case hex digits."""
    entry_points: tuple[str, ...]
    """The ids of the entry nodes, in spec order."""
    nodes: tuple[CompiledNode, ...]
    """Every node, in the order the compiler first reached it."""
    edges: tuple[CompiledEdge, ...]
    """Every edge, in the order the compiler added it (duplicates included, as on the server)."""
    repeat_policy: RepeatPolicy
    """The spec's repeat policy."""
    salt: str = "test"
    """The salt the hash was computed with (the server uses ``"test"``)."""

    def node(self, node_id: str) -> CompiledNode:
        """The node with this id (raises `KeyError` when there is none)."""
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)


@dataclass(slots=True)
class _Problem:
    code: str
    path: Any
    message: str
    server: str
    hint: str | None = None


class _Compiler:
    def __init__(self, salt: str) -> None:
        self.salt_hash = _hash_chars(salt)
        self.raw_ids: list[int] = []
        self.info: dict[int, tuple[INode, Any]] = {}
        self.edges: list[tuple[int, int, Guard, Condition | None]] = []
        self.address_hashes: dict[str, int] = {}
        self.fork_ids: dict[str, str] = {}

    def address_hash(self, address: str) -> int:
        value = self.address_hashes.get(address)
        if value is None:
            value = self.address_hashes[address] = _hash_chars(address)
        return value

    def fork_id(self, join_id: str) -> str:
        value = self.fork_ids.get(join_id)
        if value is None:
            text = join_id + str(_signed(self.salt_hash))
            value = self.fork_ids[join_id] = _hex(_hash_chars(text)).upper()
        return value

    def ensure(self, node: INode, bits: int, depth: int, path: Any) -> int:
        if depth > MAX_DEPTH:
            raise _DepthError(node, path)
        kind = type(node)
        if kind is StandardNode:
            mixed = bits ^ (depth << 32) ^ self.address_hash(node.address) ^ self.salt_hash
        else:
            join_id = node.join_node_id  # type: ignore[union-attr]
            if join_id is None:
                raise _MissingJoinIdError(node, path)
            mixed = self.address_hash(node.address) ^ _hash_chars(join_id) ^ self.salt_hash
            if kind is ForkNode:
                mixed ^= _PHI
        raw = _hash_long(mixed)
        existing = self.info.get(raw)
        if existing is None:
            self.info[raw] = (node, path)
            self.raw_ids.append(raw)
        elif existing[0].address != node.address:
            raise _CollisionError(existing[0], node, raw, path)
        return raw

    def run(self, spec: Spec) -> list[int]:
        stack: list[tuple[INode, int, int, int, Any]] = []
        entry_ids = []
        for index, entry in enumerate(spec.entry_points):
            bits = 1 | (index << 56)
            path = ((None, ".entryPoints"), f"[{index}]")
            entry_ids.append(self.ensure(entry, bits, 0, path))
            stack.append((entry, bits, 0, entry_ids[-1], path))
        ensure, edges, push = self.ensure, self.edges, stack.append
        while stack:
            node, bits, depth, me, path = stack.pop()
            child_depth = depth + 1
            children: list[tuple[INode, int, Guard, Condition | None, Any]]
            if type(node) is StandardNode:
                children = []
                if node.on_failure_node is not None:
                    children.append(
                        (
                            node.on_failure_node,
                            (bits << 1) & _MASK,
                            "OnFailure",
                            None,
                            (path, ".onFailure"),
                        )
                    )
                if node.on_success_node is not None:
                    children.append(
                        (
                            node.on_success_node,
                            ((bits << 1) | 1) & _MASK,
                            "OnSuccess",
                            None,
                            (path, ".onSuccess"),
                        )
                    )
                for index, edge in enumerate(node.conditional_edges):
                    children.append(
                        (
                            edge.to,
                            ((bits << 8) | (64 + index)) & _MASK,
                            "Conditional",
                            edge.condition,
                            ((path, ".onConditions"), f"[{index}].to"),
                        )
                    )
            elif type(node) is ForkNode:
                children = [
                    (
                        branch,
                        ((bits << 8) | index) & _MASK,
                        "OnSuccess",
                        None,
                        ((path, ".branches"), key_segment(name)),
                    )
                    for index, (name, branch) in enumerate(node.branch_nodes)
                ]
            else:
                join: JoinNode = node  # type: ignore[assignment]
                children = []
                if join.on_success_node is not None:
                    children.append(
                        (
                            join.on_success_node,
                            ((bits << 1) | 1) & _MASK,
                            "OnSuccess",
                            None,
                            (path, ".onSuccess"),
                        )
                    )
                if join.on_failure_node is not None:
                    children.append(
                        (
                            join.on_failure_node,
                            (bits << 1) & _MASK,
                            "OnFailure",
                            None,
                            (path, ".onFailure"),
                        )
                    )
                if join.on_timeout_node is not None:
                    children.append(
                        (
                            join.on_timeout_node,
                            ((bits << 2) | 2) & _MASK,
                            "OnTimeout",
                            None,
                            (path, ".onTimeout"),
                        )
                    )
            for child, child_bits, guard, condition, child_path in children:
                child_id = ensure(child, child_bits, child_depth, child_path)
                edges.append((me, child_id, guard, condition))
                push((child, child_bits, child_depth, child_id, child_path))
        return entry_ids

    def dag_hash(self) -> str:
        combined = self.salt_hash
        for raw in self.raw_ids:
            combined ^= raw
        return _hex(combined)

    def problems(self, entry_ids: list[int]) -> list[_Problem]:
        """The server's `Dag.validate`: fork/join pairing, branch counts and cycles."""
        problems: list[_Problem] = []
        forks: dict[str, list[int]] = {}
        joins: dict[str, list[int]] = {}
        for raw in self.raw_ids:
            node = self.info[raw][0]
            if isinstance(node, ForkNode):
                forks.setdefault(self.fork_id(node.join_node_id or ""), []).append(raw)
            elif isinstance(node, JoinNode):
                joins.setdefault(self.fork_id(node.join_node_id or ""), []).append(raw)
        for fork_id, fork_raws in forks.items():
            fork_node, fork_path = self.info[fork_raws[0]]
            join_id = fork_node.join_node_id  # type: ignore[union-attr]
            found = joins.get(fork_id, [])
            if not found:
                problems.append(
                    _Problem(
                        "fork-without-join",
                        fork_path,
                        f"the fork {fork_node.address!r} names the join id {join_id!r}, but no "
                        "branch path reaches a join with that id",
                        f"Fork {_hex(fork_raws[0])} (forkId={fork_id}) has no matching Join node",
                        "build the join separately and attach it with fork.joined_by(join), which "
                        "puts it at the end of every branch",
                    )
                )
            elif len(found) > 1:
                addresses = ", ".join(repr(self.info[r][0].address) for r in found)
                problems.append(
                    _Problem(
                        "multiple-joins",
                        self.info[found[1]][1],
                        f"the join id {join_id!r} is used by join nodes at different addresses "
                        f"({addresses}); a fork must have exactly one join",
                        f"Fork {fork_id} has multiple Join nodes: "
                        + ", ".join(_hex(r) for r in found),
                        "use the same join node (same address) at the end of every branch",
                    )
                )
        for fork_id, join_raws in joins.items():
            if fork_id in forks:
                continue
            for raw in join_raws:
                join_node, join_path = self.info[raw]
                problems.append(
                    _Problem(
                        "join-without-fork",
                        join_path,
                        f"the join {join_node.address!r} has the join id "
                        f"{join_node.join_node_id!r}, which no fork in the graph uses",  # type: ignore[union-attr]
                        f"Join {_hex(raw)} references non-existent Fork {fork_id}",
                        "give the join its fork's join_id, or attach it with fork.joined_by(join)",
                    )
                )
        branch_counts: dict[int, int] = {}
        for source, _, guard, _ in self.edges:
            if guard == "OnSuccess":
                branch_counts[source] = branch_counts.get(source, 0) + 1
        for fork_raws in forks.values():
            for raw in fork_raws:
                count = branch_counts.get(raw, 0)
                if count < 2:
                    fork_node, fork_path = self.info[raw]
                    problems.append(
                        _Problem(
                            "fork-insufficient-branches",
                            fork_path,
                            f"the fork {fork_node.address!r} has {count} branch(es); the server "
                            "needs at least 2",
                            f"Fork {_hex(raw)} has only {count} branch(es) - must have at least 2",
                            "add branches, or use a standard node instead of a fork",
                        )
                    )
        cycle = self.find_cycle(entry_ids)
        if cycle:
            first_path = self.info[cycle[0]][1]
            route = " -> ".join(self.info[raw][0].address for raw in cycle)
            problems.append(
                _Problem(
                    "cycle",
                    first_path,
                    f"the compiled graph has a cycle ({route}): forks and joins are identified by "
                    "address and join id, so one nested inside its own continuation loops",
                    "Cycle detected: " + " -> ".join(_hex(raw) for raw in cycle),
                    "give the nested fork/join another join_id",
                )
            )
        return problems

    def find_cycle(self, entry_ids: list[int]) -> list[int] | None:
        """The server's DFS from the entry points, without recursion; the first cycle found."""
        outgoing: dict[int, list[int]] = {}
        for source, target, _, _ in self.edges:
            outgoing.setdefault(source, []).append(target)
        visited: set[int] = set()
        on_stack: set[int] = set()
        parent: dict[int, int] = {}
        for entry in entry_ids:
            if entry in on_stack:  # pragma: no cover - the stack is empty between entries
                continue
            if entry in visited:
                continue
            visited.add(entry)
            on_stack.add(entry)
            frames = [(entry, iter(outgoing.get(entry, ())))]
            while frames:
                current, targets = frames[-1]
                for target in targets:
                    parent[target] = current
                    if target in on_stack:
                        cycle = [target]
                        step = parent.get(target)
                        while step is not None and step != target:
                            cycle.append(step)
                            step = parent.get(step)
                        cycle.append(target)
                        cycle.reverse()
                        return cycle
                    if target not in visited:
                        visited.add(target)
                        on_stack.add(target)
                        frames.append((target, iter(outgoing.get(target, ()))))
                        break
                else:
                    on_stack.discard(current)
                    frames.pop()
        return None

    def result(self, spec: Spec, entry_ids: list[int], salt: str) -> CompiledDag:
        nodes = []
        for raw in self.raw_ids:
            node, path = self.info[raw]
            extra: dict[str, Any] = {}
            if isinstance(node, (ForkNode, JoinNode)):
                extra["join_node_id"] = node.join_node_id
                extra["fork_id"] = self.fork_id(node.join_node_id or "")
            if isinstance(node, JoinNode):
                extra["join_strategy"] = node.join_strategy
                extra["join_timeout"] = node.join_timeout
            nodes.append(
                CompiledNode(
                    _hex(raw),
                    node.kind,
                    node.address,
                    node.label_text,
                    node.retry_policy,
                    node.delivery_strategy,
                    node.parameters,
                    _path=path,
                    **extra,
                )
            )
        edges = tuple(
            CompiledEdge(_hex(s), _hex(t), guard, condition)
            for s, t, guard, condition in self.edges
        )
        return CompiledDag(
            self.dag_hash(),
            tuple(_hex(r) for r in entry_ids),
            tuple(nodes),
            edges,
            spec.repeat_policy,
            salt,
        )


class _StopError(Exception):
    def problem(self) -> _Problem:
        raise NotImplementedError


class _DepthError(_StopError):
    def __init__(self, node: INode, path: Any) -> None:
        self.node, self.path = node, path

    def problem(self) -> _Problem:
        return _Problem(
            "depth-exceeded",
            self.path,
            f"the node {self.node.address!r} is more than {MAX_DEPTH} edges from its entry "
            "point, the server's limit",
            f"Max recursion depth ({MAX_DEPTH}) exceeded at node '{self.node.address}'",
            "shorten the chain, or split the workflow into several traversals",
        )


class _MissingJoinIdError(_StopError):
    def __init__(self, node: INode, path: Any) -> None:
        self.node, self.path = node, path

    def problem(self) -> _Problem:
        return _Problem(
            "missing-join-id",
            self.path,
            f"the {self.node.kind} {self.node.address!r} has no join id; the wire format "
            "requires one",
            "org.http4s.InvalidMessageBodyFailure: Invalid message body: Could not decode JSON",
            "set it with .join_id(...)",
        )


class _CollisionError(_StopError):
    def __init__(self, first: INode, second: INode, raw: int, path: Any) -> None:
        self.first, self.second, self.raw, self.path = first, second, raw, path

    def problem(self) -> _Problem:
        return _Problem(
            "hash-collision",
            self.path,
            f"the node ids of {self.first.address!r} and {self.second.address!r} collide",
            f"Hash collision detected between nodes '{_hex(self.raw)}' and '{_hex(self.raw)}' "
            f"with differing addresses: '{self.first.address}' vs '{self.second.address}'",
        )


def problem_issues(problems: list[_Problem], issues: IssueList | None = None) -> IssueList:
    """Add the compiler's problems to ``issues`` (a new list when None) as error issues."""
    issues = IssueList() if issues is None else issues
    for problem in problems:
        issues.add("error", problem.code, problem.path, problem.message, problem.hint)
    return issues


def compile_with_problems(
    spec: Spec, salt: str = "test", *, build: bool = True
) -> tuple[CompiledDag | None, list[_Problem], str | None]:
    """Compile and check like the server.

    Returns:
        The DAG (None when the compiler stopped early, or when ``build`` is false), the
        problems found, and the error text the server would answer (None when it accepts).
    """
    compiler = _Compiler(salt)
    try:
        entry_ids = compiler.run(spec)
    except _StopError as stop:
        problem = stop.problem()
        if problem.code == "missing-join-id":
            return None, [problem], problem.server
        return None, [problem], _SERVER_ERROR + problem.server
    problems = compiler.problems(entry_ids)
    dag = compiler.result(spec, entry_ids, salt) if build else None
    if not problems:
        return dag, problems, None
    lines = "\n  ".join(problem.server for problem in problems)
    return dag, problems, f"{_SERVER_ERROR}Invalid DAG structure:\n  {lines}"


def compile_spec(spec: Spec, salt: str = "test") -> CompiledDag:
    """Compile ``spec`` as the server does (see `Spec.compile`)."""
    dag, problems, server = compile_with_problems(spec, salt)
    if problems or dag is None:
        raise SpecValidationError(problem_issues(problems).issues(), server_error=server)
    return dag
