"""The dev server's shared state: settings, storage, counters, connections and injected faults."""

from __future__ import annotations

import asyncio
import hmac
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from .._version import __version__
from ._runs import Runs
from ._store import TraversalStore
from ._ulid import UlidGenerator

__all__ = ["DevState", "Fault"]


@dataclass(frozen=True, slots=True)
class Fault:
    """A failure to play on one future ``POST /v1/ingest`` request."""

    kind: Literal["status", "drop"]
    """``status``: answer ``status``; ``drop``: close the connection without an answer."""
    status: int = 503
    """For ``status`` faults: the HTTP status."""
    retry_after: float | None = None
    """For ``status`` faults: the ``Retry-After`` header in seconds, if any."""
    after_processing: bool = False
    """For ``drop`` faults: start the traversal first (the answer is lost, not the request)."""


def utc_now_text() -> str:
    """Now as ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Planned:
    """``remaining`` more plays of one fault: a plan's memory is constant, whatever its count."""

    __slots__ = ("fault", "remaining")

    def __init__(self, fault: Fault, remaining: int) -> None:
        self.fault = fault
        self.remaining = remaining


class _Connection:
    __slots__ = ("closed", "protocol")

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol
        self.closed = asyncio.Event()


class DevState:
    """Everything one dev server app shares between requests (thread-safe).

    Reach it with `waygrid.devserver.get_state(app)`; `waygrid.testing.DevServer` wraps it.
    """

    def __init__(
        self,
        *,
        strict: bool,
        api_key: str | None,
        db_path: str | os.PathLike[str] | None,
        max_body_bytes: int,
        run: bool = True,
        speed: float = 1.0,
        script: object = None,
    ) -> None:
        if max_body_bytes < 1:
            raise ValueError("max_body_bytes must be at least 1")
        self.runs = Runs(enabled=run, speed=speed, script=script)
        """The simulated runs of the traversals (replayed on the real clock)."""
        self.strict = strict
        """Reject JSON-pointer conditions like today's server."""
        self.max_body_bytes = max_body_bytes
        """Largest accepted request body, in bytes."""
        self.store = TraversalStore(db_path)
        """The traversals."""
        self.ulids = UlidGenerator()
        """Traversal ids."""
        self.node_id = self.ulids.new()
        self.started_at = utc_now_text()
        self._started = time.monotonic()
        self._api_key = None if api_key is None else api_key.encode("utf-8")
        self._lock = threading.Lock()
        self._faults: deque[_Planned] = deque()
        self._pending_faults = 0
        self._connections: dict[Any, _Connection] = {}
        self.connections_accepted = 0
        """TCP connections accepted since start or the last reset (0 when run in-process)."""
        self.ingest_requests = 0
        """``POST /v1/ingest`` requests received since start or the last reset."""

    @property
    def requires_api_key(self) -> bool:
        """Whether requests need ``Authorization: Bearer <api key>``."""
        return self._api_key is not None

    def authorized(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header carries the API key (constant-time compare)."""
        if self._api_key is None:
            return True
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(token.strip().encode("utf-8", "surrogateescape"), self._api_key)

    # --- Faults --------------------------------------------------------------------------------

    def fail_next(
        self, count: int = 1, *, status: int = 503, retry_after: float | None = None
    ) -> None:
        """Answer the next ``count`` ingest requests with ``status`` (and ``Retry-After``)."""
        if not 400 <= status <= 599:
            raise ValueError(f"status must be an HTTP error status (4xx/5xx), got {status}")
        if retry_after is not None and not retry_after >= 0:
            raise ValueError("retry_after must be a number of seconds >= 0")
        self._add_faults(count, Fault("status", status=status, retry_after=retry_after))

    def drop_next(self, count: int = 1, *, after_processing: bool = False) -> None:
        """Close the connection of the next ``count`` ingest requests without answering.

        With ``after_processing`` the traversal is started first, as when a server crashes while
        answering; a client retrying with the same ``Idempotency-Key`` then gets that traversal.
        Needs a real connection (uvicorn); an in-process app answers 502 instead.
        """
        self._add_faults(count, Fault("drop", after_processing=after_processing))

    def _add_faults(self, count: int, fault: Fault) -> None:
        if count < 0:
            raise ValueError("count must be >= 0")
        if count == 0:
            return
        with self._lock:
            if self._faults and self._faults[-1].fault == fault:
                self._faults[-1].remaining += count
            else:
                self._faults.append(_Planned(fault, count))
            self._pending_faults += count

    def next_fault(self) -> Fault | None:
        """Take the next injected fault, if one is pending."""
        with self._lock:
            if not self._faults:
                return None
            planned = self._faults[0]
            planned.remaining -= 1
            if planned.remaining == 0:
                self._faults.popleft()
            self._pending_faults -= 1
            return planned.fault

    @property
    def pending_faults(self) -> int:
        """How many injected faults are still to be played."""
        return self._pending_faults

    # --- Counters, connections -----------------------------------------------------------------

    def count_ingest_request(self) -> None:
        """Count one ``POST /v1/ingest``."""
        with self._lock:
            self.ingest_requests += 1

    def connection_made(self, client: Any, protocol: Any) -> None:
        """A TCP connection was accepted (called by the uvicorn protocol, on the event loop)."""
        with self._lock:
            self.connections_accepted += 1
            self._connections[client] = _Connection(protocol)

    def connection_lost(self, client: Any) -> None:
        """A TCP connection closed (called by the uvicorn protocol, on the event loop)."""
        with self._lock:
            connection = self._connections.pop(client, None)
        if connection is not None:
            connection.closed.set()

    @property
    def connections_open(self) -> int:
        """TCP connections open right now."""
        with self._lock:
            return len(self._connections)

    async def abort_connection(self, client: Any) -> bool:
        """Reset the connection of ``client`` (the ASGI scope's ``client``) and wait until closed.

        Returns False when the request did not come over a connection this server accepted.
        """
        with self._lock:
            connection = self._connections.get(None if client is None else tuple(client))
        if connection is None:
            return False
        connection.protocol.transport.abort()
        await connection.closed.wait()
        return True

    def reset(self) -> None:
        """Forget traversals, runs, idempotency keys, pending faults and the counters.

        The run-time script goes back to the start-up one.
        """
        self.store.clear()
        self.runs.clear()
        with self._lock:
            self._faults.clear()
            self._pending_faults = 0
            self.connections_accepted = 0
            self.ingest_requests = 0

    def close(self) -> None:
        """Close the storage; the state is unusable afterwards."""
        self.store.close()

    # --- What the info routes answer ---------------------------------------------------------

    def uptime_ms(self) -> int:
        """Milliseconds since the app was created."""
        return int((time.monotonic() - self._started) * 1000)

    def home(self) -> dict[str, Any]:
        """``GET /``: the node info the real server's HomeResource answers."""
        return {
            "id": self.node_id,
            "service": "http",
            "component": "origin",
            "clusterId": "waygrid-dev",
            "region": "eu-local-1",
            "address": f"waygrid://origin/http?nodeId={self.node_id}",
            "startedAt": self.started_at,
            "uptime": self.uptime_ms(),
        }

    def health(self) -> dict[str, Any]:
        """``GET /_dev/health``: settings and counters."""
        return {
            "status": "ok",
            "version": __version__,
            "strict": self.strict,
            "auth": self.requires_api_key,
            "storage": self.store.path or ":memory:",
            "max_body_bytes": self.max_body_bytes,
            "run": self.runs.enabled,
            "speed": self.runs.speed,
            "traversals": self.store.count(),
            "ingest_requests": self.ingest_requests,
            "connections_accepted": self.connections_accepted,
            "connections_open": self.connections_open,
            "pending_faults": self.pending_faults,
            "started_at": self.started_at,
            "uptime_ms": self.uptime_ms(),
        }
