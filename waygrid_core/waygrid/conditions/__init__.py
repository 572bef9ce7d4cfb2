"""Conditions and conditional edges."""

from .condition import (
    AlwaysCondition,
    AndCondition,
    Condition,
    ConditionalEdge,
    JsonEqualsCondition,
    JsonExistsCondition,
    NotCondition,
    OrCondition,
)

__all__ = [
    "AlwaysCondition",
    "AndCondition",
    "Condition",
    "ConditionalEdge",
    "JsonEqualsCondition",
    "JsonExistsCondition",
    "NotCondition",
    "OrCondition",
]
