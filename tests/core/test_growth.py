"""Hostile shapes cost time and memory in proportion to their size (ratios, not timings)."""

from __future__ import annotations

import pytest

from benchmarks.hostile_core import SHAPES, best_time, peak_memory

SCALES = (1, 4, 16)
TOLERANCE = 2.5
"""How far above linear a ratio may be: a 16x input may cost up to 40x. Best-of timings on a
loaded 2-core machine stay well inside that; anything quadratic is at 16x or more above it."""
ROUNDS = 3


def _within(figures: list[float]) -> bool:
    return all(
        figures[index] <= figures[0] * scale * TOLERANCE
        for index, scale in enumerate(SCALES)
        if index
    )


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_time_grows_linearly(shape: str) -> None:
    """From 1x to 4x and 16x, the pipeline's best time grows at most ~linearly."""
    build, size = SHAPES[shape]
    texts = [build(size * scale) for scale in SCALES]
    best = [float("inf")] * len(SCALES)
    for _ in range(ROUNDS):  # more rounds only lower each best time: load can only add
        best = [min(old, best_time(text, 3)) for old, text in zip(best, texts, strict=True)]
        if _within(best):
            break
    ratios = [round(figure / best[0], 1) for figure in best]
    assert _within(best), f"{shape}: time ratios {ratios} for sizes {SCALES}"


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_memory_grows_linearly(shape: str) -> None:
    """From 1x to 4x and 16x, the pipeline's peak traced memory grows at most ~linearly."""
    build, size = SHAPES[shape]
    # Tracing every allocation is slow, and memory figures are not disturbed by load: a
    # quarter of the timing sizes is enough.
    peaks = [float(peak_memory(build(size * scale // 4))) for scale in SCALES]
    ratios = [round(peak / peaks[0], 1) for peak in peaks]
    assert _within(peaks), f"{shape}: memory ratios {ratios} for sizes {SCALES}"
