"""The reader's view of the node classes: field positions, defaults and builders by kind."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from .._slots import positional_builder
from ..nodes import ForkNode, JoinNode, StandardNode
from ..policies.delivery import DeliveryStrategy
from ..policies.retry import RetryPolicy

__all__ = [
    "ADDRESS",
    "BUILD",
    "DELIVERY",
    "FIELD",
    "LABEL",
    "PARAMETERS",
    "POLICIES",
    "RETRY",
    "TEMPLATES",
]

_CLASSES = {"standard": StandardNode, "fork": ForkNode, "join": JoinNode}
BUILD: dict[str, Callable[..., Any]] = {
    kind: positional_builder(cls) for kind, cls in _CLASSES.items()
}
"""Each node kind built from its checked field values, in field order, skipping
``__post_init__``."""
FIELD = {
    kind: {field.name: index for index, field in enumerate(dataclasses.fields(cls))}
    for kind, cls in _CLASSES.items()
}
"""Each kind's field positions; the common fields come first, at the same positions."""
POLICIES = (
    (FIELD["standard"]["retry_policy"], "retryPolicy", RetryPolicy, RetryPolicy.NONE),
    (FIELD["standard"]["delivery_strategy"], "deliveryStrategy", DeliveryStrategy,
     DeliveryStrategy.IMMEDIATE),
)  # fmt: skip


def _template(cls: type) -> list[Any]:
    return [
        None if field.default is dataclasses.MISSING else field.default
        for field in dataclasses.fields(cls)
    ]


TEMPLATES = {kind: _template(cls) for kind, cls in _CLASSES.items()}
"""Each kind's field values before reading: the defaults (the reader sets the policies)."""
ADDRESS, RETRY, DELIVERY, PARAMETERS, LABEL = (
    FIELD["standard"][name]
    for name in ("address", "retry_policy", "delivery_strategy", "parameters", "label_text")
)
assert all(  # the common fields' positions hold for every kind
    FIELD[kind][name] == index
    for kind in _CLASSES
    for name, index in FIELD["standard"].items()
    if name in FIELD[kind] and index <= LABEL
)
