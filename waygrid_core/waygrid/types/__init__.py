"""Type names for annotations: nodes, edges, and JSON values."""

from ..conditions.condition import ConditionalEdge
from ..nodes import INode

JsonValue = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]
"""Any JSON value, as `json.loads` returns it."""

JsonObject = dict[str, JsonValue]
"""A JSON object."""

__all__ = ["ConditionalEdge", "INode", "JsonObject", "JsonValue"]
