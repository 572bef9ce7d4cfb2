"""Django: the sync wrapper vs the async call, and the outbox's dispatch rate."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from benchmarks._processes import dev_server
from benchmarks._timing import heading, row
from examples.workflows import quick_start

CALLS = 300
ROWS = 1_000
ROUNDS = 5
PROJECT = Path(__file__).resolve().parents[1] / "examples" / "django_project"


@contextlib.contextmanager
def scratch_database() -> Iterator[tuple[str, str]]:
    """A fresh PostgreSQL database when one is reachable, else an SQLite file: (url, label)."""
    base = os.environ.get("WAYGRID_TEST_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/test")
    name = f"waygrid_bench_{os.getpid()}"
    try:
        import psycopg

        admin = psycopg.connect(base, autocommit=True, connect_timeout=2)
    except Exception:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.sqlite3", "SQLite"
        return
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield base.rsplit("/", 1)[0] + "/" + name, "PostgreSQL"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    sys.path.insert(0, str(PROJECT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def per_call_costs(base_url: str) -> tuple[float, float]:
    """Median seconds per call of `service.submit` and of `await service.asubmit`."""
    from waygrid_django import WaygridService

    spec = quick_start()
    service = WaygridService(base_url)
    try:
        service.submit(spec)  # connect and warm up
        sync_runs, async_runs = [], []

        async def calls() -> None:
            for _ in range(CALLS):
                await service.asubmit(spec, payload={"orderId": 42})

        for _ in range(5):  # interleaved rounds: load drift hits both alike
            start = time.perf_counter()
            for _ in range(CALLS):
                service.submit(spec, payload={"orderId": 42})
            sync_runs.append((time.perf_counter() - start) / CALLS)
            start = time.perf_counter()
            asyncio.run(calls())
            async_runs.append((time.perf_counter() - start) / CALLS)
    finally:
        service.close()
    return sorted(sync_runs)[2], sorted(async_runs)[2]


def raw_rate(base_url: str) -> float:
    """Rows per second of bare `WaygridClient.submit`, `SEND_CONCURRENCY` calls in flight."""
    from waygrid.client import WaygridClient
    from waygrid_django.outbox import SEND_CONCURRENCY

    spec = quick_start()

    async def main() -> float:
        async with WaygridClient(base_url) as client:
            await client.submit(spec, {"orderId": -1})  # connect and warm up
            gate = asyncio.Semaphore(SEND_CONCURRENCY)

            async def one(index: int) -> None:
                async with gate:
                    await client.submit(spec, {"orderId": index}, validate=False)

            start = time.perf_counter()
            await asyncio.gather(*(one(index) for index in range(ROWS)))
            return ROWS / (time.perf_counter() - start)

    return asyncio.run(main())


def outbox_rounds(
    dispatchers: int, env: dict[str, str], base_url: str
) -> list[tuple[float, float]]:
    """`ROUNDS` of (raw rows/s, outbox rows/s), measured alternately on the same dev server.

    ``dispatchers`` `waygrid_dispatch` loops start once, on an empty outbox, and say they are
    up. Each round measures raw `WaygridClient.submit` first, then commits `ROWS` rows at once
    and runs the clock until the last one is recorded submitted: steady-state sending, without
    Python or Django start-up. Alternating keeps load drift on the machine from favouring
    either side.
    """
    from django.db import transaction

    from waygrid_django.models import Submission
    from waygrid_django.outbox import enqueue

    Submission.objects.all().delete()
    spec = quick_start()
    command = [sys.executable, "manage.py", "waygrid_dispatch", "--interval", "0.1"]
    processes = [
        subprocess.Popen(
            command,
            cwd=PROJECT,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(dispatchers)
    ]
    rounds = []
    try:
        for process in processes:  # the start-up line: settings read, database reachable
            assert process.stdout is not None
            if not process.stdout.readline().startswith("waygrid_dispatch: database"):
                raise RuntimeError("a dispatcher did not start")
        for _ in range(ROUNDS):
            raw = raw_rate(base_url)
            Submission.objects.all().delete()
            with transaction.atomic():
                for index in range(ROWS):
                    enqueue(spec, {"orderId": index}, using=None)
            start = time.perf_counter()
            submitted = Submission.objects.filter(status=Submission.Status.SUBMITTED)
            while submitted.count() < ROWS:
                if time.perf_counter() - start > 300:
                    raise RuntimeError(f"{submitted.count()} of {ROWS} rows were submitted")
                time.sleep(0.02)
            rounds.append((raw, ROWS / (time.perf_counter() - start)))
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.communicate(timeout=60)
    return rounds


def run() -> None:
    """Print the Django figures."""
    with dev_server() as waygrid_url, scratch_database() as (database_url, label):
        env = {
            "WAYGRID_BASE_URL": waygrid_url,
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "example_project.settings",
            "DJANGO_DEBUG": "0",
            "WAYGRID_API_KEY": "bench-key",  # the dev server runs without a key and ignores it
        }
        _setup_django(env)
        heading(f"Django: {CALLS} sequential calls, dev server in its own process")
        sync, asynchronous = per_call_costs(waygrid_url)
        row("await service.asubmit (median round)", f"{asynchronous * 1000:8.2f} ms/call")
        row("service.submit, the sync wrapper (median round)", f"{sync * 1000:8.2f} ms/call")
        row("ratio submit / asubmit (target <= 1.3)", f"{sync / asynchronous:8.2f}")
        heading(
            f"Django outbox: {ROUNDS} rounds of {ROWS:,} committed rows on {label}, steady state"
        )
        for dispatchers in (1, 4):
            rounds = outbox_rounds(dispatchers, env, waygrid_url)
            raw = statistics.median(r for r, _ in rounds)
            rate = statistics.median(o for _, o in rounds)
            ratio = statistics.median(o / r for r, o in rounds)
            row(
                f"raw WaygridClient.submit, 32 in flight (median of {ROUNDS})", f"{raw:8.0f} rows/s"
            )
            row(
                f"{dispatchers} waygrid_dispatch loop(s) (median of {ROUNDS})",
                f"{rate:8.0f} rows/s",
            )
            row(f"  ratio outbox / raw submit, {dispatchers} (target >= 0.7)", f"{ratio:8.2f}")
        print(
            "  (dispatchers started before the rows commit; one dev server process is the ceiling)"
        )
