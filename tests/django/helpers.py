"""Helpers of the waygrid_django tests: Django under uvicorn, dispatcher processes, ports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from django.db import connection

from tests.servers import UvicornThread

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class AsgiServer(UvicornThread):
    """Django's ASGI application served by uvicorn in a thread, on a loopback port."""

    def __init__(self) -> None:
        from django.core.asgi import get_asgi_application

        super().__init__(get_asgi_application(), name="django-asgi", log_level="warning")


def start_dispatchers(
    count: int, base_url: str, *args: str, env: dict[str, str] | None = None
) -> list[subprocess.Popen[str]]:
    """Start ``count`` ``manage.py waygrid_dispatch`` processes on the test database.

    ``env`` adds variables, e.g. ``WAYGRID_TIMEOUT`` or ``WAYGRID_OUTBOX_LEASE`` (read by the
    test settings).
    """
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.django.settings",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "WAYGRID_TEST_DB_NAME": str(connection.settings_dict["NAME"]),
        "WAYGRID_BASE_URL": base_url,
        **(env or {}),
    }
    command = [sys.executable, "-m", "django", "waygrid_dispatch", *args]
    return [
        subprocess.Popen(
            command,
            env=environ,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]


def run_dispatchers(
    count: int, base_url: str, *args: str, env: dict[str, str] | None = None
) -> list[subprocess.CompletedProcess[str]]:
    """Run ``count`` ``manage.py waygrid_dispatch`` processes at once on the test database."""
    processes = start_dispatchers(count, base_url, *args, env=env)
    command = processes[0].args
    done = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(command, process.returncode, out, err))
    return done
