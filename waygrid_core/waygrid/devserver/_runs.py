"""Traversals the dev server runs: each simulated once, then replayed on the real clock."""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from .._json import json_reason, loads_strict
from ..dag import to_mermaid
from ..errors import SpecDecodeError, WaygridError
from ..simulate import Simulation, simulate
from ..simulate._script import parse_script

if TYPE_CHECKING:
    from ._store import Traversal

__all__ = ["FINAL_STATUSES", "MAX_SCRIPT_BYTES", "MAX_SPEED", "Runs", "check_script", "read_script"]

logger = logging.getLogger("waygrid.devserver")

MAX_SCRIPT_BYTES = 65_536
"""A script (``--script`` or ``PUT /_dev/script``) is at most 64 KiB of JSON."""
MAX_SPEED = 1_000_000_000.0
"""The largest ``speed``: a billion virtual seconds per real second."""
FINAL_STATUSES = ("completed", "failed", "canceled", "stalled", "not simulated")
"""Statuses a replay ends with (``running`` is the only other one)."""
# Runs kept: at most this many, holding at most this many events and dispatches in all (a
# large run is tens of thousands); an evicted one is simulated again when next shown.
_CACHE_RUNS = 256
_CACHE_ITEMS = 1_000_000
_US = timedelta(microseconds=1)
# Colours of the DAG picture by node state (Mermaid classDef lines).
_STATE_STYLES = {
    "scheduled": "fill:#e3e8f5,stroke:#3f51b5",
    "running": "fill:#fff3c4,stroke:#f9a825",
    "retrying": "fill:#ffe0b2,stroke:#ef6c00",
    "succeeded": "fill:#d4f7d4,stroke:#2e7d32",
    "failed": "fill:#fbd5d0,stroke:#c62828",
}


def check_script(script: object) -> dict[str, object]:
    """Check the form of a dev server script: node name -> outcome or list of outcomes.

    Names are matched against each traversal's spec when it runs; names a spec does not have
    are ignored for it (one script serves every traversal).

    Raises:
        ValueError: with the path of the bad entry, e.g. ``script['charge'][1].afterMs``.
    """
    if not isinstance(script, Mapping):
        raise ValueError(
            "script: expected an object of node names to outcomes, e.g. "
            '{"charge": ["fail", {"outcome": "ok", "afterMs": 250}]}'
        )
    parse_script(script, {key for key in script if isinstance(key, str)})
    return dict(script)


def read_script(body: bytes) -> dict[str, object]:
    """A script from JSON bytes (at most `MAX_SCRIPT_BYTES`), checked by `check_script`.

    Raises:
        ValueError: too large, not JSON, or not a script (the message has the path).
    """
    if len(body) > MAX_SCRIPT_BYTES:
        raise ValueError(f"script: at most {MAX_SCRIPT_BYTES} bytes of JSON, got {len(body)}")
    try:
        document = loads_strict(body)
    except SpecDecodeError as exc:
        reason = json_reason(exc)
        raise ValueError(f"script: not valid JSON: {reason}") from None
    return check_script(document)


def check_speed(speed: object) -> float:
    """``speed`` as a float above 0 and at most `MAX_SPEED`, else `ValueError`."""
    if isinstance(speed, bool) or not isinstance(speed, (int, float)):
        raise ValueError(f"speed must be a number, got {type(speed).__name__}")
    value = float(speed)
    if not (math.isfinite(value) and 0 < value <= MAX_SPEED):
        raise ValueError(f"speed must be above 0 and at most {MAX_SPEED:,.0f}, got {speed!r}")
    return value


@dataclasses.dataclass(frozen=True, slots=True)
class _Run:
    """One traversal's simulation (or why there is none), with what its picture needs."""

    simulation: Simulation | None
    problem: str | None
    mermaid: str
    names: tuple[tuple[str, str], ...]
    """(compiled node id, node name) of the standard nodes, for colouring the picture."""

    @property
    def weight(self) -> int:
        """What it costs to keep, in events, dispatches and nodes."""
        sim = self.simulation
        return 1 + len(self.names) + (0 if sim is None else len(sim.events) + len(sim.dispatches))


def created_instant(traversal: Traversal) -> datetime:
    """When the traversal was accepted, as an aware datetime."""
    try:
        return datetime.fromisoformat(traversal.created_at.replace("Z", "+00:00"))
    except ValueError:  # pragma: no cover - the store writes this format itself
        return datetime.now(timezone.utc)


