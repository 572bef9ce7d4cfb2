"""Running the app with uvicorn: a protocol that counts connections, and a foreground run."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import uvicorn
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from ._app import get_state

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from ._state import DevState

__all__ = ["ServerThread", "bind_socket", "make_server", "serve", "url_for"]


def _counting_protocol(state: DevState) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol, telling ``state`` about each connection (for counts and drops)."""
    base: Any = AutoHTTPProtocol

    class CountingProtocol(base):  # type: ignore[misc]
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            state.connection_made(self.client, self)

        def connection_lost(self, exc: Exception | None) -> None:
            state.connection_lost(self.client)
            super().connection_lost(exc)

    return CountingProtocol


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (0 picks a free port)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def url_for(sock: socket.socket) -> str:
    """``http://host:port`` of a bound socket."""
    host, port = sock.getsockname()[:2]
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


class _Server(uvicorn.Server):
    """uvicorn's server, calling ``on_started`` once it accepts connections."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None] | None) -> None:
        super().__init__(config)
        self.on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.on_started is not None:
            self.on_started()


def make_server(
    app: Starlette,
    *,
    log_level: str = "warning",
    access_log: bool = False,
    on_started: Callable[[], None] | None = None,
) -> uvicorn.Server:
    """A uvicorn server for a `create_app` app that counts the TCP connections it accepts."""
    config = uvicorn.Config(
        app,
        http=_counting_protocol(get_state(app)),
        lifespan="off",
        log_level=log_level,
        access_log=access_log,
        timeout_graceful_shutdown=3,
        backlog=2048,
    )
    return _Server(config, on_started)


class ServerThread:
    """A uvicorn ``server`` serving on a bound ``sock`` in a daemon thread (the one such loop:
    `waygrid.testing.DevServer` and the test suite's servers both run on it)."""

    def __init__(self, server: uvicorn.Server, sock: socket.socket, *, name: str) -> None:
        """Prepare the thread; nothing runs until `start`."""
        self.server = server
        self.socket = sock
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True
        )

    @property
    def alive(self) -> bool:
        """Whether the thread is serving."""
        return self._thread.is_alive()

    def start(self, timeout: float) -> None:
        """Serve, returning once uvicorn accepts connections.

        Raises:
            RuntimeError: when it has not started within ``timeout`` seconds or its thread
                ended (uvicorn has logged why); the thread is stopped and the socket closed.
        """
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop(timeout)
                raise RuntimeError("uvicorn did not start (see the log above)")
            time.sleep(0.002)

    def stop(self, timeout: float) -> None:
        """Ask uvicorn to exit, wait up to ``timeout`` seconds for the thread, close the socket."""
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self.socket.close()


def serve(
    app: Starlette,
    *,
    host: str,
    port: int,
    announce: Callable[[str], None],
    log_level: str = "warning",
    access_log: bool = False,
) -> None:
    """Serve ``app`` in the foreground until SIGINT/SIGTERM; ``announce(url)`` once listening.

    Raises:
        OSError: when the address cannot be bound (in use, not local, ...).
    """
    sock = bind_socket(host, port)
    url = url_for(sock)
    server = make_server(
        app, log_level=log_level, access_log=access_log, on_started=lambda: announce(url)
    )
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        get_state(app).close()
