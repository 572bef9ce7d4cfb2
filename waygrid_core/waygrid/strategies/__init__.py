"""Join strategies."""

from .join import AndJoin, JoinStrategy, OrJoin, QuorumJoin

__all__ = ["AndJoin", "JoinStrategy", "OrJoin", "QuorumJoin"]
