"""The Starlette app: the server's routes, plus auth, idempotency, body limit and ``/_dev/``."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import os
import re
import weakref
from collections.abc import Callable, Mapping
from typing import TypeVar

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..dag import mermaid_script
from ..errors import WaygridError
from ._dumps import dumps
from ._ingest import Accepted, ingest
from ._inputs import BadInput, drain, fault_plan, list_limit, read_body
from ._page import render_page
from ._responses import (
    JSON,
    busy,
    error_response,
    internal_error,
    json_response,
    not_found,
    replay,
    success,
    unauthorized,
)
from ._runs import MAX_SCRIPT_BYTES, read_script
from ._state import DevState, utc_now_text
from ._store import StoreBusyError, Traversal
from ._ulid import ULID_PATTERN
from ._views import traversal_detail, traversal_summary

__all__ = ["DEFAULT_MAX_BODY_BYTES", "create_app", "get_state"]

logger = logging.getLogger("waygrid.devserver")

DEFAULT_MAX_BODY_BYTES = 1_048_576
"""Request bodies above 1 MiB get 413."""
_MAX_KEY_LENGTH = 255
_WORKERS = 4
"""Requests doing CPU-heavy work or storage I/O at once, each in a worker thread; the others
wait (without blocking the event loop), so a flood of heavy requests cannot starve the rest."""
_FAULTS_BODY_LIMIT = 4_096  # a plan is a handful of fields: this also bounds its depth
_ULID = re.compile(ULID_PATTERN)
_T = TypeVar("_T")


class _Routes:
    """The endpoints, bound to one app's state."""

    def __init__(self, state: DevState) -> None:
        self.state = state
        self._limiters: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, anyio.CapacityLimiter
        ] = weakref.WeakKeyDictionary()

    def _limiter(self) -> anyio.CapacityLimiter:
        # One limiter per event loop: in-process apps may be driven by several loops in turn.
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - not asyncio: anyio's shared limiter
            return anyio.to_thread.current_default_thread_limiter()
        limiter = self._limiters.get(loop)
        if limiter is None:
            limiter = self._limiters[loop] = anyio.CapacityLimiter(_WORKERS)
        return limiter

    async def _in_worker(self, function: Callable[[], _T]) -> _T:
        """Run ``function`` in a worker thread, keeping the event loop free for other requests."""
        return await anyio.to_thread.run_sync(function, limiter=self._limiter())

    async def home(self, request: Request) -> Response:
        return json_response(200, self.state.home())

    async def ingest(self, request: Request) -> Response:
        state = self.state
        state.count_ingest_request()
        if not state.authorized(request.headers.get("authorization")):
            await drain(request)
            return unauthorized()
        key = request.headers.get("idempotency-key")
        if key is not None and not 0 < len(key) <= _MAX_KEY_LENGTH:
            return error_response(
                400, f"Idempotency-Key must have 1 to {_MAX_KEY_LENGTH} characters"
            )
        body = await read_body(request, state.max_body_bytes)
        if isinstance(body, Response):
            return body
        fault = state.next_fault()
        if fault is not None and not fault.after_processing:
            if fault.kind == "drop":
                return await self._drop(request)
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            message = f"waygrid dev server: injected fault ({fault.status})"
            return error_response(fault.status, message, headers)
        accepted: Traversal | None = None
        try:
            response, accepted = await self._in_worker(functools.partial(self._ingest, body, key))
        except StoreBusyError as exc:
            response = busy(exc)
        except Exception as exc:  # a bug: still answer like the server, with JSON
            logger.exception("waygrid dev server failed on a request")
            message = f"waygrid.devserver.InternalError: {type(exc).__name__}: {exc}"
            response = error_response(500, message)
        if accepted is not None and state.runs.enabled:
            # Simulate it once the answer is out (a view computes it if it is not ready yet).
            prepare = functools.partial(state.runs.run_of, accepted)
            response.background = BackgroundTask(self._in_worker, prepare)
        if fault is not None:  # a drop after processing: the answer is lost
            return await self._drop(request)
        return response

    def _ingest(self, body: bytes, key: str | None) -> tuple[Response, Traversal | None]:
        """The answer, and the traversal when this request started one."""
        state = self.state
        digest = None if key is None else hashlib.sha256(body).digest()
        if key is not None:
            found = state.store.find_key(key)
            if found is not None:
                return replay(key, digest, *found), None
        # Only the verdict: the parsed document is dropped before the answer is encoded.
        verdict = ingest(body, json_conditions=not state.strict)[0]
        if not isinstance(verdict, Accepted):
            return Response(verdict.body(), 500, media_type=JSON), None
        dag_hash = verdict.dag_hash

        def make() -> Traversal:
            return Traversal(state.ulids.new(), dag_hash, utc_now_text(), key, body)

        traversal, existing = state.store.add_new(make, key, digest)
        if existing is not None and key is not None:  # a concurrent twin stored it first
            return replay(key, digest, *existing), None
        assert traversal is not None
        state.runs.accepted(traversal.traversal_id)
        return success(traversal), traversal

    async def _drop(self, request: Request) -> Response:
        if await self.state.abort_connection(request.scope.get("client")):
            return Response(status_code=500)  # never sent: the connection is gone
        return error_response(
            502, "waygrid dev server: injected connection drop (not possible in-process)"
        )

    async def page(self, request: Request) -> Response:
        try:
            html = await self._in_worker(functools.partial(render_page, self.state))
        except StoreBusyError as exc:
            return busy(exc)
        # Lone surrogates (valid in JSON escapes, not in UTF-8) are shown as \udxxx.
        return Response(html.encode("utf-8", "backslashreplace"), media_type="text/html")

    async def page_redirect(self, request: Request) -> Response:
        return RedirectResponse(request.url.path + "/", 308)

    async def health(self, request: Request) -> Response:
        return json_response(200, self.state.health())

    async def traversals(self, request: Request) -> Response:
        try:
            limit = list_limit(request.query_params.get("limit"))
        except BadInput as exc:
            return error_response(
                400, f"bad request: {exc.reason}", path=exc.path, reason=exc.reason
            )
        store = self.state.store

        def listing() -> bytes:
            items = store.list(newest_first=True, limit=limit)
            summaries = [traversal_summary(t) for t in items]
            return dumps({"count": store.count(), "traversals": summaries})

        try:
            return Response(await self._in_worker(listing), media_type=JSON)
        except StoreBusyError as exc:
            return busy(exc)

    async def traversal(self, request: Request) -> Response:
        traversal_id = request.path_params["traversal_id"]
        run_only = traversal_id.endswith("/run")
        if run_only:
            traversal_id = traversal_id[: -len("/run")]
            if not self.state.runs.enabled:
                reason = "this dev server stores traversals without running them (--no-run)"
                return error_response(404, "no run", path="$", reason=reason)
        if _ULID.match(traversal_id) is None:
            shown = traversal_id if len(traversal_id) <= 64 else traversal_id[:64] + "..."
            return error_response(
                404,
                f"no traversal with id {shown!r}",
                path="traversal_id",
                reason="not a traversal id (a ULID such as 01HZY3J5V4Q8W2N6R7T9K0M1AB)",
            )
        try:
            found = await self._in_worker(functools.partial(self._detail, traversal_id, run_only))
        except StoreBusyError as exc:
            return busy(exc)
        if found is None:
            return error_response(
                404,
                f"no traversal with id {traversal_id!r}",
                path="traversal_id",
                reason="no traversal has this id (reset, or another server's?)",
            )
        return Response(found, media_type=JSON)

    def _detail(self, traversal_id: str, run_only: bool = False) -> bytes | None:
        """The JSON of ``GET /_dev/traversals/{id}[/run]`` (CPU-heavy: run in a worker)."""
        traversal = self.state.store.get(traversal_id)
        if traversal is None:
            return None
        runs = self.state.runs
        try:
            if run_only:
                return dumps({"traversal_id": traversal_id, **runs.view(traversal)})
            detail = traversal_detail(traversal)
            if runs.enabled:
                detail.update(runs.view(traversal))
            return dumps(detail)
        except (ValueError, RecursionError, WaygridError) as exc:
            problem = str(exc)
        except Exception as exc:  # a bug: still show what is known about the traversal
            logger.exception("waygrid dev server could not show traversal %s", traversal_id)
            problem = f"{type(exc).__name__} (a dev server bug, see its log)"
        summary = traversal_summary(traversal)
        summary["problem"] = f"the traversal cannot be shown as JSON: {problem}"
        return dumps(summary)

    async def reset(self, request: Request) -> Response:
        if not self.state.authorized(request.headers.get("authorization")):
            return unauthorized()
        try:
            await self._in_worker(self.state.reset)
        except StoreBusyError as exc:
            return busy(exc)
        return json_response(200, {"reset": True})

    async def faults(self, request: Request) -> Response:
        if not self.state.authorized(request.headers.get("authorization")):
            await drain(request)
            return unauthorized()
        body = await read_body(request, _FAULTS_BODY_LIMIT)
        if isinstance(body, Response):
            return body
        try:
            plan = fault_plan(body)
        except BadInput as exc:
            return error_response(
                400, f"bad fault plan: {exc.reason}", path=exc.path, reason=exc.reason
            )
        if plan.get("fail"):
            self.state.fail_next(
                plan["fail"], status=plan.get("status", 503), retry_after=plan.get("retry_after")
            )
        if plan.get("drop"):
            self.state.drop_next(plan["drop"], after_processing=plan.get("after_processing", False))
        return json_response(200, {"pending_faults": self.state.pending_faults})

    async def script(self, request: Request) -> Response:
        if request.method == "GET":
            return json_response(200, {"script": self.state.runs.script})
        if not self.state.authorized(request.headers.get("authorization")):
            await drain(request)
            return unauthorized()
        body = await read_body(request, MAX_SCRIPT_BYTES)
        if isinstance(body, Response):
            return body
        try:
            script = await self._in_worker(functools.partial(read_script, body))
        except ValueError as exc:
            reason = str(exc)
            path = reason.split(": ", 1)[0]
            return error_response(400, f"bad script: {reason}", path=path, reason=reason)
        return json_response(200, {"script": self.state.runs.set_script(script)})

    async def mermaid(self, request: Request) -> Response:
        return Response(
            mermaid_script(),
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )


