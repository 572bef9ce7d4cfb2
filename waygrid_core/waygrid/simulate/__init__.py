"""Simulate a traversal: what the server's runtime logic does with a spec, on a virtual clock.

`simulate` ports the server's TraversalFSM and Backoff and runs them with scripted node
outcomes. ``mode="upstream"`` keeps the server's defects; ``mode="intended"`` (the default)
fixes them as the simulator contract states.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from .._gc import gc_paused
from ..dag._runtime import runtime_issues
from ..policies.repeat import NoRepeat
from ._graph import build_graph
from ._result import Dispatch, Event, Simulation, Status
from ._run import MAX_ITEMS, execute
from ._script import ScriptInput, parse_script

__all__ = ["MAX_ITEMS", "Dispatch", "Event", "Simulation", "Status", "runtime_issues", "simulate"]

DEFAULT_START = datetime(2026, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)


def simulate(
    spec: Any,
    *,
    script: ScriptInput | None = None,
    mode: Literal["intended", "upstream"] = "intended",
    seed: int = 0,
    start: datetime | None = None,
    cancel_after: timedelta | None = None,
) -> Simulation:
    """Run one traversal of ``spec`` on a virtual clock, with scripted node outcomes.

    Args:
        spec: a `Spec`, or its JSON as a ``dict`` (read with `Spec.from_dict`).
        script: node name -> outcomes, one per execution of that node; the last repeats.
            An outcome is ``"ok"``, ``"fail"``, ``"hang"`` or
            ``{"outcome": "ok", "afterMs": 250}``. Unscripted nodes succeed at once.
        mode: ``"intended"`` (the fixed rules) or ``"upstream"`` (the server as it is).
        seed: seeds the random retry policies (full and decorrelated jitter).
        start: the aware instant the traversal starts (default 2026-01-01T00:00:00Z).
        cancel_after: cancel the traversal at this virtual time.

    Returns:
        The `Simulation`: status, dispatches, events and duration.

    Raises:
        ValueError: a bad script, mode, seed, start or cancel_after (the message has the path).
        SpecValidationError: the server's compiler rejects the spec.

    Example:
        >>> run = simulate(spec, script={"charge": ["fail", {"outcome": "ok", "afterMs": 250}]})
        >>> run.status, [d.at for d in run.dispatches]
    """
    from ..spec import Spec

    if mode not in ("intended", "upstream"):
        raise ValueError(f"mode: expected 'intended' or 'upstream', got {mode!r}")
    if type(seed) is not int:
        raise ValueError(f"seed: expected an integer, got {type(seed).__name__} {seed!r}")
    if start is None:
        start = DEFAULT_START
    elif not isinstance(start, datetime):
        raise ValueError(f"start: expected an aware datetime, got {type(start).__name__}")
    elif start.tzinfo is None or start.utcoffset() is None:
        raise ValueError(f"start: expected an aware datetime, got the naive {start.isoformat()}")
    cancel_us = None
    if cancel_after is not None:
        if not isinstance(cancel_after, timedelta) or cancel_after < timedelta(0):
            raise ValueError(f"cancel_after: expected a timedelta >= 0, got {cancel_after!r}")
        cancel_us = cancel_after // _US
    if isinstance(spec, Mapping):
        spec = Spec.from_dict(spec)
    elif not isinstance(spec, Spec):
        raise ValueError(f"spec: expected a Spec or its JSON dict, got {type(spec).__name__}")
    # A run allocates a few tuples per event and keeps them all: pausing the cyclic collector
    # keeps the cost per node flat (the run creates no reference cycles). The compiled DAG and
    # the graph die inside the pause, so the collection that follows it never walks them.
    with gc_paused():
        graph = build_graph(spec, spec.compile(), mode)
        outcomes = parse_script(script, graph.standard_names)
        status, dispatches, events, duration = execute(
            graph,
            outcomes,
            intended=mode == "intended",
            seed=seed,
            start=start,
            cancel_after=cancel_us,
            repeats=not isinstance(spec.repeat_policy, NoRepeat),
        )
        del graph, outcomes
        run = Simulation(
            status,  # type: ignore[arg-type]
            mode,
            tuple(dispatches),
            tuple(events),
            timedelta(microseconds=duration),
            start,
        )
        del dispatches, events
    return run
