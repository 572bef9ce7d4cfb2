"""Waygrid Python SDK: build, validate and submit traversal specs."""

from ._version import __version__
from .client import SubmitResult, WaygridClient
from .conditions import Condition, ConditionalEdge
from .errors import (
    AuthenticationError,
    RateLimitError,
    ServerError,
    SpecDecodeError,
    SpecError,
    SpecRejectedError,
    SpecValidationError,
    ValidationIssue,
    WaygridAPIError,
    WaygridConnectionError,
    WaygridError,
    WaygridStatusError,
    WaygridTimeoutError,
)
from .nodes import ForkNode, INode, JoinNode, Node, StandardNode
from .parameters import Secret
from .policies import DeliveryStrategy, RepeatPolicy, RetryPolicy
from .simulate import Simulation, simulate
from .spec import Spec
from .strategies import JoinStrategy

__all__ = [
    "AuthenticationError",
    "Condition",
    "ConditionalEdge",
    "DeliveryStrategy",
    "ForkNode",
    "INode",
    "JoinNode",
    "JoinStrategy",
    "Node",
    "RateLimitError",
    "RepeatPolicy",
    "RetryPolicy",
    "Secret",
    "ServerError",
    "Simulation",
    "Spec",
    "SpecDecodeError",
    "SpecError",
    "SpecRejectedError",
    "SpecValidationError",
    "StandardNode",
    "SubmitResult",
    "ValidationIssue",
    "WaygridAPIError",
    "WaygridClient",
    "WaygridConnectionError",
    "WaygridError",
    "WaygridStatusError",
    "WaygridTimeoutError",
    "__version__",
    "simulate",
]
