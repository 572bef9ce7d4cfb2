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
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from .._json import loads_strict
from ..dag import mermaid_script
from ..errors import SpecDecodeError, WaygridError
from ._ingest import Accepted, error_body, ingest
from ._page import render_page
from ._runs import MAX_SCRIPT_BYTES, read_script
from ._state import DevState, utc_now_text
from ._store import StoreBusyError, Traversal
from ._ulid import ULID_PATTERN
from ._views import dumps, traversal_detail, traversal_summary

__all__ = ["DEFAULT_MAX_BODY_BYTES", "create_app", "get_state"]

logger = logging.getLogger("waygrid.devserver")

DEFAULT_MAX_BODY_BYTES = 1_048_576
"""Request bodies above 1 MiB get 413."""
_DRAIN_CAP = 16 * 1_048_576  # read (and drop) at most this much of a refused body
_MAX_KEY_LENGTH = 255
_JSON = "application/json"
_WORKERS = 4
"""Requests doing CPU-heavy work or storage I/O at once, each in a worker thread; the others
wait (without blocking the event loop), so a flood of heavy requests cannot starve the rest."""
_FAULTS_BODY_LIMIT = 4_096  # a plan is a handful of fields: this also bounds its depth
_DEFAULT_LIST_LIMIT = 100
_MAX_LIST_LIMIT = 1000
_MAX_FAULTS = 1_000_000_000
_MAX_RETRY_AFTER = 86_400
_ULID = re.compile(ULID_PATTERN)
_T = TypeVar("_T")


def _json(status: int, document: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(document), status, headers, media_type=_JSON)


def _error(
    status: int,
    message: str,
    headers: dict[str, str] | None = None,
    *,
    path: str | None = None,
    reason: str | None = None,
) -> Response:
    """A JSON error: ``{"error": message}``, plus ``"detail": {"path", "reason"}`` when given."""
    document: dict[str, Any] = {"error": message}
    if reason is not None:
        document["detail"] = {"path": path or "$", "reason": reason}
    return Response(error_body(document), status, headers, media_type=_JSON)


def _busy(exc: StoreBusyError) -> Response:
    """503 for a database that stays locked: the client may retry after a second."""
    return _error(
        503,
        f"waygrid dev server: storage unavailable: {exc}",
        {"Retry-After": "1"},
        path="$",
        reason=str(exc),
    )


