"""Test helpers: the dev server on a loopback port or in-process, and pytest fixtures for both.

Outside pytest, run the dev server in a background thread::

    from waygrid.testing import DevServer

    with DevServer() as server:  # a free port on 127.0.0.1
        async with server.client() as client:  # a WaygridClient for server.base_url
            result = await client.submit(spec)
        assert server.traversals()[0].traversal_id == result.traversal_id

In pytest, enable the plugin (``pytest_plugins = ["waygrid.testing"]`` in the root
``conftest.py``) and ask for a fixture:

* ``waygrid_server``: a `DevServer` shared by the whole session (started on first use), reset
  before each test: no traversals, idempotency keys, pending faults or counts from other tests.
  It replays traversals at `TEST_SPEED` times real time, so ``wait_for_status`` is quick.
* ``waygrid_app``: a fresh in-process `DevApp` per test: no sockets, requests go through
  ``httpx.ASGITransport``.

Both need the ``server`` extra (Starlette, uvicorn). pytest is not a dependency of the SDK: the
fixtures are only defined when pytest is installed, and `DevServer` works without it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from .devserver import DEFAULT_MAX_BODY_BYTES, DevState, Traversal, create_app, get_state
from .devserver._runs import FINAL_STATUSES

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from .client import WaygridClient
    from .devserver._server import ServerThread
    from .simulate import Simulation

__all__ = ["TEST_SPEED", "DevApp", "DevServer"]

_START_TIMEOUT = 10.0
TEST_SPEED = 1_000_000.0
"""The replay speed of the ``waygrid_server`` fixture: a virtual hour takes 3.6 ms."""


class _Handle:
    """What both ways of running the dev server offer: its state, traversals, faults, clients."""

    app: Starlette
    """The ASGI app."""
    base_url: str
    """Where clients send requests (``/v1/ingest`` is appended by `WaygridClient`)."""
    api_key: str | None
    """The API key the server requires, if any."""

    @property
    def url(self) -> str:
        """The same as `base_url`."""
        return self.base_url

    @property
    def state(self) -> DevState:
        """The app's state: storage, counters, faults."""
        return get_state(self.app)

    def traversals(self) -> list[Traversal]:
        """Every traversal stored, oldest first (``.spec``, ``.payload``, ``.dag_hash``, ...)."""
        return self.state.store.list()

    def traversal(self, traversal_id: str) -> Traversal | None:
        """The traversal with this id, or None."""
        return self.state.store.get(traversal_id)

    def reset(self) -> None:
        """Forget traversals, runs, idempotency keys, pending faults and counters.

        The script goes back to the one given at start-up.
        """
        self.state.reset()

    # --- Runs ----------------------------------------------------------------------------------

    def set_script(self, script: Mapping[str, object]) -> None:
        """Node outcomes for traversals accepted from now on, like ``PUT /_dev/script``.

        Raises:
            ValueError: a bad script (the message has the path).

        Example:
            >>> server.set_script({"charge": ["fail", "ok"]})  # doctest: +SKIP
        """
        self.state.runs.set_script(script)

    def run(self, traversal_id: str) -> dict[str, Any]:
        """The traversal's run as of now: what ``GET /_dev/traversals/{id}/run`` answers.

        Raises:
            KeyError: no traversal has this id.
        """
        return self.state.runs.view(self._get(traversal_id))

    def simulation(self, traversal_id: str) -> Simulation | None:
        """The traversal's whole simulated run (None when it could not be simulated).

        Raises:
            KeyError: no traversal has this id.
        """
        return self.state.runs.simulation(self._get(traversal_id))

    def wait_for_status(self, traversal_id: str, *, timeout: float = 10.0) -> str:
        """Wait until the replay of the traversal ends; returns its final status.

        The status is ``completed``, ``failed``, ``canceled``, ``stalled`` or ``not
        simulated``. Run the server fast (``speed=``; the ``waygrid_server`` fixture does) so
        that virtual delays do not take real time.

        Raises:
            KeyError: no traversal has this id.
            TimeoutError: the replay is still running after ``timeout`` seconds.
        """
        traversal = self._get(traversal_id)
        deadline = time.monotonic() + timeout
        while True:
            status = str(self.state.runs.view(traversal)["status"])
            if status in FINAL_STATUSES:
                return status
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"traversal {traversal_id} is still running after {timeout} s "
                    f"(speed {self.state.runs.speed:g}x)"
                )
            time.sleep(0.005)

    def _get(self, traversal_id: str) -> Traversal:
        traversal = self.state.store.get(traversal_id)
        if traversal is None:
            raise KeyError(f"no traversal with id {traversal_id!r}")
        return traversal

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted since start or the last `reset` (always 0 in-process)."""
        return self.state.connections_accepted

    @property
    def ingest_requests(self) -> int:
        """``POST /v1/ingest`` requests received since start or the last `reset`."""
        return self.state.ingest_requests

    def fail_next(
        self, count: int = 1, *, status: int = 503, retry_after: float | None = None
    ) -> None:
        """Answer the next ``count`` ingest requests with ``status`` (and ``Retry-After``).

        The failing requests start no traversal, as when a proxy in front of the server fails.
        """
        self.state.fail_next(count, status=status, retry_after=retry_after)

    def drop_next(self, count: int = 1, *, after_processing: bool = False) -> None:
        """Close the connection of the next ``count`` ingest requests without an answer.

        Args:
            count: How many requests.
            after_processing: Start the traversal first, so only the answer is lost; a client
                that retries with the same ``Idempotency-Key`` then gets that traversal back.
                Dropping needs a real connection: in-process (`DevApp`) the request gets a 502.
        """
        self.state.drop_next(count, after_processing=after_processing)

    def _transport(self) -> httpx.AsyncBaseTransport | None:
        return None

    def client(self, **options: Any) -> WaygridClient:
        """A `WaygridClient` for this server (with its API key); close it with ``async with``.

        Args:
            **options: More `WaygridClient` arguments (``max_retries``, ``timeout``, ...).
        """
        from .client import WaygridClient

        options.setdefault("api_key", self.api_key)
        transport = self._transport()
        if transport is not None:
            options.setdefault("transport", transport)
        return WaygridClient(self.base_url, **options)

    def http_client(self, **options: Any) -> httpx.AsyncClient:
        """A plain ``httpx.AsyncClient`` with ``base_url`` set; close it with ``async with``."""
        transport = self._transport()
        if transport is not None:
            options.setdefault("transport", transport)
        return httpx.AsyncClient(base_url=self.base_url, **options)


class DevServer(_Handle):
    """The dev server on a loopback port, served by uvicorn in a background thread.

    Use it as a context manager, or call `start` and `stop`. The keyword arguments are those of
    `waygrid.devserver.create_app`, plus where to listen.

    Args:
        host: Interface to listen on.
        port: TCP port; 0 picks a free one (see `port` once started).
        strict: Reject JSON-pointer conditions, like today's server.
        api_key: Require ``Authorization: Bearer <api_key>``.
        db_path: Keep traversals in this SQLite file (they survive a restart); None keeps them
            in memory.
        max_body_bytes: Larger request bodies get 413.
        run: Simulate and replay each accepted traversal (False: store only).
        speed: Virtual seconds per real second of the replay.
        script: Node outcomes by node name for every traversal (default: all succeed).
        log_level: uvicorn's log level.

    Example:
        >>> with DevServer(strict=True) as server:  # doctest: +SKIP
        ...     httpx.get(server.base_url + "/_dev/health").json()["strict"]
        True
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        strict: bool = False,
        api_key: str | None = None,
        db_path: str | os.PathLike[str] | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        run: bool = True,
        speed: float = 1.0,
        script: Mapping[str, object] | None = None,
        log_level: str = "warning",
    ) -> None:
        self.host = host
        self.api_key = api_key
        self.app = create_app(
            strict=strict,
            api_key=api_key,
            db_path=db_path,
            max_body_bytes=max_body_bytes,
            run=run,
            speed=speed,
            script=script,
        )
        self._requested_port = port
        self._log_level = log_level
        self._runner: ServerThread | None = None
        self._stopped = False
        self.port = 0
        """The port it listens on (known once started)."""
        self.base_url = ""

    def start(self) -> DevServer:
        """Start listening; returns once the server accepts connections.

        Raises:
            RuntimeError: when it is already running or does not start within 10 seconds.
            OSError: when the address cannot be bound.
        """
        from .devserver._server import ServerThread, bind_socket, make_server, url_for

        if self._runner is not None:
            raise RuntimeError("this DevServer was already started")
        sock = bind_socket(self.host, self._requested_port)
        self.port = sock.getsockname()[1]
        self.base_url = url_for(sock)
        self._runner = ServerThread(
            make_server(self.app, log_level=self._log_level),
            sock,
            name=f"waygrid-dev-server:{self.port}",
        )
        try:
            self._runner.start(_START_TIMEOUT)
        except RuntimeError:
            self._stopped = True
            self.state.close()
            raise RuntimeError("the Waygrid dev server did not start (see the log above)") from None
        return self

    def stop(self) -> None:
        """Stop serving and close the storage (idempotent)."""
        if self._runner is not None and not self._stopped:
            self._stopped = True
            self._runner.stop(_START_TIMEOUT)
            self.state.close()

    @property
    def running(self) -> bool:
        """Whether the server thread is serving."""
        return self._runner is not None and not self._stopped and self._runner.alive

    def __enter__(self) -> DevServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.base_url or "not started"
        return f"<DevServer {where}>"


