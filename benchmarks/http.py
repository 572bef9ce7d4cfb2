"""Submits per second through WaygridClient vs raw httpx posting the same bytes, same server."""

from __future__ import annotations

import asyncio
import os
import time

import httpx

from benchmarks._processes import dev_server
from benchmarks._timing import heading, row
from examples.workflows import quick_start
from waygrid import WaygridClient, __version__

TOTAL = 2_000
IN_FLIGHT = 32
ROUNDS = 5


async def _drive(total: int, in_flight: int, send: object) -> float:
    """Run ``total`` calls of ``send()`` with ``in_flight`` workers; return calls per second."""
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await send()  # type: ignore[operator]

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return total / (time.perf_counter() - start)


async def sdk_rate(base_url: str) -> float:
    """Submits per second through `WaygridClient.submit` (validation on, as by default)."""
    spec = quick_start()
    async with WaygridClient(base_url) as client:
        await client.submit(spec)  # connect and warm up

        async def send() -> None:
            await client.submit(spec, payload={"orderId": 42})

        return await _drive(TOTAL, IN_FLIGHT, send)


async def raw_rate(base_url: str) -> float:
    """Requests per second of a plain httpx.AsyncClient posting the identical request."""
    spec = quick_start()
    body = ('{"graph":' + spec.to_json() + ',"payload":{"orderId":42}}').encode()
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": f"waygrid-python/{__version__}",
    }
    url = base_url + "/v1/ingest"
    async with httpx.AsyncClient(timeout=30.0) as client:
        await client.post(url, content=body, headers=headers)

        async def send() -> None:
            response = await client.post(
                url, content=body, headers={**headers, "Idempotency-Key": os.urandom(16).hex()}
            )
            response.raise_for_status()
            response.json()

        return await _drive(TOTAL, IN_FLIGHT, send)


def startup_seconds() -> float:
    """How long ``waygrid dev --port 0`` takes to print where it listens (best of three)."""
    import subprocess
    import sys

    timings = []
    for _ in range(3):
        start = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "waygrid.cli", "dev", "--port", "0"],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert process.stdout is not None
        line = process.stdout.readline()
        timings.append(time.perf_counter() - start)
        process.terminate()
        process.wait(timeout=10)
        if "listening on" not in line:
            raise RuntimeError(f"waygrid dev printed {line!r}")
    return min(timings)


def run() -> None:
    """Print the client and dev server figures."""
    heading("Dev server start-up")
    row("waygrid dev: launch to 'listening on' (target < 1 s)", f"{startup_seconds():8.2f} s")
    heading(f"Client: {TOTAL:,} submits, {IN_FLIGHT} in flight, dev server in its own process")
    sdk: list[float] = []
    raw: list[float] = []
    with dev_server() as url:
        for _ in range(ROUNDS):  # interleaved, so drift in machine load hits both alike
            raw.append(asyncio.run(raw_rate(url)))
            sdk.append(asyncio.run(sdk_rate(url)))
    row("raw httpx.AsyncClient, identical bytes (best round)", f"{max(raw):8.0f} req/s")
    row("WaygridClient.submit (best round)", f"{max(sdk):8.0f} req/s")
    row("ratio SDK / raw (target >= 0.9)", f"{max(sdk) / max(raw):8.2f}")
    row("dev server ingest throughput at this load", f"{max(raw):8.0f} req/s")