class _BadInput(ValueError):
    """A ``/_dev/`` request input that is wrong at ``path``."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason


def _success(traversal: Traversal, *, replayed: bool = False) -> Response:
    body = (
        f'{{"traversalId":"{traversal.traversal_id}","dagHash":"{traversal.dag_hash}"}}'
    ).encode("ascii")
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return Response(body, 200, headers, media_type=_JSON)


async def _not_found(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith("/_dev/"):  # the dev routes answer JSON, always
        reason = f"no dev route {request.method} {request.url.path[:100]!r}; see /_dev/"
        return _error(404, "not found", path="$", reason=reason)
    return PlainTextResponse("Not found", 404)  # like the real server


async def _internal_error(request: Request, exc: Exception) -> Response:
    """A bug: still a JSON answer (Starlette logs the traceback)."""
    message = f"waygrid.devserver.InternalError: {type(exc).__name__}"
    return _error(500, message, path="$", reason="the dev server failed; see its log")


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
        accepted: Traversal | None = None
        try:
            response, accepted = await self._in_worker(functools.partial(self._ingest, body, key))
        except StoreBusyError as exc:
            response = _busy(exc)
        except Exception as exc:  # a bug: still answer like the server, with JSON
            logger.exception("waygrid dev server failed on a request")
            message = f"waygrid.devserver.InternalError: {type(exc).__name__}: {exc}"
            response = _error(500, message)
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
                return _replay(key, digest, *found), None
        # Only the verdict: the parsed document is dropped before the answer is encoded.
        verdict = ingest(body, json_conditions=not state.strict)[0]
        if not isinstance(verdict, Accepted):
            return Response(verdict.body(), 500, media_type=_JSON), None
        dag_hash = verdict.dag_hash

        def make() -> Traversal:
            return Traversal(state.ulids.new(), dag_hash, utc_now_text(), key, body)

        traversal, existing = state.store.add_new(make, key, digest)
        if existing is not None and key is not None:  # a concurrent twin stored it first
            return _replay(key, digest, *existing), None
        assert traversal is not None
        state.runs.accepted(traversal.traversal_id)
        return _success(traversal), traversal

    async def _read_body(self, request: Request, limit: int | None = None) -> bytes | Response:
        limit = self.state.max_body_bytes if limit is None else limit
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
        try:
            html = await self._in_worker(functools.partial(render_page, self.state))
        except StoreBusyError as exc:
            return _busy(exc)
        # Lone surrogates (valid in JSON escapes, not in UTF-8) are shown as \udxxx.
        return Response(html.encode("utf-8", "backslashreplace"), media_type="text/html")

    async def page_redirect(self, request: Request) -> Response:
        return RedirectResponse(request.url.path + "/", 308)

    async def health(self, request: Request) -> Response:
        return _json(200, self.state.health())

    async def traversals(self, request: Request) -> Response:
        try:
            limit = _list_limit(request.query_params.get("limit"))
        except _BadInput as exc:
            return _error(400, f"bad request: {exc.reason}", path=exc.path, reason=exc.reason)
        store = self.state.store

        def listing() -> bytes:
            items = store.list(newest_first=True, limit=limit)
            summaries = [traversal_summary(t) for t in items]
            return dumps({"count": store.count(), "traversals": summaries})

        try:
            return Response(await self._in_worker(listing), media_type=_JSON)
        except StoreBusyError as exc:
            return _busy(exc)

    async def traversal(self, request: Request) -> Response:
        traversal_id = request.path_params["traversal_id"]
        run_only = traversal_id.endswith("/run")
        if run_only:
            traversal_id = traversal_id[: -len("/run")]
            if not self.state.runs.enabled:
                reason = "this dev server stores traversals without running them (--no-run)"
                return _error(404, "no run", path="$", reason=reason)
        if _ULID.match(traversal_id) is None:
            shown = traversal_id if len(traversal_id) <= 64 else traversal_id[:64] + "..."
            return _error(
                404,
                f"no traversal with id {shown!r}",
                path="traversal_id",
                reason="not a traversal id (a ULID such as 01HZY3J5V4Q8W2N6R7T9K0M1AB)",
            )
        try:
            found = await self._in_worker(functools.partial(self._detail, traversal_id, run_only))
        except StoreBusyError as exc:
            return _busy(exc)
        if found is None:
            return _error(
                404,
                f"no traversal with id {traversal_id!r}",
                path="traversal_id",
                reason="no traversal has this id (reset, or another server's?)",
            )
        return Response(found, media_type=_JSON)

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
            return _unauthorized()
        try:
            await self._in_worker(self.state.reset)
        except StoreBusyError as exc:
            return _busy(exc)
        return _json(200, {"reset": True})

    async def faults(self, request: Request) -> Response:
        if not self.state.authorized(request.headers.get("authorization")):
            await self._drain(request, _DRAIN_CAP)
            return _unauthorized()
        body = await self._read_body(request, _FAULTS_BODY_LIMIT)
        if isinstance(body, Response):
            return body
        try:
            plan = _fault_plan(body)
        except _BadInput as exc:
            return _error(400, f"bad fault plan: {exc.reason}", path=exc.path, reason=exc.reason)
        if plan.get("fail"):
            self.state.fail_next(
                plan["fail"], status=plan.get("status", 503), retry_after=plan.get("retry_after")
            )
        if plan.get("drop"):
            self.state.drop_next(plan["drop"], after_processing=plan.get("after_processing", False))
        return _json(200, {"pending_faults": self.state.pending_faults})

    async def script(self, request: Request) -> Response:
        if request.method == "GET":
            return _json(200, {"script": self.state.runs.script})
        if not self.state.authorized(request.headers.get("authorization")):
            await self._drain(request, _DRAIN_CAP)
            return _unauthorized()
        body = await self._read_body(request, MAX_SCRIPT_BYTES)
        if isinstance(body, Response):
            return body
        try:
            script = await self._in_worker(functools.partial(read_script, body))
        except ValueError as exc:
            reason = str(exc)
            path = reason.split(": ", 1)[0]
            return _error(400, f"bad script: {reason}", path=path, reason=reason)
        return _json(200, {"script": self.state.runs.set_script(script)})

    async def mermaid(self, request: Request) -> Response:
        return Response(
            mermaid_script(),
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )


def _list_limit(text: str | None) -> int:
    """``?limit=`` of ``GET /_dev/traversals``: a plain decimal from 0 to `_MAX_LIST_LIMIT`."""
    if text is None:
        return _DEFAULT_LIST_LIMIT
    digits = text.lstrip("0")
    if not (text.isascii() and text.isdigit() and len(digits) <= len(str(_MAX_LIST_LIMIT))):
        raise _BadInput("limit", f"limit must be a whole number from 0 to {_MAX_LIST_LIMIT}")
    limit = int(digits or "0")
    if limit > _MAX_LIST_LIMIT:
        raise _BadInput("limit", f"limit must be a whole number from 0 to {_MAX_LIST_LIMIT}")
    return limit


_PLAN_EXAMPLE = 'such as {"fail": 2, "status": 503, "retry_after": 1} or {"drop": 1}'


def _whole(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _BadInput(f"$.{name}", f"{name!r} must be a whole number from {low} to {high:_}")
    return value


def _fault_plan(body: bytes) -> dict[str, Any]:
    """Read and check the body of ``POST /_dev/faults`` (at most 4 KiB, so at most ~4,000 deep).

    Raises:
        _BadInput: with the path of the first problem.
    """
    if not body.strip():
        return {}
    try:
        plan = loads_strict(body)
    except SpecDecodeError as exc:
        raise _BadInput("$", exc.reason) from None
    if not isinstance(plan, dict):
        raise _BadInput("$", f"expected an object {_PLAN_EXAMPLE}")
    checked: dict[str, Any] = {}
    for name, value in plan.items():
        if name not in ("fail", "drop", "status", "retry_after", "after_processing"):
            raise _BadInput(
                f"$.{name}",
                f"unknown field {name!r}; valid fields: fail, status, retry_after, drop, "
                "after_processing",
            )
        if value is None:
            continue
        if name in ("fail", "drop"):
            checked[name] = _whole(name, value, 0, _MAX_FAULTS)
        elif name == "status":
            checked[name] = _whole(name, value, 400, 599)
        elif name == "retry_after":
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not 0 <= value <= _MAX_RETRY_AFTER
            ):
                raise _BadInput(
                    "$.retry_after",
                    f"'retry_after' must be a number of seconds from 0 to {_MAX_RETRY_AFTER}",
                )
            checked[name] = value
        elif not isinstance(value, bool):
            raise _BadInput(f"$.{name}", f"{name!r} must be true or false")
        else:
            checked[name] = value
    return checked


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
    reason = "missing or wrong API key: send Authorization: Bearer <key>"
    return _error(
        401,
        reason,
        {"WWW-Authenticate": 'Bearer realm="waygrid"'},
        path="Authorization",
        reason=reason,
    )


def _too_large(limit: int) -> Response:
    reason = f"request body too large: the limit is {limit} bytes"
    return _error(413, reason, path="$", reason=reason)


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
        exception_handlers={404: _not_found, 405: _not_found, Exception: _internal_error},
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
