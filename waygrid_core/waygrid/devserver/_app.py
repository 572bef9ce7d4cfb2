"""The Starlette app: the server's routes, plus auth, idempotency, body limit and ``/_dev/``."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from ..dag import mermaid_script
from ._ingest import Accepted, error_body, ingest
from ._page import render_page
from ._state import DevState, utc_now_text
from ._store import Traversal
from ._views import dumps, traversal_detail, traversal_summary

__all__ = ["DEFAULT_MAX_BODY_BYTES", "create_app", "get_state"]

logger = logging.getLogger("waygrid.devserver")

DEFAULT_MAX_BODY_BYTES = 1_048_576
"""Request bodies above 1 MiB get 413."""
_DRAIN_CAP = 16 * 1_048_576  # read (and drop) at most this much of a refused body
_MAX_KEY_LENGTH = 255
_JSON = "application/json"


def _json(status: int, document: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(document), status, headers, media_type=_JSON)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(error_body({"error": message}), status, headers, media_type=_JSON)


def _success(traversal: Traversal, *, replayed: bool = False) -> Response:
    body = (
        f'{{"traversalId":"{traversal.traversal_id}","dagHash":"{traversal.dag_hash}"}}'
    ).encode("ascii")
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return Response(body, 200, headers, media_type=_JSON)


async def _not_found(request: Request, exc: Exception) -> Response:
    return PlainTextResponse("Not found", 404)


class _Routes:
    """The endpoints, bound to one app's state."""

    def __init__(self, state: DevState) -> None:
        self.state = state

    async def home(self, request: Request) -> Response:
        return _json(200, self.state.home())

    async def ingest(self, request: Request) -> Response:
        state = self.state
        state.count_ingest_request()
        if not state.authorized(request.headers.get("authorization")):
            await self._drain(request, _DRAIN_CAP)
            return _unauthorized()
        key = request.headers.get("idempotency-key")
        if key is not None and not 0 < len(key) <= _MAX_KEY_LENGTH:
            return _error(400, f"Idempotency-Key must have 1 to {_MAX_KEY_LENGTH} characters")
        body = await self._read_body(request)
        if isinstance(body, Response):
            return body
        fault = state.next_fault()
        if fault is not None and not fault.after_processing:
            if fault.kind == "drop":
                return await self._drop(request)
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            message = f"waygrid dev server: injected fault ({fault.status})"
            return _error(fault.status, message, headers)
        try:
            response = self._ingest(body, key)
        except Exception as exc:  # a bug: still answer like the server, with JSON
            logger.exception("waygrid dev server failed on a request")
            message = f"waygrid.devserver.InternalError: {type(exc).__name__}: {exc}"
            response = _error(500, message)
        if fault is not None:  # a drop after processing: the answer is lost
            return await self._drop(request)
        return response

    def _ingest(self, body: bytes, key: str | None) -> Response:
        state = self.state
        digest = None if key is None else hashlib.sha256(body).digest()
        if key is not None:
            found = state.store.find_key(key)
            if found is not None:
                return _replay(key, digest, *found)
        verdict, _ = ingest(body, json_conditions=not state.strict)
        if not isinstance(verdict, Accepted):
            return Response(verdict.body(), 500, media_type=_JSON)
        traversal = Traversal(state.ulids.new(), verdict.dag_hash, utc_now_text(), key, body)
        existing = state.store.add(traversal, digest)
        if existing is not None and key is not None:  # a concurrent twin stored it first
            return _replay(key, digest, *existing)
        return _success(traversal)

    async def _read_body(self, request: Request) -> bytes | Response:
        limit = self.state.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            if int(declared) <= _DRAIN_CAP:
                await self._drain(request, _DRAIN_CAP)
            return _too_large(limit)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await request.receive()
            if message["type"] != "http.request":  # the client went away
                return Response(status_code=499)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                if message.get("more_body", False):
                    await self._drain(request, _DRAIN_CAP)
                return _too_large(limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    @staticmethod
    async def _drain(request: Request, cap: int) -> None:
        """Read what is left of a refused body, so the client gets to read our answer."""
        size = 0
        while size <= cap:
            message = await request.receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                return
            size += len(message.get("body", b""))

    async def _drop(self, request: Request) -> Response:
        if await self.state.abort_connection(request.scope.get("client")):
            return Response(status_code=500)  # never sent: the connection is gone
        return _error(502, "waygrid dev server: injected connection drop (not possible in-process)")

    async def page(self, request: Request) -> Response:
        return HTMLResponse(render_page(self.state))

    async def page_redirect(self, request: Request) -> Response:
        return RedirectResponse(request.url.path + "/", 308)

    async def health(self, request: Request) -> Response:
        return _json(200, self.state.health())

    async def traversals(self, request: Request) -> Response:
        limit_text = request.query_params.get("limit", "100")
        limit = int(limit_text) if limit_text.isdigit() else 100
        items = self.state.store.list(newest_first=True, limit=limit)
        return _json(
            200,
            {
                "count": self.state.store.count(),
                "traversals": [traversal_summary(t) for t in items],
            },
        )

    async def traversal(self, request: Request) -> Response:
        traversal_id = request.path_params["traversal_id"]
        traversal = self.state.store.get(traversal_id)
        if traversal is None:
            return _error(404, f"no traversal with id {traversal_id!r}")
        try:
            return _json(200, traversal_detail(traversal))
        except (ValueError, RecursionError) as exc:  # e.g. a payload nested beyond JSON's reach
            summary = traversal_summary(traversal)
            summary["problem"] = f"the traversal cannot be shown as JSON: {exc}"
            return _json(200, summary)

    async def reset(self, request: Request) -> Response:
        if not self.state.authorized(request.headers.get("authorization")):
            return _unauthorized()
        self.state.reset()
        return _json(200, {"reset": True})

    async def faults(self, request: Request) -> Response:
        if not self.state.authorized(request.headers.get("authorization")):
            return _unauthorized()
        try:
            plan = _fault_plan(await request.body())
            if plan.get("fail"):
                self.state.fail_next(
                    plan["fail"],
                    status=plan.get("status", 503),
                    retry_after=plan.get("retry_after"),
                )
            if plan.get("drop"):
                self.state.drop_next(
                    plan["drop"], after_processing=plan.get("after_processing", False)
                )
        except (ValueError, TypeError) as exc:
            return _error(400, f"bad fault plan: {exc}")
        return _json(200, {"pending_faults": self.state.pending_faults})

    async def mermaid(self, request: Request) -> Response:
        return Response(
            mermaid_script(),
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )


_FAULT_FIELDS: dict[str, tuple[type, ...]] = {
    "fail": (int,),
    "status": (int,),
    "retry_after": (int, float),
    "drop": (int,),
    "after_processing": (bool,),
}


def _fault_plan(body: bytes) -> dict[str, Any]:
    """Read the body of ``POST /_dev/faults`` (see `_FAULT_FIELDS`)."""
    plan = json.loads(body or b"{}")
    if not isinstance(plan, dict):
        raise ValueError('expected an object such as {"fail": 2, "status": 503, "retry_after": 1}')
    for name, value in plan.items():
        kinds = _FAULT_FIELDS.get(name)
        if kinds is None:
            raise ValueError(f"unknown field {name!r}; valid fields: {', '.join(_FAULT_FIELDS)}")
        if value is None:
            continue
        if isinstance(value, bool) != (bool in kinds) or not isinstance(value, kinds):
            raise ValueError(f"{name!r} has the wrong type")
    return plan


def _replay(
    key: str, digest: bytes | None, stored_digest: bytes | None, found: Traversal
) -> Response:
    if digest != stored_digest:
        return _error(
            409,
            f"Idempotency-Key {key!r} was already used for a different request body; "
            "use a new key for a new request",
        )
    return _success(found, replayed=True)


def _unauthorized() -> Response:
    return _error(
        401,
        "missing or wrong API key: send Authorization: Bearer <key>",
        {"WWW-Authenticate": 'Bearer realm="waygrid"'},
    )


def _too_large(limit: int) -> Response:
    return _error(413, f"request body too large: the limit is {limit} bytes")


def create_app(
    *,
    strict: bool = False,
    api_key: str | None = None,
    db_path: str | os.PathLike[str] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> Starlette:
    """The Waygrid dev server as a Starlette (ASGI) app; `waygrid.devserver` lists its routes.

    Serve it with uvicorn (``waygrid dev`` or `waygrid.testing.DevServer` also count the TCP
    connections) or call it in-process through ``httpx.ASGITransport(app)``. Its state
    (storage, counters, fault injection) is `get_state(app)`.

    Args:
        strict: Reject the JSON-pointer conditions (``JsonExists``/``JsonEquals``) exactly as
            today's server does. By default they are accepted, so every documented spec submits.
        api_key: When set, ``POST /v1/ingest`` and the ``POST /_dev/...`` routes need
            ``Authorization: Bearer <api_key>`` (compared in constant time), else 401.
        db_path: A SQLite file that keeps traversals and idempotency keys across restarts
            (created when missing). None keeps them in memory.
        max_body_bytes: Larger request bodies get 413 (checked against ``Content-Length`` and
            counted while streaming).

    Returns:
        The app. Creating one is cheap (an in-memory database), so tests can make one each.

    Example:
        >>> app = create_app(strict=True)
        >>> get_state(app).strict
        True
    """
    state = DevState(strict=strict, api_key=api_key, db_path=db_path, max_body_bytes=max_body_bytes)
    routes = _Routes(state)
    app = Starlette(
        routes=[
            Route("/", routes.home, methods=["GET"]),
            Route("/v1/ingest", routes.ingest, methods=["POST"]),
            Route("/_dev", routes.page_redirect, methods=["GET"]),
            Route("/_dev/", routes.page, methods=["GET"]),
            Route("/_dev/health", routes.health, methods=["GET"]),
            Route("/_dev/traversals", routes.traversals, methods=["GET"]),
            Route("/_dev/traversals/{traversal_id}", routes.traversal, methods=["GET"]),
            Route("/_dev/reset", routes.reset, methods=["POST"]),
            Route("/_dev/faults", routes.faults, methods=["POST"]),
            Route("/_dev/static/mermaid.min.js", routes.mermaid, methods=["GET"]),
        ],
        exception_handlers={404: _not_found, 405: _not_found},
    )
    app.router.redirect_slashes = False  # the server answers 404 for /v1/ingest/
    app.state.waygrid = state
    return app


def get_state(app: Starlette) -> DevState:
    """The `DevState` of an app made by `create_app` (counters, store, fault injection)."""
    state = getattr(app.state, "waygrid", None)
    if not isinstance(state, DevState):
        raise TypeError("this app was not made by waygrid.devserver.create_app()")
    return state
