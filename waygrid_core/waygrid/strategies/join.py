"""Join strategies: when a join continues after its fork's branches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .._values import check_int
from .._wire import WireValue

__all__ = ["AndJoin", "JoinStrategy", "OrJoin", "QuorumJoin"]


@dataclass(frozen=True, slots=True)
class JoinStrategy(WireValue):
    """A join strategy: `JoinStrategy.AND`, `JoinStrategy.OR` or `JoinStrategy.quorum(n)`.

    Example:
        >>> JoinStrategy.quorum(2)
        QuorumJoin(n=2)
    """

    AND: ClassVar[AndJoin]
    """Continue when every branch has completed; fail when one fails."""
    OR: ClassVar[OrJoin]
    """Continue when one branch has completed (the others are cancelled)."""

    @staticmethod
    def quorum(n: int) -> QuorumJoin:
        """Continue when ``n`` branches have completed."""
        return QuorumJoin(n)


@dataclass(frozen=True, slots=True)
class AndJoin(JoinStrategy):
    """Wait for all branches. Wire form ``{"type": "And"}``."""


@dataclass(frozen=True, slots=True)
class OrJoin(JoinStrategy):
    """Wait for the first branch. Wire form ``{"type": "Or"}``."""


@dataclass(frozen=True, slots=True)
class QuorumJoin(JoinStrategy):
    """Wait for ``n`` branches. Wire form ``{"type": "Quorum", "n": n}``."""

    n: int
    """How many branches must complete (a 32-bit integer on the server)."""

    def __post_init__(self) -> None:
        check_int(self.n, "QuorumJoin.n")


JoinStrategy.AND = AndJoin()
JoinStrategy.OR = OrJoin()
