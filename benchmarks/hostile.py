"""Hostile requests against `waygrid dev` in its own process: what one costs, who waits.

Each figure is set against a baseline from the same run: the server's memory growth against the
body's size, and ``/_dev/health`` latency under attack against its latency when idle. The core's
depth/width figures follow (`benchmarks.hostile_core`).
"""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from benchmarks import hostile_core
from benchmarks._timing import best_of, heading, row
from waygrid import JoinStrategy, Node, Spec
from waygrid._json import loads_strict
from waygrid.devserver._circe import spaces2

MIB = 1_048_576
CONCURRENT = 6  # more than the dev server's worker threads, so some requests queue


def issue_body() -> bytes:
    """Issue 9's body: 1,000 nested arrays around ~523,000 zeros, just under 1 MiB."""
    head = b'{"graph":1,"x":' + b"[" * 1000
    tail = b"]" * 1000 + b"}"
    zeros = (MIB - len(head) - len(tail) + 1) // 2
    return head + b"0," * (zeros - 1) + b"0" + tail


def wide_fork_body(branches: int = 2_800) -> bytes:
    """A valid ~1 MiB spec: one fork with thousands of branches."""
    join = Node.join("waygrid://system/join").join_id("j").strategy(JoinStrategy.quorum(1))
    fork = (
        Node.fork("waygrid://system/fork")
        .join_id("j")
        .branches({f"b{i}": Node.standard(f"waygrid://p/a{i}") for i in range(branches)})
        .joined_by(join)
    )
    return json.dumps({"graph": Spec.single(fork).to_dict()}).encode()


def deep_not_body() -> bytes:
    """Issue 9's finding 2: a ``Not`` nested as deep as fits in 1 MiB (~47,000)."""
    depth = 47_000
    while len(body := b'{"graph":' + hostile_core.deep_not(depth).encode() + b"}") > MIB:
        depth -= 500
    return body


class Server:
    """``waygrid dev --port 0`` in a subprocess, with its memory read from /proc."""

    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process = process
        self.url = url

    def memory(self, field: str) -> int:
        """VmRSS or VmHWM in bytes (0 without /proc)."""
        status = Path(f"/proc/{self.process.pid}/status")
        if not status.exists():
            return 0
        for line in status.read_text().splitlines():
            name, _, value = line.partition(":")
            if name == field:
                return int(value.split()[0]) * 1024
        return 0