def create_app(
    *,
    strict: bool = False,
    api_key: str | None = None,
    db_path: str | os.PathLike[str] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    run: bool = True,
    speed: float = 1.0,
    script: Mapping[str, object] | None = None,
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
        run: Simulate each accepted traversal (`waygrid.simulate`, intended mode) and replay
            it on the real clock; False only stores traversals (``--no-run``).
        speed: Virtual seconds per real second of the replay (above 0, at most a billion).
        script: Node outcomes by node name, as `waygrid.simulate` takes them (names a spec
            lacks are ignored for it); ``PUT /_dev/script`` replaces it at run time. By
            default every node succeeds.

    Returns:
        The app. Creating one is cheap (an in-memory database), so tests can make one each.

    Raises:
        ValueError: a bad ``speed``, ``script`` or ``max_body_bytes`` (the message says which).

    Example:
        >>> app = create_app(strict=True)
        >>> get_state(app).strict
        True
    """
    state = DevState(
        strict=strict,
        api_key=api_key,
        db_path=db_path,
        max_body_bytes=max_body_bytes,
        run=run,
        speed=speed,
        script=script,
    )
    routes = _Routes(state)
    app = Starlette(
        routes=[
            Route("/", routes.home, methods=["GET"]),
            Route("/v1/ingest", routes.ingest, methods=["POST"]),
            Route("/_dev", routes.page_redirect, methods=["GET"]),
            Route("/_dev/", routes.page, methods=["GET"]),
            Route("/_dev/health", routes.health, methods=["GET"]),
            Route("/_dev/traversals", routes.traversals, methods=["GET"]),
            Route("/_dev/traversals/{traversal_id:path}", routes.traversal, methods=["GET"]),
            Route("/_dev/reset", routes.reset, methods=["POST"]),
            Route("/_dev/faults", routes.faults, methods=["POST"]),
            Route("/_dev/script", routes.script, methods=["GET", "PUT"]),
            Route("/_dev/static/mermaid.min.js", routes.mermaid, methods=["GET"]),
        ],
        exception_handlers={404: not_found, 405: not_found, Exception: internal_error},
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
