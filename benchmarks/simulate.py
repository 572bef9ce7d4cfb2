"""Simulation speed against compiling the same spec, and its growth from 1,000 to ~100,000 nodes.

Both sides are timed on this thread's CPU clock (`time.thread_time`) as well as on the wall
clock: on a machine shared with other jobs the wall clock also counts the time other processes
held the CPU, which skews whichever side they happened to hit. The ratios use the CPU clock; the
wall-clock ratio follows in parentheses.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Literal

from benchmarks._timing import heading, row
from waygrid import JoinStrategy, Node, RetryPolicy, Spec
from waygrid.simulate import simulate


def woven_spec(nodes: int, *, retry: bool = False) -> Spec:
    """About ``nodes`` nodes with unique labels: a fork of 100-node chains woven to an AND join."""
    branches = max(2, nodes // 100)
    length = max(1, nodes // branches)
    policy = RetryPolicy.linear(timedelta(seconds=1), 2) if retry else RetryPolicy.NONE
    chains = {}
    for b in range(branches):
        node = None
        for i in range(length):
            step = Node.standard(f"waygrid://processor/b{b}-s{i}").label(f"n{b}-{i}")
            step = step.with_retry(policy)
            node = step if node is None else step.on_success(node)
        assert node is not None
        chains[f"branch-{b:04d}"] = node
    join = Node.join("waygrid://system/waystation").strategy(JoinStrategy.AND)
    fork = Node.fork("waygrid://system/waystation").join_id("fan-out").branches(chains)
    return Spec.single(
        Node.standard("waygrid://origin/http").label("in").on_success(fork.joined_by(join))
    )


def fail_once(spec: Spec) -> dict[str, object]:
    """A script in which every standard node fails once, then succeeds (one retry each)."""
    names = {n.label for n in spec.compile().nodes if n.kind == "standard" and n.label}
    return {name: ["fail", "ok"] for name in names if name != "in"}


def interleaved(
    functions: dict[str, Callable[[], object]], repeat: int
) -> tuple[dict[str, float], dict[str, float]]:
    """The best CPU and wall-clock times of each function, run in turns (seconds)."""
    cpu = dict.fromkeys(functions, float("inf"))
    wall = dict.fromkeys(functions, float("inf"))
    for _ in range(repeat):
        for name, function in functions.items():
            gc.collect()
            start_cpu, start_wall = time.thread_time(), time.perf_counter()
            function()
            cpu[name] = min(cpu[name], time.thread_time() - start_cpu)
            wall[name] = min(wall[name], time.perf_counter() - start_wall)
    return cpu, wall


def run() -> None:
    """Print the simulator benchmark figures."""
    heading("Simulator: simulate() against spec.compile() (10,000-node spec)")
    plain = woven_spec(10_000)
    retrying = woven_spec(10_000, retry=True)
    script = fail_once(retrying)
    cases: dict[str, tuple[Spec, dict[str, object] | None, Literal["intended", "upstream"]]] = {
        "all succeed": (plain, None, "intended"),
        "retry policies everywhere, all succeed": (retrying, None, "intended"),
        "retries everywhere, every node fails once": (retrying, script, "intended"),
        "all succeed, upstream mode": (plain, None, "upstream"),
    }
    functions: dict[str, Callable[[], object]] = {"compile": plain.compile}
    for what, (spec, spec_script, mode) in cases.items():
        done = simulate(spec, script=spec_script, mode=mode)
        assert done.status == "completed", (what, done.status)
        functions[what] = partial(simulate, spec, script=spec_script, mode=mode)
    best, wall = interleaved(functions, repeat=9)
    row("compiled nodes", f"{len(plain.compile().nodes):,}")
    row("spec.compile() (CPU time)", f"{best['compile'] * 1000:8.1f} ms")
    for what in cases:
        row(f"simulate(), {what}", f"{best[what] * 1000:8.1f} ms")
        row(
            "  ratio simulate / compile (target <= 3)",
            f"{best[what] / best['compile']:8.2f}x (wall {wall[what] / wall['compile']:.2f}x)",
        )

    heading("Simulator: growth (cost per node; a run stops at 100,000 items)")
    # A node that succeeds takes one queue item, one that fails once three: the largest sizes
    # stay under the contract's cap of 100,000 processed items, so every run goes to its end.
    for size, retry in ((1_000, False), (10_000, False), (99_000, False),
                        (1_000, True), (10_000, True), (33_000, True)):  # fmt: skip
        big = woven_spec(size, retry=retry)
        big_script = fail_once(big) if retry else None
        count = len(big.compile().nodes)
        done = simulate(big, script=big_script)
        assert done.status == "completed", (size, retry, done.status)
        functions = {"simulate": partial(simulate, big, script=big_script), "compile": big.compile}
        timed, wall = interleaved(functions, repeat=5 if size < 50_000 else 3)
        what = "every node fails once" if retry else "all succeed"
        per_node, ratio = timed["simulate"] / count * 1e6, timed["simulate"] / timed["compile"]
        row(
            f"{count:>7,} nodes, {what}: per node (x compile)",
            f"{per_node:6.2f} us ({ratio:4.2f}x, wall {wall['simulate'] / wall['compile']:.2f}x)",
        )