class Runs:
    """The simulated runs of one dev server (thread-safe).

    Each accepted traversal is simulated with the script current when it was accepted, from
    the instant it was accepted; a view replays it to ``(now - accepted) * speed``.
    """

    def __init__(self, *, enabled: bool, speed: float, script: object) -> None:
        self.enabled = enabled
        """Whether traversals are run (False: stored only, like ``--no-run``)."""
        self.speed = check_speed(speed)
        """Virtual seconds per real second."""
        self._initial = check_script({} if script is None else script)
        self._script = self._initial
        self._lock = threading.Lock()
        self._scripts: dict[str, dict[str, object]] = {}
        self._cache: OrderedDict[str, _Run] = OrderedDict()
        self._cached_items = 0

    @property
    def script(self) -> dict[str, object]:
        """The script new traversals run with (a copy)."""
        return dict(self._script)

    def set_script(self, script: object) -> dict[str, object]:
        """Check ``script`` and use it for traversals accepted from now on; returns it."""
        checked = check_script(script)
        with self._lock:
            self._script = checked
        return dict(checked)

    def accepted(self, traversal_id: str) -> None:
        """Remember the script a just-accepted traversal runs with."""
        with self._lock:
            self._scripts[traversal_id] = self._script

    def clear(self) -> None:
        """Forget every run and go back to the start-up script."""
        with self._lock:
            self._scripts.clear()
            self._cache.clear()
            self._cached_items = 0
            self._script = self._initial

    def run_of(self, traversal: Traversal) -> _Run:
        """The traversal's run, simulated now if not cached (CPU-heavy: call from a worker)."""
        tid = traversal.traversal_id
        with self._lock:
            found = self._cache.get(tid)
            if found is not None:
                self._cache.move_to_end(tid)
                return found
            # A traversal stored by an earlier process runs with the current script.
            script = self._scripts.get(tid, self._script)
        run = _simulate(traversal, script)
        with self._lock:
            old = self._cache.pop(tid, None)  # another thread simulated it meanwhile
            if old is not None:
                self._cached_items -= old.weight
            self._cache[tid] = run
            self._cached_items += run.weight
            while len(self._cache) > 1 and (
                len(self._cache) > _CACHE_RUNS or self._cached_items > _CACHE_ITEMS
            ):
                self._cached_items -= self._cache.popitem(last=False)[1].weight
        return run

    def simulation(self, traversal: Traversal) -> Simulation | None:
        """The whole simulated run (None when it could not be simulated)."""
        return self.run_of(traversal).simulation

    def view(self, traversal: Traversal, now: datetime | None = None) -> dict[str, Any]:
        """The run as of ``now``: ``status``, ``dispatches`` and ``events`` so far, and more.

        The members follow `Simulation.to_dict`; ``status`` is ``running`` until the replay
        reaches the end of the run, ``not simulated`` (with ``simulation_problem``) when it
        cannot run. ``mermaid_run`` is the DAG picture with nodes coloured by state.
        """
        run = self.run_of(traversal)
        sim = run.simulation
        if sim is None:
            return {
                "status": "not simulated",
                "simulation_problem": run.problem,
                "speed": self.speed,
                "dispatches": [],
                "events": [],
                "node_states": {},
                "timeline": f"not simulated: {run.problem}",
                "mermaid_run": run.mermaid,
            }
        now = datetime.now(timezone.utc) if now is None else now
        real = max(now - sim.start, timedelta(0))
        micros = min(int(real / _US * self.speed), timedelta.max // _US)
        at = timedelta(microseconds=micros)
        done = at >= sim.duration
        if done:
            at = sim.duration
        shown = dataclasses.replace(
            sim,
            events=sim.events_until(at),
            dispatches=tuple(d for d in sim.dispatches if d.at <= at),
            duration=at,
        )
        document = shown.to_dict()
        states = sim.node_states(at)
        lines = shown.timeline().splitlines()
        if not done:
            lines[-1] = f"running ({lines[-1].rsplit(' ', 1)[-1]} so far)"
        return {
            "status": sim.status if done else "running",
            "mode": sim.mode,
            "speed": self.speed,
            "elapsed_ms": document["durationMs"],
            "dispatches": document["dispatches"],
            "events": document["events"],
            "node_states": states,
            "timeline": "\n".join(lines),
            "mermaid_run": coloured(run, states),
        }


def coloured(run: _Run, states: Mapping[str, str]) -> str:
    """The run's DAG picture with each node coloured by its state."""
    if not run.mermaid:
        return ""
    lines = [run.mermaid.rstrip("\n")]
    for node_id, name in run.names:
        state = states.get(name)
        if state is not None:
            lines.append(f"    class n{node_id} {state}")
    lines.extend(f"    classDef {state} {style}" for state, style in _STATE_STYLES.items())
    return "\n".join(lines) + "\n"


def _simulate(traversal: Traversal, script: Mapping[str, object]) -> _Run:
    """Simulate one stored traversal; any failure becomes the run's ``problem``."""
    mermaid = ""
    try:
        spec = traversal.spec
        dag = spec.compile()
        mermaid = to_mermaid(dag)
        names = tuple(
            (node.id, node.label if node.label is not None else node.address)
            for node in dag.nodes
            if node.kind == "standard"
        )
        known = {name for _, name in names}
        mine = {name: outcomes for name, outcomes in script.items() if name in known}
        simulation = simulate(spec, script=mine, start=created_instant(traversal))
    except (WaygridError, ValueError, RecursionError, OverflowError, MemoryError) as exc:
        return _Run(None, str(exc) or type(exc).__name__, mermaid, ())
    except Exception as exc:  # a bug: the traversal shows why, ingest and the page go on
        logger.exception("waygrid dev server could not simulate %s", traversal.traversal_id)
        return _Run(None, f"{type(exc).__name__} (a dev server bug, see its log)", mermaid, ())
    return _Run(simulation, None, mermaid, names)
