"""Serving an ASGI app with uvicorn in a daemon thread, on a loopback port (the one helper)."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn


class UvicornThread:
    """``app`` served by uvicorn in a daemon thread on ``127.0.0.1`` and a free port.

    ``with UvicornThread(app) as server:`` (or `start` / `stop`) serves at ``server.url``; the
    listening socket is bound before the thread starts, so the port is never raced for.
    """

    def __init__(self, app: Any, *, name: str = "uvicorn", **config: Any) -> None:
        """Bind the port; ``config`` goes to ``uvicorn.Config`` (quiet, no lifespan by default)."""
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        options = {"lifespan": "off", "log_level": "critical", "access_log": False, **config}
        self._server = uvicorn.Server(uvicorn.Config(app, **options))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name=name, daemon=True
        )

    def start(self) -> UvicornThread:
        """Serve; returns once uvicorn accepts connections (at most 10 s)."""
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()

    def __enter__(self) -> UvicornThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