class DevApp(_Handle):
    """The dev server app in-process: no sockets, requests go through ``httpx.ASGITransport``.

    Takes the keyword arguments of `waygrid.devserver.create_app`.

    Example:
        >>> dev = DevApp()
        >>> async with dev.client() as client:  # doctest: +SKIP
        ...     result = await client.submit(spec)
    """

    def __init__(self, **options: Any) -> None:
        self.api_key = options.get("api_key")
        self.app = create_app(**options)
        self.base_url = "http://waygrid.test"

    def _transport(self) -> httpx.AsyncBaseTransport:
        return httpx.ASGITransport(app=self.app)

    def transport(self) -> httpx.ASGITransport:
        """A new ``httpx.ASGITransport`` for the app."""
        return httpx.ASGITransport(app=self.app)

    def close(self) -> None:
        """Close the storage."""
        self.state.close()

    def __repr__(self) -> str:
        return "<DevApp in-process>"


# --- The pytest plugin ----------------------------------------------------------------------------

try:
    import pytest
except ModuleNotFoundError:  # pragma: no cover - pytest is optional
    pass
else:

    @pytest.fixture(scope="session")
    def waygrid_dev_server() -> Iterator[DevServer]:
        """The session's dev server on a free 127.0.0.1 port (not reset: use `waygrid_server`)."""
        with DevServer(speed=TEST_SPEED) as server:
            yield server

    @pytest.fixture
    def waygrid_server(waygrid_dev_server: DevServer) -> DevServer:
        """The session's `DevServer`, reset for this test.

        Example:
            >>> async def test_submit(waygrid_server):  # doctest: +SKIP
            ...     async with waygrid_server.client() as client:
            ...         await client.submit(spec)
            ...     assert len(waygrid_server.traversals()) == 1
        """
        waygrid_dev_server.reset()
        return waygrid_dev_server

    @pytest.fixture
    def waygrid_app() -> Iterator[DevApp]:
        """A fresh in-process `DevApp` for this test (``.client()``, ``.http_client()``)."""
        dev = DevApp()
        yield dev
        dev.close()