@contextmanager
def dev_server(*args: str) -> Iterator[Server]:
    """`waygrid dev` on a free port (it prints where it listens)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "waygrid.cli", "dev", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if "listening on" not in line:
            raise RuntimeError(f"waygrid dev printed {line!r}")
        yield Server(process, line.split()[-1])
    finally:
        process.terminate()
        process.wait(timeout=30)


def health_during(url: str, work: Callable[[], Any]) -> tuple[list[float], float]:
    """``/_dev/health`` latencies while ``work()`` runs in a thread; and how long it ran."""
    latencies: list[float] = []
    with httpx.Client(base_url=url, timeout=120) as http, ThreadPoolExecutor(1) as pool:
        http.get("/_dev/health")
        started = time.perf_counter()
        future = pool.submit(work)
        while not future.done():
            sent = time.perf_counter()
            http.get("/_dev/health").raise_for_status()
            latencies.append(time.perf_counter() - sent)
            time.sleep(0.005)
        future.result()
        return latencies, time.perf_counter() - started


def idle_health(url: str) -> float:
    """Median ``/_dev/health`` latency of an idle server (the baseline)."""
    with httpx.Client(base_url=url) as http:
        http.get("/_dev/health")
        timings = []
        for _ in range(50):
            sent = time.perf_counter()
            http.get("/_dev/health")
            timings.append(time.perf_counter() - sent)
    return statistics.median(timings)


def send(url: str, path: str, body: bytes | None, count: int) -> list[int]:
    """``count`` requests at once, each on its own connection; their statuses."""

    def one(_: int) -> int:
        with httpx.Client(base_url=url, timeout=300) as http:
            answer = http.get(path) if body is None else http.post(path, content=body)
            return answer.status_code

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def report_health(label: str, latencies: list[float], duration: float, idle: float) -> None:
    worst = max(latencies) if latencies else duration
    row(f"{label}: took", f"{duration:8.2f} s")
    row(
        "  /_dev/health meanwhile: worst / idle median",
        f"{worst * 1000:6.1f} ms / {idle * 1000:.1f} ms",
    )
    row("  worst health latency / duration (target << 1)", f"{worst / duration:8.3f}")


def run_server() -> None:
    """The dev server under hostile requests."""
    body = issue_body()
    document = loads_strict(body)
    heading("Hostile input: the circe echo alone (issue 9's 1 MiB document)")
    row("spaces2(document), best of 5", f"{best_of(lambda: spaces2(document)) * 1000:8.1f} ms")
    row("echo length (cut at 1 MiB)", f"{len(spaces2(document)):8,} chars")

    heading(f"Hostile input over TCP: waygrid dev in its own process, {len(body):,}-byte bodies")
    with dev_server() as server:
        idle = idle_health(server.url)
        row("/_dev/health, idle (median of 50)", f"{idle * 1000:8.2f} ms")
        with httpx.Client(base_url=server.url, timeout=300) as http:
            http.post("/v1/ingest", content=b'{"graph":1,"x":[[0]]}')  # warm
            before = server.memory("VmRSS")
            started = time.perf_counter()
            status = http.post("/v1/ingest", content=body).status_code
            took = time.perf_counter() - started
            growth = server.memory("VmHWM") - before
        row(f"issue 9 body: answer {status} in", f"{took:8.2f} s")
        row("  server peak memory growth", f"{growth / MIB:8.1f} MiB")
        row("  growth / body size (target < 10)", f"{growth / len(body):8.1f}")

        latencies, duration = health_during(
            server.url, lambda: send(server.url, "/v1/ingest", body, CONCURRENT)
        )
        report_health(f"{CONCURRENT} issue 9 bodies at once", latencies, duration, idle)

        wide = wide_fork_body()
        accepted = httpx.post(f"{server.url}/v1/ingest", content=wide, timeout=300).json()
        path = f"/_dev/traversals/{accepted['traversalId']}"
        latencies, duration = health_during(
            server.url, lambda: send(server.url, path, None, CONCURRENT)
        )
        report_health(f"{CONCURRENT} details of a 2,800-branch fork", latencies, duration, idle)
        latencies, duration = health_during(server.url, lambda: send(server.url, "/_dev/", None, 1))
        report_health("the /_dev/ page with that fork", latencies, duration, idle)

        deep = deep_not_body()
        started = time.perf_counter()
        answer = httpx.post(f"{server.url}/v1/ingest", content=deep, timeout=300)
        row(
            f"deep Not ({len(deep):,} bytes): ingest {answer.status_code} in",
            f"{time.perf_counter() - started:8.2f} s",
        )
        if answer.status_code == 200:
            path = f"/_dev/traversals/{answer.json()['traversalId']}"
            latencies, duration = health_during(server.url, lambda: send(server.url, path, None, 1))
            report_health("its GET /_dev/traversals/{id}", latencies, duration, idle)

        with httpx.Client(base_url=server.url) as http:
            before = server.memory("VmRSS")
            started = time.perf_counter()
            http.post("/_dev/faults", json={"fail": 1_000_000_000}).raise_for_status()
            took = time.perf_counter() - started
            grown = server.memory("VmRSS") - before
            http.post("/_dev/reset").raise_for_status()
        row('POST /_dev/faults {"fail": 1e9}', f"{took * 1000:8.1f} ms")
        row("  server memory change (RSS)", f"{grown / MIB:8.2f} MiB")

    heading("Hostile input: the --db file locked by another process")
    with tempfile.TemporaryDirectory() as directory:
        db = Path(directory) / "dev.sqlite3"
        with dev_server("--db", str(db)) as server:
            idle = idle_health(server.url)
            holder = sqlite3.connect(db, isolation_level=None)
            holder.execute("BEGIN EXCLUSIVE")
            try:
                small = (
                    b'{"graph":'
                    + Spec.single(Node.standard("waygrid://o/h")).to_json().encode()
                    + b"}"
                )
                statuses: list[int] = []
                latencies, duration = health_during(
                    server.url,
                    lambda: statuses.extend(send(server.url, "/v1/ingest", small, CONCURRENT)),
                )
            finally:
                holder.execute("ROLLBACK")
                holder.close()
            row(
                f"{CONCURRENT} ingests while locked: statuses",
                " ".join(map(str, sorted(set(statuses)))),
            )
            report_health("  those ingests", latencies, duration, idle)


def run() -> None:
    """Print the dev server's figures, then the core's depth/width figures."""
    run_server()
    hostile_core.run()
