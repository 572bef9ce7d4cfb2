"""The FastAPI example with the lifespan client vs the published per-request-client pattern."""

from __future__ import annotations

import asyncio
import time

import httpx

from benchmarks._processes import dev_server, process_server
from benchmarks._timing import heading, row

TOTAL = 600
IN_FLIGHT = 16


async def endpoint_rate(app_url: str) -> float:
    """Requests per second of ``POST /workflow/start`` at ``IN_FLIGHT`` concurrent requests."""
    remaining = TOTAL
    async with httpx.AsyncClient(base_url=app_url, timeout=60.0) as client:
        (await client.post("/workflow/start", json={"warm": True})).raise_for_status()

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                response = await client.post("/workflow/start", json={"orderId": 42})
                response.raise_for_status()

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
        return TOTAL / (time.perf_counter() - start)


def run() -> None:
    """Print the FastAPI figures."""
    heading(f"FastAPI example: {TOTAL} requests, {IN_FLIGHT} in flight, app and dev server apart")
    rates = {}
    with dev_server() as waygrid_url:
        env = {"WAYGRID_BASE_URL": waygrid_url}
        for name, module in (
            ("lifespan client (waygrid_fastapi)", "examples.fastapi_app.main:app"),
            ("per-request client (published pattern)", "examples.fastapi_app.per_request:app"),
        ):
            args = ["uvicorn", module, "--port", "{port}", "--log-level", "warning"]
            with process_server(args, env) as app_url:
                rates[name] = asyncio.run(endpoint_rate(app_url))
            row(name, f"{rates[name]:8.0f} req/s")
    lifespan, per_request = rates.values()
    row("ratio lifespan / per-request", f"{lifespan / per_request:8.1f}x")
