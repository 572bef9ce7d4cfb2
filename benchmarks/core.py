"""Spec serialization and parsing speed, against the json module on the same data."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

from benchmarks._timing import best_of, heading, row
from waygrid import JoinStrategy, Node, RetryPolicy, Spec, SpecValidationError


def wide_spec(nodes: int) -> Spec:
    """About ``nodes`` spec nodes: a fork of chains with labels, retries and parameters."""
    branches = max(2, nodes // 100)
    length = max(1, nodes // branches - 1)
    retry = RetryPolicy.exponential(timedelta(seconds=1), 3)
    chains = {}
    for b in range(branches):
        node = Node.standard("waygrid://destination/webhook").label(f"deliver {b}")
        for i in range(length - 1):
            node = (
                Node.standard(f"waygrid://processor/step-{i % 10}")
                .label(f"step {i}")
                .with_retry(retry)
                .with_parameters({"model": "gpt-4", "temperature": 0.7, "batch": b})
                .on_success(node)
            )
        chains[f"branch-{b:04d}"] = node
    join = (
        Node.join("waygrid://system/waystation")
        .strategy(JoinStrategy.quorum(2))
        .timeout(timedelta(seconds=30))
    )
    fork = Node.fork("waygrid://system/waystation").join_id("fan-out").branches(chains)
    return Spec.single(Node.standard("waygrid://origin/http").on_success(fork.joined_by(join)))


def fresh_to_json(text: str, repeat: int = 5) -> float:
    """Best time of `to_json` on freshly parsed copies (nothing cached by an earlier run)."""
    copies = iter([Spec.from_json(text) for _ in range(repeat)])
    return best_of(lambda: next(copies).to_json(), repeat)


def best_interleaved(functions: list[Callable[[], object]], repeat: int = 5) -> list[float]:
    """`best_of` for several functions run in turn, so that a ratio between them compares runs
    made under the same load (other jobs on a shared machine come and go)."""
    timings: list[list[float]] = [[] for _ in functions]
    for _ in range(repeat):
        for function, found in zip(functions, timings, strict=True):
            found.append(best_of(function, 1))
    return [min(found) for found in timings]


def count_nodes(spec: Spec) -> int:
    """How many node objects the spec's JSON holds."""
    return spec.to_json().count('"address":')


def run() -> None:
    """Print the core benchmark figures."""
    heading("Core: to_json / from_json (10,000-node spec)")
    spec = wide_spec(10_000)
    as_dict = spec.to_dict()
    text = spec.to_json()
    row("spec nodes", f"{count_nodes(spec):,}")
    ours = fresh_to_json(text)
    baseline = best_of(lambda: json.dumps(as_dict, separators=(",", ":")))
    row("json.dumps(prebuilt dict)", f"{baseline * 1000:8.1f} ms")
    row("spec.to_json() (fresh spec)", f"{ours * 1000:8.1f} ms")
    row("ratio to_json / json.dumps (target <= 1.5)", f"{ours / baseline:8.2f}x")
    warm = best_of(spec.to_json)
    row("ratio to_json (warm spec) / json.dumps", f"{warm / baseline:8.2f}x")

    loads, parse, parse_validate = best_interleaved(
        [
            lambda: json.loads(text),
            lambda: Spec.from_json(text),
            lambda: Spec.from_json(text).validate(),
        ],
        repeat=7,
    )
    row("json.loads(text)", f"{loads * 1000:8.1f} ms")
    row("Spec.from_json(text)", f"{parse * 1000:8.1f} ms")
    row("Spec.from_json(text).validate()", f"{parse_validate * 1000:8.1f} ms")
    row("ratio from_json+validate / json.loads (target <= 3)", f"{parse_validate / loads:8.2f}x")

    heading("Core: growth from 1,000 to 100,000 nodes (cost per node; reader target <= 3x)")
    for size in (1_000, 10_000, 100_000):
        big = wide_spec(size)
        nodes = count_nodes(big)
        big_text = big.to_json()
        write = fresh_to_json(big_text, repeat=3)
        loads, read = best_interleaved(
            [
                lambda big_text=big_text: json.loads(big_text),
                lambda big_text=big_text: Spec.from_json(big_text).validate(),
            ],
            repeat={1_000: 41, 10_000: 9}.get(size, 3),  # short runs need more samples
        )
        row(
            f"{nodes:>7,} nodes: to_json / from_json+validate per node",
            f"{write / nodes * 1e6:6.2f} µs / {read / nodes * 1e6:6.2f} µs",
        )
        row(
            f"{nodes:>7,} nodes: ratio from_json+validate / json.loads",
            f"{read / loads:8.2f}x",
        )

    heading("Core: a 10,000-deep on_success chain")
    node = Node.standard("waygrid://processor/last")
    for i in range(9_999):
        node = Node.standard(f"waygrid://processor/n{i % 10}").on_success(node)
    deep = Spec.single(node)
    row("to_dict", f"{best_of(deep.to_dict, 3) * 1000:8.1f} ms")
    deep_text = deep.to_json()
    row("to_json", f"{best_of(deep.to_json, 3) * 1000:8.1f} ms")
    deep_dict = deep.to_dict()
    row("from_dict", f"{best_of(lambda: Spec.from_dict(deep_dict), 3) * 1000:8.1f} ms")
    row("from_json (iterative parser past the recursion limit)",
        f"{best_of(lambda: Spec.from_json(deep_text), 3) * 1000:8.1f} ms")  # fmt: skip
    try:
        deep.validate()
        outcome = "valid (unexpected)"
    except SpecValidationError as error:
        outcome = f"{error.errors[0].code} (as the server: depth limit 128)"
    row("validate", outcome)
