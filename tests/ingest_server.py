"""A scriptable ``POST /v1/ingest`` for client tests: records requests, plays failures."""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = ["Action", "Drop", "IngestServer", "Reply", "Seen", "Slow"]

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class Reply:
    """Answer with this status, JSON body and headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None


@dataclass(frozen=True)
class Slow:
    """Start the traversal, then wait this long before answering."""

    seconds: float


@dataclass(frozen=True)
class Drop:
    """Read the request, then abort the connection without an answer (optionally after
    starting the traversal, as a server that crashed while answering would)."""

    processed: bool = False


Action = Reply | Slow | Drop


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    port: int


class IngestServer:
    """Enough of ``POST /v1/ingest`` to test a client: honours Idempotency-Key like the dev
    server, records every request, and plays a script of failures before answering normally."""

    def __init__(self) -> None:
        self.url = ""
        self._lock = threading.Lock()
        self.script: list[Action] = []
        self.requests: list[Seen] = []
        self.traversals: dict[str, dict[str, str]] = {}
        self.app = Starlette(
            routes=[
                Route("/v1/ingest", self._ingest, methods=["POST"]),
                Route("/gw/v1/ingest", self._ingest, methods=["POST"]),
            ]
        )

    def reset(self, *script: Action) -> None:
        with self._lock:
            self.script = list(script)
            self.requests.clear()
            self.traversals.clear()

    @property
    def keys(self) -> list[str | None]:
        return [seen.headers.get("idempotency-key") for seen in self.requests]

    def _next(self) -> Action | None:
        with self._lock:
            return self.script.pop(0) if self.script else None

    def _record(self, scope: Mapping[str, Any], body: bytes) -> dict[str, str]:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        seen = Seen(scope["path"], headers, body, time.monotonic(), scope["client"][1])
        with self._lock:
            self.requests.append(seen)
        return headers

    def _start(self, key: str | None) -> dict[str, str]:
        with self._lock:
            if key is not None and key in self.traversals:
                return self.traversals[key]
            traversal = {
                "traversalId": "".join(secrets.choice(CROCKFORD) for _ in range(26)),
                "dagHash": secrets.token_hex(8),
            }
            self.traversals[key or traversal["traversalId"]] = traversal
            return traversal

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        action = self._next() if scope["path"].endswith("/v1/ingest") else None
        if isinstance(action, Drop):
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            headers = self._record(scope, body)
            if action.processed:
                self._start(headers.get("idempotency-key"))
            # uvicorn hands the app its RequestResponseCycle.send: abort its socket, so that
            # the client sees the connection die with no response at all.
            send.__self__.transport.abort()
            await receive()  # wait for uvicorn to notice the disconnect
            return
        await self.app({**scope, "waygrid.action": action}, receive, send)

    async def _ingest(self, request: Request) -> Response:
        body = await request.body()
        headers = self._record(request.scope, body)
        action = request.scope.get("waygrid.action")
        if isinstance(action, Reply):
            if action.raw is not None:
                return Response(action.raw, action.status, action.headers)
            return JSONResponse(action.body, action.status, action.headers)
        traversal = self._start(headers.get("idempotency-key"))
        if isinstance(action, Slow):
            await asyncio.sleep(action.seconds)
        return JSONResponse(traversal)
