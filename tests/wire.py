"""Wire-format documents for tests: a standard node and a spec around entry points, as dicts."""

from __future__ import annotations

from typing import Any


def wire_node(**extra: Any) -> dict[str, Any]:
    """A standard node at ``waygrid://processor/a`` with no retry, delivered at once;
    ``extra`` adds or replaces members (e.g. ``label="x"``, ``onSuccess=wire_node()``)."""
    return {
        "type": "standard",
        "address": "waygrid://processor/a",
        "retryPolicy": {"type": "None"},
        "deliveryStrategy": {"type": "Immediate"},
        **extra,
    }


def wire_spec(*entries: dict[str, Any]) -> dict[str, Any]:
    """A spec document with these entry points and no repeat."""
    return {"entryPoints": list(entries), "repeatPolicy": {"type": "NoRepeat"}}
