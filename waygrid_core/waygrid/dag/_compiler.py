"""The server's route compiler: node ids, edges and the dagHash, walked without recursion."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._codec import EDGES, edge_path
from .._edges import Edge
from .._slots import positional_builder
from ..conditions.condition import Condition
from ..errors import SpecValidationError
from ..nodes import ForkNode, INode, JoinNode, StandardNode
from ._ids import MASK, MAX_DEPTH, PHI, hash_chars, hex_id, signed, xxh3
from ._issues import IssueList
from ._problems import (
    CollisionError,
    DepthError,
    MissingJoinIdError,
    Problem,
    StopError,
    problem_issues,
)
from ._results import CompiledDag, CompiledEdge, CompiledNode, Guard
from ._runtime import graph_warnings
from ._structure import structural_problems

if TYPE_CHECKING:
    from ..spec import Spec

__all__ = [
    "MAX_DEPTH",
    "CompiledDag",
    "CompiledEdge",
    "CompiledNode",
    "check_with_warnings",
    "compile_spec",
    "compile_with_problems",
    "problem_issues",
]

# The path bits a single-node edge mixes into its target's id: (bits << shift) | add.
_SHIFTS = {"OnSuccess": (1, 1), "OnFailure": (1, 0), "OnTimeout": (2, 2), "Conditional": (8, 0)}


_Plan = tuple[str, tuple[str, Guard, int, int, str, Edge]]
"""An edge field as the compiler reads it: ``(attribute, (shape, guard, shift, add, path
segment, edge))``; the second part is unpacked only when the node has the field set."""


def _visit_order(edges: tuple[Edge, ...]) -> tuple[_Plan, ...]:
    return tuple(
        (edge.attribute, (edge.shape, edge.guard, *_SHIFTS[edge.guard], "." + edge.wire, edge))
        for edge in edges
    )


# The server's compiler visits a standard node's failure edge before its success edge; every
# other edge in wire order. The order decides the order of the compiled nodes and edges.
_VISIT_ORDER = {kind: _visit_order(edges) for kind, edges in EDGES.items()} | {
    "standard": _visit_order((EDGES["standard"][1], EDGES["standard"][0], *EDGES["standard"][2:])),
}


_RawEdge = tuple[int, int, Guard, Condition | None]
"""An edge by raw node ids: ``(source, target, guard, condition)``."""

_SERVER_ERROR = "com.monadial.waygrid.common.domain.algebra.RouteCompilerError: "


class _Compiler:
    def __init__(self, salt: str) -> None:
        self.salt_hash = hash_chars(salt)
        self.info: dict[int, tuple[INode, Any, int]] = {}
        """Each raw id, in the order made: its first node, that node's path, and the deepest
        depth the id was reached at."""
        self.edges: list[_RawEdge] = []
        self.outgoing: dict[int, list[_RawEdge]] = {}  # the same edges by source
        self.address_hashes: dict[str, int] = {}
        self.fork_ids: dict[str, str] = {}
        self.controls: list[int] = []  # the forks and joins, in the order made
        self.multi_depth: set[int] = set()
        """The ids reached at more than one depth (see `structural_problems`)."""

    def address_hash(self, address: str) -> int:
        value = self.address_hashes.get(address)
        if value is None:
            value = self.address_hashes[address] = hash_chars(address)
        return value

    def fork_id(self, join_id: str) -> str:
        value = self.fork_ids.get(join_id)
        if value is None:
            text = join_id + str(signed(self.salt_hash))
            value = self.fork_ids[join_id] = hex_id(hash_chars(text)).upper()
        return value

    def ensurer(self) -> Callable[[INode, int, int, Any], int]:
        """``ensure(node, bits, depth, path)``: the node's raw id, recorded when new.

        A closure over the compiler's tables rather than a method: it runs once per node
        occurrence, and reading closed-over variables is cheaper than reading attributes.
        """
        info, controls, multi_depth = self.info, self.controls, self.multi_depth
        salt_hash, known_address_hash = self.salt_hash, self.address_hashes.get

        def ensure(node: INode, bits: int, depth: int, path: Any) -> int:
            if depth > MAX_DEPTH:
                raise DepthError(node, path)
            address = node.address
            address_hash = known_address_hash(address)
            if address_hash is None:
                address_hash = self.address_hash(address)
            standard = type(node) is StandardNode
            if standard:
                mixed = bits ^ (depth << 32) ^ address_hash ^ salt_hash
            else:
                join_id = node.join_node_id  # type: ignore[union-attr]
                if join_id is None:
                    raise MissingJoinIdError(node, path)
                mixed = address_hash ^ hash_chars(join_id) ^ salt_hash
                if type(node) is ForkNode:
                    mixed ^= PHI
            raw = xxh3(mixed.to_bytes(8, "little"))  # a JVM long: mixed is below 2**64 already
            existing = info.get(raw)
            if existing is None:
                info[raw] = (node, path, depth)
                if not standard:
                    controls.append(raw)
            elif existing[0].address != address:
                raise CollisionError(existing[0], node, raw, path)
            elif existing[2] != depth:  # a fork or join (or, by chance, a standard node)
                if depth > existing[2]:
                    info[raw] = (existing[0], existing[1], depth)
                multi_depth.add(raw)
            return raw

        return ensure

    def run(self, spec: Spec) -> list[int]:
        stack: list[tuple[INode, int, int, int, Any]] = []
        entry_ids = []
        ensure = self.ensurer()
        for index, entry in enumerate(spec.entry_points):
            bits = 1 | (index << 56)
            path = ((None, ".entryPoints"), f"[{index}]")
            entry_ids.append(ensure(entry, bits, 0, path))
            stack.append((entry, bits, 0, entry_ids[-1], path))
        edges, push, pop = self.edges, stack.append, stack.pop
        add_edges, outgoing = edges.extend, self.outgoing
        while stack:
            node, bits, depth, me, path = pop()
            child_depth = depth + 1
            if type(node) is StandardNode and not node.conditional_edges:
                # The usual node, read without the table: what `_VISIT_ORDER["standard"]` gives
                # for it (failure, then success, with their guards, path bits and segments).
                failure, success = node.on_failure_node, node.on_success_node
                mine: list[_RawEdge] = []
                if failure is not None:
                    child_bits = (bits << 1) & MASK
                    child_path: Any = (path, ".onFailure")
                    child_id = ensure(failure, child_bits, child_depth, child_path)
                    mine.append((me, child_id, "OnFailure", None))
                    push((failure, child_bits, child_depth, child_id, child_path))
                if success is not None:
                    child_bits = ((bits << 1) | 1) & MASK
                    child_path = (path, ".onSuccess")
                    child_id = ensure(success, child_bits, child_depth, child_path)
                    mine.append((me, child_id, "OnSuccess", None))
                    push((success, child_bits, child_depth, child_id, child_path))
                if not mine:
                    continue
                add_edges(mine)
            else:
                first = len(edges)
                self.expand(node, bits, child_depth, me, path, stack, ensure)
                if len(edges) == first:
                    continue
                mine = edges[first:]
            known = outgoing.get(me)  # a shared join is popped once per path that reaches it
            if known is None:
                outgoing[me] = mine
            else:
                known.extend(mine)
        return entry_ids

    def expand(
        self,
        node: INode,
        bits: int,
        child_depth: int,
        me: int,
        path: Any,
        stack: list[tuple[INode, int, int, int, Any]],
        ensure: Callable[[INode, int, int, Any], int],
    ) -> None:
        """Add the edges of ``node`` (reached with ``bits``, its id ``me``) in the server's
        order, and push its children; `run` handles the usual standard node itself."""
        for attribute, plan in _VISIT_ORDER[node.kind]:
            value = getattr(node, attribute)
            if not value:  # no node, or no edges or branches
                continue
            shape, guard, shift, add, segment, edge = plan
            if shape == "node":
                child_bits = ((bits << shift) | add) & MASK
                child_path: Any = (path, segment)
                child_id = ensure(value, child_bits, child_depth, child_path)
                self.edges.append((me, child_id, guard, None))
                stack.append((value, child_bits, child_depth, child_id, child_path))
                continue
            for index, item in enumerate(value):
                # Conditional edges are numbered from 64, fork branches from 0.
                if shape == "edges":
                    child, key, condition = item.to, index, item.condition
                    child_bits = ((bits << 8) | (64 + index)) & MASK
                else:
                    (key, child), condition = item, None
                    child_bits = ((bits << 8) | index) & MASK
                child_path = edge_path(path, edge, key)
                child_id = ensure(child, child_bits, child_depth, child_path)
                self.edges.append((me, child_id, guard, condition))
                stack.append((child, child_bits, child_depth, child_id, child_path))

    def dag_hash(self) -> str:
        combined = self.salt_hash
        for raw in self.info:
            combined ^= raw
        return hex_id(combined)

    def result(self, spec: Spec, entry_ids: list[int], salt: str) -> CompiledDag:
        # Each id is printed once: edges and entry points reuse the node's text.
        hexes = {raw: hex_id(raw) for raw in self.info}
        nodes = []
        for raw, (node, path, _) in self.info.items():
            fork_id = join_id = strategy = timeout = None
            if isinstance(node, (ForkNode, JoinNode)):
                join_id = node.join_node_id
                fork_id = self.fork_id(join_id or "")
            if isinstance(node, JoinNode):
                strategy, timeout = node.join_strategy, node.join_timeout
            nodes.append(
                _compiled_node(
                    hexes[raw],
                    node.kind,
                    node.address,
                    node.label_text,
                    node.retry_policy,
                    node.delivery_strategy,
                    node.parameters,
                    fork_id,
                    join_id,
                    strategy,
                    timeout,
                    path,
                )
            )
        edges = tuple(
            _compiled_edge(hexes[source], hexes[target], guard, condition)
            for source, target, guard, condition in self.edges
        )
        return CompiledDag(
            self.dag_hash(),
            tuple(hexes[r] for r in entry_ids),
            tuple(nodes),
            edges,
            spec.repeat_policy,
            salt,
        )


# The compiler's values are checked already; these skip the frozen dataclasses' __init__.
_compiled_node = positional_builder(CompiledNode)
_compiled_edge = positional_builder(CompiledEdge)


def compile_with_problems(
    spec: Spec, salt: str = "test", *, build: bool = True
) -> tuple[CompiledDag | None, list[Problem], str | None]:
    """Compile and check like the server.

    Returns:
        The DAG (None when the compiler stopped early, or when ``build`` is false), the
        problems found, and the error text the server would answer (None when it accepts).
    """
    compiler, entry_ids, problems, server = _compile(spec, salt)
    if compiler is None or not build:
        return None, problems, server
    return compiler.result(spec, entry_ids, salt), problems, server


def check_with_warnings(spec: Spec, found: IssueList) -> tuple[list[Problem], str | None]:
    """`compile_with_problems` without building the DAG, for `Spec.validate`: the problems and
    the server's error text; when there are no problems, the runtime warnings (see
    `runtime_warnings`) go to ``found``, computed from the compiler's own tables."""
    compiler, entry_ids, problems, server = _compile(spec, "test")
    if compiler is None or problems:
        return problems, server
    info = compiler.info  # by raw id, in the order the ids were made (as the DAG's nodes)
    fork_ids = {
        raw: compiler.fork_id(info[raw][0].join_node_id or "")  # type: ignore[union-attr]
        for raw in compiler.controls
    }
    graph_warnings(entry_ids, info, compiler.outgoing, fork_ids, spec.repeat_policy, found)
    return problems, server


def _compile(
    spec: Spec, salt: str
) -> tuple[_Compiler | None, list[int], list[Problem], str | None]:
    compiler = _Compiler(salt)
    try:
        entry_ids = compiler.run(spec)
    except StopError as stop:
        problem = stop.problem()
        if problem.code == "missing-join-id":
            return None, [], [problem], problem.server
        return None, [], [problem], _SERVER_ERROR + problem.server
    problems = structural_problems(compiler, entry_ids)
    if not problems:
        return compiler, entry_ids, problems, None
    lines = "\n  ".join(problem.server for problem in problems)
    return compiler, entry_ids, problems, f"{_SERVER_ERROR}Invalid DAG structure:\n  {lines}"


def compile_spec(spec: Spec, salt: str = "test") -> CompiledDag:
    """Compile ``spec`` as the server does (see `Spec.compile`)."""
    dag, problems, server = compile_with_problems(spec, salt)
    if problems or dag is None:
        raise SpecValidationError(problem_issues(problems).issues(), server_error=server)
    return dag
