"""Scripted node outcomes: what each standard node answers, execution by execution."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

__all__ = ["Outcome", "ScriptInput", "parse_script"]

OutcomeName = Literal["ok", "fail", "hang"]
Outcome = tuple[OutcomeName, int]
"""An outcome and the microseconds after the dispatch at which it arrives."""
ScriptInput = Mapping[str, object]
"""Node name -> an outcome or a list of outcomes (checked when the run starts)."""
_NAMES = ("ok", "fail", "hang")
_PLAIN: dict[str, Outcome] = {name: (name, 0) for name in _NAMES}  # type: ignore[misc]
"""The outcome of each bare name, made once (scripts repeat them by the ten thousand)."""


def _outcome(value: object, where: str) -> Outcome:
    if isinstance(value, str):
        if value not in _NAMES:
            raise ValueError(f"{where}: unknown outcome {value!r} (expected ok, fail or hang)")
        return (value, 0)  # type: ignore[return-value]
    if not isinstance(value, Mapping):
        raise ValueError(
            f"{where}: an outcome is 'ok', 'fail', 'hang' or {{'outcome': ..., 'afterMs': ...}}, "
            f"got {type(value).__name__}"
        )
    extra = sorted(str(key) for key in value if key not in ("outcome", "afterMs"))
    if extra:
        raise ValueError(f"{where}: unknown key {extra[0]!r} (expected outcome, afterMs)")
    if "outcome" not in value:
        raise ValueError(f"{where}: missing 'outcome'")
    name = value["outcome"]
    if not isinstance(name, str) or name not in _NAMES:
        raise ValueError(f"{where}.outcome: unknown outcome {name!r} (expected ok, fail or hang)")
    after = value.get("afterMs", 0)
    if type(after) is not int or after < 0:
        raise ValueError(f"{where}.afterMs: expected an integer >= 0, got {after!r}")
    return (name, after * 1000)  # type: ignore[return-value]


def parse_script(script: object, standard_names: set[str]) -> dict[str, list[Outcome]]:
    """Check a script against the spec's standard node names and read it.

    Raises:
        ValueError: with the path of the bad entry, e.g. ``script['charge'][1].afterMs``.
    """
    if script is None:
        return {}
    if not isinstance(script, Mapping):
        raise ValueError(
            f"script: expected a mapping of node names to outcomes, got {type(script).__name__}"
        )
    result: dict[str, list[Outcome]] = {}
    plain = _PLAIN.get
    for key, value in script.items():
        if not isinstance(key, str):
            raise ValueError(f"script: node names are strings, got {type(key).__name__} {key!r}")
        if key not in standard_names:
            raise ValueError(f"script[{key!r}]: no standard node of the spec is named {key!r}")
        if type(value) is list:
            # The common script, a list of bare names, in one pass (anything else raises here
            # and is read again below, for the error with its path).
            try:
                outcomes = [_PLAIN[item] for item in value]
            except (KeyError, TypeError):
                outcomes = [
                    (type(item) is str and plain(item)) or _outcome(item, f"script[{key!r}][{i}]")
                    for i, item in enumerate(value)
                ]
        elif isinstance(value, (list, tuple)):
            outcomes = [
                (type(item) is str and plain(item)) or _outcome(item, f"script[{key!r}][{i}]")
                for i, item in enumerate(value)
            ]
        else:
            outcomes = [
                (type(value) is str and plain(value)) or _outcome(value, f"script[{key!r}]")
            ]
        if outcomes:
            result[key] = outcomes
    return result
