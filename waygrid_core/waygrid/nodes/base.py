"""What every node kind shares: address, policies, parameters, label, and the `Node` factory."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Literal, TypeVar

from .._tree import TreeValue
from .._values import check_address, check_text
from ..errors import SpecError
from ..parameters import (
    BoolVal,
    FloatVal,
    IntVal,
    ParameterInput,
    ParameterValue,
    Secret,
    StringVal,
    to_parameters,
)
from ..policies.delivery import DeliveryStrategy
from ..policies.retry import RetryPolicy

if TYPE_CHECKING:
    from .fork import ForkNode
    from .join import JoinNode
    from .standard import StandardNode

__all__ = ["Node", "NodeKind"]

NodeKind = Literal["standard", "fork", "join"]
"""The wire ``type`` of a node."""

_N = TypeVar("_N", bound="Node")


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Node(TreeValue):
    """Base of the three node kinds, and the factory for them.

    Nodes are immutable: every builder method returns a modified copy, so chains such as
    ``Node.standard(a).label("A").on_success(b)`` build the node step by step. The builder
    methods carry the published names; the stored values are read through attributes with
    other names (``label_text``, ``retry_policy``, ``on_success_node``, ...).

    Example:
        >>> node = Node.standard("waygrid://processor/openai").label("AI").on_success(
        ...     Node.standard("waygrid://destination/webhook"))
        >>> node.label_text, node.on_success_node.address
        ('AI', 'waygrid://destination/webhook')
    """

    kind: ClassVar[NodeKind]
    """The wire ``type``: ``"standard"``, ``"fork"`` or ``"join"``."""

    address: str
    """The service, e.g. ``waygrid://processor/openai``."""
    retry_policy: RetryPolicy = RetryPolicy.NONE
    """How the server retries this node (set with `with_retry`)."""
    delivery_strategy: DeliveryStrategy = DeliveryStrategy.IMMEDIATE
    """When the server dispatches this node (set with `with_delivery`)."""
    parameters: tuple[tuple[str, ParameterValue], ...] = field(default=())
    """Parameters by name, sorted (set with `with_parameters`; ``dict(node.parameters)``)."""
    label_text: str | None = None
    """A human-readable label (set with `label`)."""

    def __post_init__(self) -> None:
        check_address(self.address)
        if not isinstance(self.retry_policy, RetryPolicy):
            raise SpecError(f"retry policy must be a RetryPolicy, got {self.retry_policy!r}")
        if not isinstance(self.delivery_strategy, DeliveryStrategy):
            raise SpecError(
                f"delivery strategy must be a DeliveryStrategy, got {self.delivery_strategy!r}"
            )
        if self.parameters and not _is_canonical(self.parameters):
            object.__setattr__(self, "parameters", to_parameters(self.parameters))
        if self.label_text is not None:
            check_text(self.label_text, "label")

    # --- Factories -------------------------------------------------------------------------

    @staticmethod
    def standard(address: str) -> StandardNode:
        """A processing step with optional success, failure and conditional continuations."""
        from .standard import StandardNode

        return StandardNode(address)

    @staticmethod
    def fork(address: str) -> ForkNode:
        """A fan-out to parallel branches; name its join with `join_id` and `joined_by`."""
        from .fork import ForkNode

        return ForkNode(address)

    @staticmethod
    def join(address: str) -> JoinNode:
        """A fan-in of a fork's branches (strategy `JoinStrategy.AND` unless set)."""
        from .join import JoinNode

        return JoinNode(address)

    # --- Builders shared by every kind -----------------------------------------------------

    def label(self: _N, text: str) -> _N:
        """Return a copy with a human-readable label."""
        return dataclasses.replace(self, label_text=text)

    def with_retry(self: _N, policy: RetryPolicy) -> _N:
        """Return a copy with a retry policy, e.g. ``RetryPolicy.exponential(...)``."""
        return dataclasses.replace(self, retry_policy=policy)

    def with_delivery(self: _N, strategy: DeliveryStrategy) -> _N:
        """Return a copy with a delivery strategy, e.g. ``DeliveryStrategy.schedule_after(...)``."""
        return dataclasses.replace(self, delivery_strategy=strategy)

    def with_parameters(self: _N, parameters: Mapping[str, ParameterInput]) -> _N:
        """Return a copy with these parameters added (a name given again is replaced).

        ``bool`` becomes ``BoolVal``, ``int`` ``IntVal`` (32-bit), ``float`` ``FloatVal``,
        ``str`` ``StringVal``; `Secret` references a secret the server resolves.

        Example:
            >>> node.with_parameters({"model": "gpt-4", "apiKey": Secret("tenant/openai")})
        """
        merged = dict(self.parameters)
        merged.update(to_parameters(parameters))
        return dataclasses.replace(self, parameters=tuple(sorted(merged.items())))


def _is_canonical(parameters: object) -> bool:
    if not isinstance(parameters, tuple):
        return False
    names = []
    for item in parameters:
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
            return False
        if not isinstance(item[1], (StringVal, IntVal, FloatVal, BoolVal, Secret)):
            return False
        names.append(item[0])
    return names == sorted(set(names))


def check_child(value: object, what: str) -> None:
    """Raise a `SpecError` unless ``value`` is a node or None."""
    if value is not None and not isinstance(value, Node):
        raise SpecError(
            f"{what} expects a node (Node.standard/fork/join), got {type(value).__name__} {value!r}"
        )
