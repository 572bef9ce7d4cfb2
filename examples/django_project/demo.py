"""Run the Django example against a Waygrid server: migrate, submit through the view, dispatch.

``make demo`` calls `run_demo` with the dev server's URL. Alone::

    python -m examples.django_project.demo [BASE_URL]  # else a dev server on a free port

The project runs in a child process (Django's settings are per process), on a temporary SQLite
database, served by Django's threaded WSGI server on a free loopback port.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

__all__ = ["run_demo"]

PROJECT = Path(__file__).resolve().parent
ROOT = PROJECT.parent.parent


def run_demo(base_url: str) -> None:
    """Run the example project against the Waygrid server at ``base_url`` and print the rows.

    Raises:
        subprocess.CalledProcessError: The demo failed (its output says why).
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(PROJECT)])}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    command = [sys.executable, "-m", "examples.django_project.demo", "--child", base_url]
    sys.stdout.flush()
    subprocess.run(command, cwd=ROOT, env=env, check=True)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _child(base_url: str) -> None:
    """The demo itself, in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(
            DJANGO_SETTINGS_MODULE="example_project.settings",
            DATABASE_URL=f"sqlite:///{tmp}/demo.sqlite3",
            WAYGRID_BASE_URL=base_url,
            WAYGRID_OUTBOX_BACKOFF="0",  # the demo's "later" is right away
        )
        import django

        django.setup()
        from django.core.management import call_command

        print("$ manage.py migrate")
        call_command("migrate", verbosity=0)
        print("  migrated a temporary SQLite database")
        _with_server(_steps)


def _with_server(steps: Callable[[httpx.Client], None]) -> None:
    import httpx
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet)
    server.set_app(get_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    print(f"  serving the project at {url} (Django's threaded WSGI server)")
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            steps(http)
    finally:
        server.shutdown()
        server.server_close()


def _show(response: httpx.Response) -> None:
    print(f"  -> {response.status_code} {response.text}")


def _steps(http: httpx.Client) -> None:
    from django.core.management import call_command
    from django.test.utils import override_settings

    print("\n$ POST /workflow/start/  (JSON)")
    _show(http.post("/workflow/start/", json={"orderId": 42, "text": "Summarize order 42."}))
    print("\n$ POST /workflow/start/  (form)")
    _show(http.post("/workflow/start/", data={"orderId": "43", "channel": "form"}))

    down = f"http://127.0.0.1:{_closed_port()}"
    print(f"\n# Waygrid is unreachable (WAYGRID_BASE_URL={down}, a closed port):")
    with override_settings(WAYGRID_BASE_URL=down):
        for order in (44, 45):
            print(f"$ POST /workflow/start/  (JSON, order {order})")
            _show(http.post("/workflow/start/", json={"orderId": order}))
    _print_rows("The outbox now")

    print(f"\n# Waygrid is reachable again ({os.environ['WAYGRID_BASE_URL']}):")
    print("$ manage.py waygrid_dispatch --once")
    call_command("waygrid_dispatch", "--once")
    _print_rows("The outbox after dispatch")


def _print_rows(title: str) -> None:
    from waygrid_django.models import Submission

    print(f"\n{title}:")
    header = (
        f"{'id':>3}  {'status':<9}  {'tries':>5}  {'traversal id':<26}  {'dagHash':<16}  payload"
    )
    print(header)
    print("-" * len(header))
    for row in Submission.objects.order_by("pk"):
        print(
            f"{row.pk:>3}  {row.status:<9}  {row.attempts:>5}  {row.traversal_id or '-':<26}  "
            f"{row.dag_hash or '-':<16}  {json.dumps(row.payload)}"
        )
        if row.last_error and row.status != Submission.Status.SUBMITTED:
            print(
                textwrap.fill(
                    row.last_error,
                    100,
                    initial_indent="     last error: ",
                    subsequent_indent=" " * 17,
                )
            )


def main() -> None:
    """``python -m examples.django_project.demo [BASE_URL]``."""
    args = sys.argv[1:]
    if args[:1] == ["--child"]:
        sys.path.insert(0, str(PROJECT))
        _child(args[1])
    elif args:
        run_demo(args[0])
    else:
        from waygrid.testing import DevServer

        with DevServer() as server:
            run_demo(server.base_url)
            print(f"\nthe dev server holds {len(server.traversals())} traversals")


if __name__ == "__main__":
    main()
