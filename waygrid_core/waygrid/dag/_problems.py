"""What the compiler finds wrong: problems, the errors that stop it, and their issues."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._edges import no_join_id
from ..nodes import INode
from ._ids import MAX_DEPTH, hex_id
from ._issues import IssueList

__all__ = [
    "CollisionError",
    "DepthError",
    "MissingJoinIdError",
    "Problem",
    "StopError",
    "problem_issues",
]


@dataclass(slots=True)
class Problem:
    code: str
    path: Any
    message: str
    server: str
    hint: str | None = None


class StopError(Exception):
    def problem(self) -> Problem:
        raise NotImplementedError


class DepthError(StopError):
    def __init__(self, node: INode, path: Any) -> None:
        self.node, self.path = node, path

    def problem(self) -> Problem:
        return Problem(
            "depth-exceeded",
            self.path,
            f"the node {self.node.address!r} is more than {MAX_DEPTH} edges from its entry "
            "point, the server's limit",
            f"Max recursion depth ({MAX_DEPTH}) exceeded at node '{self.node.address}'",
            "shorten the chain, or split the workflow into several traversals",
        )


class MissingJoinIdError(StopError):
    def __init__(self, node: INode, path: Any) -> None:
        self.node, self.path = node, path

    def problem(self) -> Problem:
        return Problem(
            "missing-join-id",
            self.path,
            no_join_id(self.node.kind, self.node.address),
            "org.http4s.InvalidMessageBodyFailure: Invalid message body: Could not decode JSON",
            "set it with .join_id(...)",
        )


class CollisionError(StopError):
    def __init__(self, first: INode, second: INode, raw: int, path: Any) -> None:
        self.first, self.second, self.raw, self.path = first, second, raw, path

    def problem(self) -> Problem:
        return Problem(
            "hash-collision",
            self.path,
            f"the node ids of {self.first.address!r} and {self.second.address!r} collide",
            f"Hash collision detected between nodes '{hex_id(self.raw)}' and '{hex_id(self.raw)}' "
            f"with differing addresses: '{self.first.address}' vs '{self.second.address}'",
        )


def problem_issues(problems: list[Problem], issues: IssueList | None = None) -> IssueList:
    """Add the compiler's problems to ``issues`` (a new list when None) as error issues."""
    issues = IssueList() if issues is None else issues
    for problem in problems:
        issues.add("error", problem.code, problem.path, problem.message, problem.hint)
    return issues
