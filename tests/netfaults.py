"""A small misbehaving Waygrid stand-in on loopback, for tests of slow, trickling, huge and proxy
answers.

A raw asyncio server (no HTTP framework, so it can misbehave at the byte level) runs in a thread on
``127.0.0.1`` and an ephemeral port. It reads each HTTP/1.1 request in full, records it, and then
plays a *behaviour*: the next one queued with `FaultServer.queue`, else the server's default.

Like today's real server it ignores ``Idempotency-Key``: every request it answers successfully is a
new traversal, so `FaultServer.key_counts` tells how many times each key reached "Waygrid".

Example::

    with fault_server(Slow(1.5)) as server:          # every answer correct, after 1.5 s
        client = WaygridClient(server.url, timeout=2)
        ...
        assert set(server.key_counts().values()) == {1}
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = [
    "Answer",
    "FaultServer",
    "Hang",
    "HugeBody",
    "ProxyStatus",
    "Received",
    "Slow",
    "Trickle",
    "fault_server",
]

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    421: "Misdirected Request",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


@dataclass(frozen=True)
class Slow:
    """Answer correctly (200 and a new traversal), after ``seconds``. ``Slow(0)`` is a healthy
    server. The request counts as processed as soon as it is read, even if the client gives up."""

    seconds: float = 0.0


@dataclass(frozen=True)
class Trickle:
    """Send a correct 200 answer ``chunk`` bytes at a time, one chunk every ``interval`` seconds,
    status line and headers included (``headers_first=True`` sends those at once and trickles only
    the body, which is then padded to ``body_bytes`` with spaces)."""

    interval: float = 0.5
    chunk: int = 1
    headers_first: bool = False
    body_bytes: int = 0


@dataclass(frozen=True)
class HugeBody:
    """Answer ``status`` with a body of ``size`` bytes, generated lazily in 64 KiB pieces (never
    held in memory). With ``status=200`` the body starts like a success answer and never ends it."""

    size: int = 150 * 1024 * 1024
    status: int = 500
    content_type: str = "application/json"
    chunked: bool = False


@dataclass(frozen=True)
class ProxyStatus:
    """What an ingress with no ready backend answers: ``status`` with an nginx-style HTML page
    (``body`` None) or the given body; nothing reaches Waygrid."""

    status: int = 404
    body: bytes | None = None
    content_type: str = "text/html"

    def page(self) -> bytes:
        """The body to send."""
        if self.body is not None:
            return self.body
        title = f"{self.status} {_REASONS.get(self.status, 'Error')}"
        return (
            f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
            "</body>\r\n</html>\r\n"
        ).encode()


@dataclass(frozen=True)
class Answer:
    """Answer exactly this: ``status``, ``body`` bytes and extra ``headers``."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Hang:
    """Read the request and never answer (the connection stays open until the client gives up)."""


Behaviour = Slow | Trickle | HugeBody | ProxyStatus | Answer | Hang


@dataclass(frozen=True)
class Received:
    """One request as the server read it."""

    method: str
    path: str
    headers: dict[str, str]
    """Lower-cased names."""
    body: bytes
    at: float
    """``time.monotonic()`` when the request was read in full."""
    behaviour: Behaviour

    @property
    def idempotency_key(self) -> str | None:
        """The request's ``Idempotency-Key`` header, if it had one."""
        return self.headers.get("idempotency-key")


