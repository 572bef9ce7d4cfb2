"""Serving an ASGI app with uvicorn in a daemon thread, on a loopback port.

The thread itself is the dev server's `ServerThread` (the loop `waygrid.testing.DevServer` runs
on); this adds uvicorn options for any app and the context-manager form the tests use.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import uvicorn

from waygrid.devserver._server import ServerThread, bind_socket, url_for

_TIMEOUT = 10.0


class UvicornThread:
    """``app`` served by uvicorn in a daemon thread on ``127.0.0.1`` and a free port.

    ``with UvicornThread(app) as server:`` (or `start` / `stop`) serves at ``server.url``; the
    listening socket is bound before the thread starts, so the port is never raced for.
    """

    def __init__(self, app: Any, *, name: str = "uvicorn", **config: Any) -> None:
        """Bind the port; ``config`` goes to ``uvicorn.Config`` (quiet, no lifespan by default)."""
        sock = bind_socket("127.0.0.1", 0)
        self.port: int = sock.getsockname()[1]
        self.url = url_for(sock)
        options = {"lifespan": "off", "log_level": "critical", "access_log": False, **config}
        self._runner = ServerThread(uvicorn.Server(uvicorn.Config(app, **options)), sock, name=name)

    def start(self) -> UvicornThread:
        """Serve; returns once uvicorn accepts connections (at most 10 s)."""
        self._runner.start(_TIMEOUT)
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._runner.stop(_TIMEOUT)

    def __enter__(self) -> UvicornThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
