"""The three node kinds and the `Node` factory."""

from .base import Node
from .fork import ForkNode
from .join import JoinNode
from .standard import StandardNode

INode = StandardNode | ForkNode | JoinNode
"""Any node: what `on_success`, branches and entry points accept."""

__all__ = ["ForkNode", "INode", "JoinNode", "Node", "StandardNode"]