class FaultServer:
    """The running server: its URL, what it received, and the behaviours to play next."""

    def __init__(self, default: Behaviour) -> None:
        self.default: Behaviour = default
        """The behaviour for requests when nothing is queued; may be replaced at any time."""
        self.url = ""
        self._lock = threading.Lock()
        self._queued: list[Behaviour] = []
        self._received: list[Received] = []
        self._traversals = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.bytes_sent = 0
        """Bytes of answers written so far (bodies and headers), across all connections."""

    # --- what tests use ---------------------------------------------------------------------------

    def queue(self, *behaviours: Behaviour) -> None:
        """Play these behaviours, in order, for the next requests; then the default again."""
        with self._lock:
            self._queued.extend(behaviours)

    def reset(self, default: Behaviour | None = None) -> None:
        """Forget what was received and queued (and set a new default, if given)."""
        with self._lock:
            self._queued.clear()
            self._received.clear()
            self._traversals = 0
            self.bytes_sent = 0
            if default is not None:
                self.default = default

    @property
    def requests(self) -> list[Received]:
        """Every request read so far, in order."""
        with self._lock:
            return list(self._received)

    @property
    def keys(self) -> list[str | None]:
        """The ``Idempotency-Key`` of every request read so far, in order."""
        return [r.idempotency_key for r in self.requests]

    def key_counts(self) -> Counter[str | None]:
        """How many requests carried each ``Idempotency-Key``: 1 everywhere means no duplicate."""
        return Counter(self.keys)

    @property
    def traversals(self) -> int:
        """How many traversals a real server would have started (requests played by `Slow` or
        `Trickle`, counted when read, whether or not the answer got through)."""
        with self._lock:
            return self._traversals

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Block until ``count`` requests were read (AssertionError after ``timeout`` s)."""
        deadline = time.monotonic() + timeout
        while True:
            requests = self.requests
            if len(requests) >= count:
                return requests
            assert time.monotonic() < deadline, f"{len(requests)} of {count} requests arrived"
            time.sleep(0.01)

    # --- the server ---------------------------------------------------------------------------------

    def _next(self) -> Behaviour:
        with self._lock:
            return self._queued.pop(0) if self._queued else self.default

    def _record(self, received: Received) -> None:
        with self._lock:
            self._received.append(received)
            if isinstance(received.behaviour, (Slow, Trickle)):
                self._traversals += 1

    async def _write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        await writer.drain()
        with self._lock:
            self.bytes_sent += len(data)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:  # the server is stopping: end quietly
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; True to keep the connection for another."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = [*lines[0].split(" ", 2), "", ""][:3]
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0") or "0"))
        behaviour = self._next()
        self._record(Received(method, path, headers, body, time.monotonic(), behaviour))
        if isinstance(behaviour, Hang):
            await reader.read()  # until the client closes
            return False
        if isinstance(behaviour, Slow):
            await asyncio.sleep(behaviour.seconds)
            await self._write(writer, _response(200, _success(), "application/json"))
            return headers.get("connection", "").lower() != "close"
        if isinstance(behaviour, Trickle):
            await self._trickle(writer, behaviour)
            return False
        if isinstance(behaviour, HugeBody):
            await self._huge(writer, behaviour)
            return False
        if isinstance(behaviour, ProxyStatus):
            await self._write(
                writer, _response(behaviour.status, behaviour.page(), behaviour.content_type)
            )
            return False
        await self._write(
            writer, _response(behaviour.status, behaviour.body, None, behaviour.headers)
        )
        return headers.get("connection", "").lower() != "close"

    async def _trickle(self, writer: asyncio.StreamWriter, behaviour: Trickle) -> None:
        body = _success()
        body += b" " * max(0, behaviour.body_bytes - len(body))
        answer = _response(200, body, "application/json", close=True)
        if behaviour.headers_first:
            split = answer.index(b"\r\n\r\n") + 4
            await self._write(writer, answer[:split])
            answer = answer[split:]
        step = max(1, behaviour.chunk)
        for at in range(0, len(answer), step):
            await self._write(writer, answer[at : at + step])
            await asyncio.sleep(behaviour.interval)

    async def _huge(self, writer: asyncio.StreamWriter, behaviour: HugeBody) -> None:
        reason = _REASONS.get(behaviour.status, "Status")
        head = f"HTTP/1.1 {behaviour.status} {reason}\r\nContent-Type: {behaviour.content_type}\r\n"
        if behaviour.chunked:
            head += "Transfer-Encoding: chunked\r\n"
        else:
            head += f"Content-Length: {behaviour.size}\r\n"
        await self._write(writer, (head + "Connection: close\r\n\r\n").encode("latin-1"))
        start = b'{"traversalId":"' if behaviour.status < 300 else b'{"error":"'
        piece = b"x" * 65536
        left = behaviour.size
        first = True
        while left > 0:
            data = (start + piece)[: min(left, 65536)] if first else piece[: min(left, 65536)]
            first = False
            left -= len(data)
            if behaviour.chunked:
                data = f"{len(data):x}\r\n".encode() + data + b"\r\n"
            await self._write(writer, data)
        if behaviour.chunked:
            await self._write(writer, b"0\r\n\r\n")

    def _serve(self, started: threading.Event) -> None:
        loop = asyncio.new_event_loop()

        async def main() -> None:
            self._stop = asyncio.Event()
            server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            self.url = f"http://127.0.0.1:{port}"
            self._loop = loop
            started.set()
            await self._stop.wait()
            server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await server.wait_closed()

        try:
            loop.run_until_complete(main())
        finally:
            loop.close()

    def _shut_down(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)


def _success() -> bytes:
    traversal = "".join(_CROCKFORD[b % 32] for b in os.urandom(26))
    return json.dumps(
        {"traversalId": traversal, "dagHash": os.urandom(8).hex()}, separators=(",", ":")
    ).encode()


def _response(
    status: int,
    body: bytes,
    content_type: str | None,
    headers: dict[str, str] | None = None,
    *,
    close: bool = False,
) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    lines.append(f"Content-Length: {len(body)}")
    if close:
        lines.append("Connection: close")
    lines.extend(f"{name}: {value}" for name, value in (headers or {}).items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@contextlib.contextmanager
def fault_server(default: Behaviour | None = None) -> Iterator[FaultServer]:
    """Run a `FaultServer` (default behaviour: a healthy ``Slow(0)``) for the ``with`` block."""
    server = FaultServer(Slow(0.0) if default is None else default)
    started = threading.Event()
    thread = threading.Thread(target=server._serve, args=(started,), daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("the fault server did not start")
    try:
        yield server
    finally:
        server._shut_down()
        thread.join(10)
