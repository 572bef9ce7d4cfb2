"""Hostile spec shapes (deep, long, wide) through the whole core pipeline, at 1x, 4x and 16x.

The same shapes feed `tests/core/test_growth.py`, which asserts that time and memory grow in
proportion to the input; this section prints the absolute figures.
"""

from __future__ import annotations

import contextlib
import gc
import time
import tracemalloc
from collections.abc import Callable

from benchmarks._timing import heading, row
from waygrid import Spec, SpecDecodeError, SpecValidationError

_POLICIES = '"retryPolicy":{"type":"None"},"deliveryStrategy":{"type":"Immediate"}'
_LEAF = '{"type":"standard","address":"waygrid://processor/leaf",' + _POLICIES + "}"
_SPEC_END = '],"repeatPolicy":{"type":"NoRepeat"}}'


def _standard(members: str) -> str:
    return '{"type":"standard","address":"waygrid://processor/a",' + _POLICIES + members + "}"


def _edge(condition: str) -> str:
    return _standard(',"onConditions":[{"condition":' + condition + ',"to":' + _LEAF + "}]")


def deep_not(n: int) -> str:
    """One edge condition: ``Not`` nested ``n`` deep around a JSON-pointer condition."""
    inner = '{"type":"JsonExists","pointer":"/x"}'
    return '{"entryPoints":[' + _edge('{"type":"Not","cond":' * n + inner + "}" * n) + _SPEC_END


def deep_and(n: int) -> str:
    """``And`` nested ``n`` deep, each level holding a pointer condition next to the deeper one."""
    level = '{"type":"And","all":[{"type":"JsonExists","pointer":"/x"},'
    condition = level * n + '{"type":"Always"}' + "]}" * n
    return '{"entryPoints":[' + _edge(condition) + _SPEC_END


def nested_forks(n: int) -> str:
    """Forks nested ``n`` deep (each in the first branch of the previous), none joined."""
    head = (
        '{"type":"fork","address":"waygrid://system/fork",' + _POLICIES + ',"joinNodeId":"j%d",'
        '"branches":{"a":'
    )
    opening = "".join(head % i for i in range(n))
    return '{"entryPoints":[' + opening + _LEAF + (',"b":' + _LEAF + "}}") * n + _SPEC_END


def chain(n: int) -> str:
    """A chain of ``n`` standard nodes linked by ``onSuccess``."""
    opening = _standard(',"onSuccess":')[:-1] * n
    return '{"entryPoints":[' + opening + _LEAF + "}" * n + _SPEC_END


def wide_fork(n: int) -> str:
    """A valid fork of ``n`` branches, each ending in the join (compiles to 2n+1 nodes)."""
    join = (
        '{"type":"join","address":"waygrid://system/join",' + _POLICIES + ',"joinNodeId":"j",'
        '"strategy":{"type":"And"}}'
    )
    branch = '{"type":"standard","address":"waygrid://processor/b%d",' + _POLICIES
    branches = ",".join(f'"b{i}":' + branch % i + ',"onSuccess":' + join + "}" for i in range(n))
    fork = (
        '{"type":"fork","address":"waygrid://system/fork",' + _POLICIES + ',"joinNodeId":"j",'
        '"branches":{' + branches + "}}"
    )
    return '{"entryPoints":[' + fork + _SPEC_END


def wide_conditions(n: int) -> str:
    """One node with ``n`` conditional edges that are all true (a warning per pair, bounded)."""
    edges = ",".join('{"condition":{"type":"Always"},"to":' + _LEAF + "}" for _ in range(n))
    return '{"entryPoints":[' + _standard(',"onConditions":[' + edges + "]") + _SPEC_END


def long_duration(n: int) -> str:
    """A delay of ``n`` digits followed by a character no number has (a decode error)."""
    delivery = '{"type":"ScheduleAfter","delay":"' + "1" * n + '_s"}'
    node = _standard("").replace('{"type":"Immediate"}', delivery)
    return '{"entryPoints":[' + node + _SPEC_END


SHAPES: dict[str, tuple[Callable[[int], str], int]] = {
    "deep Not": (deep_not, 1_000),
    "deep And": (deep_and, 500),
    "nested forks": (nested_forks, 600),
    "long chain": (chain, 1_200),
    "wide fork": (wide_fork, 200),
    "wide conditions": (wide_conditions, 300),
    "long duration": (long_duration, 20_000),
}
"""Each shape's generator and its 1x size (n at 4x and 16x is 4 and 16 times that)."""


def pipeline(text: str) -> None:
    """Everything the core does with a spec: read, validate, compile, draw and write it."""
    try:
        spec = Spec.from_json(text)
    except SpecDecodeError:
        return
    with contextlib.suppress(SpecValidationError):
        spec.validate()
    with contextlib.suppress(SpecValidationError):
        spec.to_mermaid()
    spec.to_json()
    spec.to_dict()


def best_time(text: str, repeat: int = 5) -> float:
    """The fastest of ``repeat`` pipeline runs, in seconds."""
    timings = []
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        pipeline(text)
        timings.append(time.perf_counter() - started)
    return min(timings)


def peak_memory(text: str) -> int:
    """The most memory the pipeline holds at once (bytes, traced by `tracemalloc`)."""
    gc.collect()
    tracemalloc.start()
    try:
        pipeline(text)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def run() -> None:
    """Print time and memory per shape at 1x, 4x and 16x, and the 16x/1x ratios."""
    heading("Core: hostile shapes through from_json, validate, compile, to_mermaid, to_json")
    for name, (build, size) in SHAPES.items():
        texts = [build(size * scale) for scale in (1, 4, 16)]
        times = [best_time(text) for text in texts]
        peaks = [peak_memory(text) for text in texts]
        figures = "  ".join(
            f"{len(text) / 1024:7.0f} KiB {t * 1000:7.1f} ms {p / 2**20:6.1f} MiB"
            for text, t, p in zip(texts, times, peaks, strict=True)
        )
        row(f"{name} (1x, 4x, 16x)", figures)
        row(
            f"{name}: 16x/1x time, memory (linear: ~16)",
            f"{times[2] / times[0]:5.1f}x {peaks[2] / peaks[0]:5.1f}x",
        )
