"""Serve the example app on loopback, call its endpoints against a Waygrid server, print results.

``make demo`` calls `run_demo` with the dev server's URL. Alone::

    python -m examples.fastapi_app.demo [BASE_URL]  # else $WAYGRID_BASE_URL, else a dev server
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from starlette.types import ASGIApp

from waygrid_fastapi import WaygridSettings

from .main import create_app

__all__ = ["run_demo", "serve"]

_REQUESTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("/workflow/start", {"orderId": 42, "text": "Summarize this order for the customer."}),
    ("/workflow/quorum", {"question": "Which provider answers first?"}),
)
_BURST = 20


@contextmanager
def serve(app: ASGIApp, *, host: str = "127.0.0.1", log_level: str = "warning") -> Iterator[str]:
    """Serve an ASGI app with uvicorn (lifespan on) in a background thread.

    Args:
        app: The app, e.g. ``create_app(...)`` or ``examples.fastapi_app.per_request.app``.
        host: Loopback interface to listen on; the port is a free one.
        log_level: uvicorn's log level.

    Yields:
        The app's base URL, e.g. ``http://127.0.0.1:53117``; the server stops (and the app's
        lifespan shuts down) when the block exits.

    Raises:
        RuntimeError: The app did not start within 10 s (e.g. its lifespan failed).
    """
    # IPPROTO_TCP, not 0: asyncio only sets TCP_NODELAY on connections accepted from a socket
    # whose proto says TCP; without it every response waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="on", log_level=log_level, access_log=False)
    server = uvicorn.Server(config)

    def run() -> None:
        # uvicorn exits when the app's lifespan fails; the wait below reports it.
        with contextlib.suppress(SystemExit):
            server.run(sockets=[sock])

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10.0
    try:
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the app did not start (see the log above)")
            time.sleep(0.005)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(10.0)
        sock.close()


def _dev_get(http: httpx.Client, path: str) -> dict[str, Any] | None:
    """A ``/_dev/`` document from the dev server, or None (a real server has no such routes)."""
    try:
        response = http.get(path)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    document: dict[str, Any] = response.json()
    return document


def run_demo(base_url: str) -> None:
    """Start the example app against ``base_url``, call its endpoints and print what happens.

    Args:
        base_url: The Waygrid server, e.g. the ``waygrid dev`` URL ``http://127.0.0.1:1337``.
            The other settings (``WAYGRID_API_KEY``, ...) come from the environment.
    """
    settings = WaygridSettings(base_url=base_url)
    with httpx.Client(base_url=base_url, timeout=10.0) as waygrid:
        before = _dev_get(waygrid, "/_dev/health")
        with (
            serve(create_app(settings)) as app_url,
            httpx.Client(base_url=app_url, timeout=60.0) as http,
        ):
            print(f"Example FastAPI app on {app_url}, submitting to Waygrid at {base_url}")
            for path, body in _REQUESTS:
                response = http.post(path, json=body)
                print(f"\nPOST {path} {json.dumps(body)}")
                print(f"  -> {response.status_code} {response.text}")
                traversal_id = response.json().get("traversal_id")
                detail = _dev_get(waygrid, f"/_dev/traversals/{traversal_id}")
                if detail is not None:
                    dag = detail["dag"]
                    print(
                        f"  dev server stored {traversal_id}: dagHash {dag['dagHash']}, "
                        f"{len(dag['nodes'])} nodes, {len(dag['edges'])} edges, "
                        f"payload {json.dumps(detail['payload'])}"
                    )
            started = time.perf_counter()
            codes = [http.post("/workflow/start", json={"n": n}).status_code for n in range(_BURST)]
            elapsed = time.perf_counter() - started
            print(
                f"\n{_BURST} more POST /workflow/start: statuses {sorted(set(codes))}, "
                f"{elapsed * 1000 / _BURST:.1f} ms each"
            )
        after = _dev_get(waygrid, "/_dev/health")
        deadline = time.monotonic() + 1.0  # the server hears of closed connections a bit later
        while after is not None and after["connections_open"] > 1 and time.monotonic() < deadline:
            time.sleep(0.01)
            after = _dev_get(waygrid, "/_dev/health")
    if before is not None and after is not None:
        opened = after["connections_accepted"] - before["connections_accepted"]
        submits = after["ingest_requests"] - before["ingest_requests"]
        # The demo's own connection for these /_dev/ reads is the one still open.
        still_open = after["connections_open"] - 1
        print(
            f"The app's one WaygridClient used {opened} TCP connection(s) for {submits} submits; "
            f"{still_open} of them still open after the app shut down."
        )


def main(argv: list[str]) -> None:
    """``python -m examples.fastapi_app.demo [BASE_URL]``."""
    import os

    url = argv[0] if argv else os.environ.get("WAYGRID_BASE_URL", "")
    if url:
        run_demo(url)
        return
    from waygrid.testing import DevServer

    with DevServer() as server:
        print(f"Waygrid dev server on {server.base_url}")
        run_demo(server.base_url)


if __name__ == "__main__":
    main(sys.argv[1:])
