"""Small timing helpers shared by the benchmarks."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable


def best_of(function: Callable[[], object], repeat: int = 5) -> float:
    """The fastest of ``repeat`` runs, in seconds (the least disturbed by other load)."""
    timings = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        function()
        timings.append(time.perf_counter() - start)
    return min(timings)


def row(label: str, value: str) -> None:
    """Print one result line."""
    print(f"  {label:<58} {value}")


def heading(title: str) -> None:
    """Print a section heading."""
    print(f"\n{title}\n" + "-" * len(title))
