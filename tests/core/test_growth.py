"""Hostile shapes cost time and memory in proportion to their size (ratios, not timings)."""

from __future__ import annotations

import pytest

from benchmarks.hostile_core import SHAPES, best_time, peak_memory

SCALES = (1, 4, 16)
MEMORY_TOLERANCE = 2.5
"""How far above linear a memory ratio may be: a 16x input may hold up to 40x."""
TIME_TOLERANCE = 4.0
"""How far above linear a time ratio may be: a 16x input may take up to 64x, where anything
quadratic takes 256x. Time needs more room than memory: on Python 3.12+ the C JSON scanner reads
documents up to about 10,000 levels deep, so a deep shape's 1x input is read by it and its 16x
input by the iterative fallback (`waygrid._json.loads_deep`), a constant factor of about 2.5
slower; and best-of timings on a loaded 2-core machine still wobble."""
ROUNDS = 3


def _within(figures: list[float], tolerance: float) -> bool:
    return all(
        figures[index] <= figures[0] * scale * tolerance
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
        if _within(best, TIME_TOLERANCE):
            break
    ratios = [round(figure / best[0], 1) for figure in best]
    assert _within(best, TIME_TOLERANCE), f"{shape}: time ratios {ratios} for sizes {SCALES}"


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_memory_grows_linearly(shape: str) -> None:
    """From 1x to 4x and 16x, the pipeline's peak traced memory grows at most ~linearly."""
    build, size = SHAPES[shape]
    # Tracing every allocation is slow, and memory figures are not disturbed by load: a
    # quarter of the timing sizes is enough.
    peaks = [float(peak_memory(build(size * scale // 4))) for scale in SCALES]
    ratios = [round(peak / peaks[0], 1) for peak in peaks]
    assert _within(peaks, MEMORY_TOLERANCE), f"{shape}: memory ratios {ratios} for sizes {SCALES}"
