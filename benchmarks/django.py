"""Django: the sync wrapper vs the async call, and the outbox's dispatch rate."""

from __future__ import annotations

import asyncio
import contextlib
import os
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
ROWS = 2_000
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


def dispatch_rate(dispatchers: int, env: dict[str, str]) -> float:
    """Rows per second for ``dispatchers`` concurrent `waygrid_dispatch --once` processes."""
    from django.db import transaction

    from waygrid_django.models import Submission
    from waygrid_django.outbox import enqueue

    Submission.objects.all().delete()
    spec = quick_start()
    with transaction.atomic():
        for index in range(ROWS):
            enqueue(spec, {"orderId": index}, using=None)
    command = [sys.executable, "manage.py", "waygrid_dispatch", "--once", "--batch-size", "100"]
    start = time.perf_counter()
    processes = [
        subprocess.Popen(command, cwd=PROJECT, env={**os.environ, **env}, stdout=subprocess.DEVNULL)
        for _ in range(dispatchers)
    ]
    for process in processes:
        process.wait(timeout=600)
    elapsed = time.perf_counter() - start
    sent = Submission.objects.filter(status=Submission.Status.SUBMITTED).count()
    if sent != ROWS:
        raise RuntimeError(f"{sent} of {ROWS} rows were submitted")
    return ROWS / elapsed


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
        heading(f"Django outbox: dispatching {ROWS:,} pending rows on {label}")
        for dispatchers in (1, 4):
            rate = dispatch_rate(dispatchers, env)
            row(f"{dispatchers} waygrid_dispatch --once process(es)", f"{rate:8.0f} rows/s")
        print("  (process start-up included; one dev server process is the shared ceiling)")
