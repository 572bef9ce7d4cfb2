"""Hostile inputs at 1x, 4x and 16x: the dev server's time and memory grow linearly, not faster.

Ratios only (measured in the same run); the absolute figures are in ``make bench``.
"""

from __future__ import annotations

import functools
import gc
import json
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timezone

import pytest

from waygrid import JoinStrategy, Node, Spec
from waygrid._json import loads_strict
from waygrid.devserver import INVALID_BODY
from waygrid.devserver._circe import spaces2
from waygrid.devserver._dumps import dumps
from waygrid.devserver._ingest import Rejected, ingest
from waygrid.devserver._page import _section
from waygrid.devserver._runs import Runs
from waygrid.devserver._store import Traversal
from waygrid.devserver._views import traversal_detail

SCALES = (1, 4, 16)
# Linear growth gives 16x at 16x the input; quadratic would give 256x. The slack covers a shared,
# noisy machine and fixed costs that make small inputs relatively dear.
MAX_TIME_RATIO = 48
MAX_MEMORY_RATIO = 32


def wide_echo(scale: int) -> bytes:
    """Issue 9's shape: 1,000 nested arrays around ``8,000 * scale`` zeros."""
    zeros = 8_000 * scale
    return b'{"graph":1,"x":' + b"[" * 1000 + b"0," * (zeros - 1) + b"0" + b"]" * 1000 + b"}"


def deep_echo(scale: int) -> bytes:
    """``5,000 * scale`` nested arrays in a body the server echoes."""
    depth = 5_000 * scale
    return b'{"graph":1,"x":' + b"[" * depth + b"0" + b"]" * depth + b"}"


def wide_fork(scale: int) -> bytes:
    """A valid spec with one fork of ``60 * scale`` branches."""
    join = Node.join("waygrid://system/join").join_id("j").strategy(JoinStrategy.quorum(1))
    fork = (
        Node.fork("waygrid://system/fork")
        .join_id("j")
        .branches({f"b{i}": Node.standard(f"waygrid://p/a{i}") for i in range(60 * scale)})
        .joined_by(join)
    )
    return json.dumps(
        {"graph": Spec.single(fork).to_dict(), "payload": list(range(scale))}
    ).encode()


def measure(work: Callable[[], object], repeat: int = 3) -> tuple[float, int]:
    """Best time of ``repeat`` runs, and the peak of memory allocated during one."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    gc.collect()
    tracemalloc.start()
    try:
        work()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return best, peak


def assert_linear(make: Callable[[int], bytes], work: Callable[[bytes], object]) -> None:
    figures = {scale: measure(functools.partial(work, make(scale))) for scale in SCALES}
    (time_1, memory_1), (time_16, memory_16) = figures[1], figures[16]
    shown = {
        scale: (f"{t * 1000:.1f} ms", f"{m / 1e6:.1f} MB") for scale, (t, m) in figures.items()
    }
    assert time_16 / time_1 < MAX_TIME_RATIO, shown
    assert memory_16 / memory_1 < MAX_MEMORY_RATIO, shown


def echo(body: bytes) -> None:
    verdict, _ = ingest(body, json_conditions=True)
    assert isinstance(verdict, Rejected)
    assert verdict.error.startswith(INVALID_BODY)
    verdict.body()


@pytest.mark.parametrize("make", [wide_echo, deep_echo], ids=["width", "depth"])
def test_ingesting_a_body_the_server_echoes_grows_linearly(make: Callable[[int], bytes]) -> None:
    """Decoding, then echoing like circe, a wide or deep body: linear in its size."""
    assert_linear(make, echo)


def test_the_echo_alone_is_bounded_by_its_limit() -> None:
    """16x more input does not make the echo's output, or its work, 16x larger."""
    small = loads_strict(wide_echo(1))
    large = loads_strict(wide_echo(16))
    (time_1, memory_1), (time_16, memory_16) = (
        measure(lambda: spaces2(small), 9),
        measure(lambda: spaces2(large), 9),
    )
    assert len(spaces2(large)) == len(spaces2(small))
    assert time_16 / time_1 < 4
    assert memory_16 / memory_1 < 4


def show(body: bytes) -> None:
    traversal = Traversal(
        "01ARZ3NDEKTSV4RRFFQ69G5FAV", "0" * 16, "2030-01-01T00:00:00.000Z", None, body
    )
    dumps(traversal_detail(traversal))
    # A new Runs each time: the traversal is simulated, then replayed to its end.
    run = Runs(enabled=True, speed=1.0, script=None).view(traversal, LATER)
    assert run["status"] == "completed", run
    dumps(run)
    _section(traversal, run)


LATER = datetime(2031, 1, 1, tzinfo=timezone.utc)


def test_showing_a_wide_traversal_grows_linearly() -> None:
    """``GET /_dev/traversals/{id}`` (with its run) and the page's section for 1x, 4x, 16x branches."""
    assert_linear(wide_fork, show)
