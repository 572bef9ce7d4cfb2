"""The Waygrid dev server: the real server's ingest API in pure Python, for laptops and CI.

``waygrid dev`` runs it; `create_app` gives the same app as ASGI for in-process use (with
``httpx.ASGITransport``); `waygrid.testing` runs it on a loopback port for tests. It needs the
``server`` extra (``pip install "waygrid-sdk[server]"``: Starlette and uvicorn), imported only
when an app is created, so ``import waygrid`` never loads them.

Routes:

* ``POST /v1/ingest`` and ``GET /`` behave like the real server: ``{"graph": <spec>}`` envelope
  (unknown envelope keys ignored), the server's strict decoding, compiler rules, depth limit and
  dagHash, a new ULID per traversal, 200 ``{"traversalId", "dagHash"}``, every failure a 500
  ``{"error": "<the server's exception text>"}``. The dev server adds ``"detail": {"path",
  "reason"}`` (``path`` relative to the spec, like `waygrid.SpecDecodeError.path`) and, when the
  compiler rejects the graph, ``"issues"`` (severity, code, path, message, hint). Other paths
  and methods get a plain-text 404 ``Not found``, as on the server.
* Beyond the server: ``Idempotency-Key`` (same key and body: the stored answer, with header
  ``Idempotent-Replayed: true``, and no second traversal; same key, other body: 409), an API key
  (then ``POST`` routes need ``Authorization: Bearer <key>``, else 401), a body limit (413),
  storage in SQLite (in memory, or a file that survives restarts).
* Dev routes (JSON in snake_case): ``GET /_dev/health`` (settings and counters, including
  ``connections_accepted``), ``GET /_dev/traversals`` (newest first, ``?limit=`` from 0 to
  1000, default 100),
  ``GET /_dev/traversals/{id}`` (spec, payload, compiled DAG, Mermaid, warnings, and the run
  as of now: ``status``, ``dispatches``, ``events``, ``node_states``, ``timeline``;
  ``.../{id}/run`` gives only the run), ``GET``/``PUT /_dev/script`` (node outcomes for
  traversals accepted from then on, the `waygrid.simulate` script format),
  ``POST /_dev/reset``, ``POST /_dev/faults`` (``{"fail": n, "status": 503, "retry_after": 1}`` or
  ``{"drop": n, "after_processing": true}``: make the next ingest requests fail), and the page
  ``GET /_dev/`` that lists traversals and draws each DAG with the bundled Mermaid (no internet
  needed). Their errors are JSON ``{"error", "detail": {"path", "reason"}}``; a database locked
  by another process gives 503 with ``Retry-After`` after a 2 s wait.
* Each accepted traversal is simulated (`waygrid.simulate`, intended mode) once, after the
  answer is sent, and replayed on the real clock at ``speed`` times real time (``run=False``:
  stored only). A spec that cannot be simulated shows ``status: "not simulated"`` and why.
* Heavy work (decoding, compiling, validating, drawing, simulating) and SQLite run in worker
  threads, at most four at a time, so the event loop keeps answering (``/_dev/health`` never waits).

Example:
    >>> import httpx
    >>> from waygrid.devserver import create_app
    >>> app = create_app(strict=True)
    >>> client = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://dev")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..dag import dag_to_dict
from ._ingest import INFINITE_DURATION, INVALID_BODY, MALFORMED_BODY
from ._state import DevState, Fault
from ._store import Traversal, TraversalStore
from ._ulid import ULID_PATTERN

if TYPE_CHECKING:
    from ._app import DEFAULT_MAX_BODY_BYTES, create_app, get_state

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "INFINITE_DURATION",
    "INVALID_BODY",
    "MALFORMED_BODY",
    "ULID_PATTERN",
    "DevState",
    "Fault",
    "Traversal",
    "TraversalStore",
    "create_app",
    "dag_to_dict",
    "get_state",
]

_LAZY = {
    "DEFAULT_MAX_BODY_BYTES": "._app",
    "create_app": "._app",
    "get_state": "._app",
}


def __getattr__(name: str) -> Any:
    # Starlette is only imported when an app is made: the CLI uses this package without it.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    try:
        value = getattr(import_module(module, __name__), name)
    except ModuleNotFoundError as exc:
        if exc.name in ("starlette", "uvicorn"):
            raise ModuleNotFoundError(
                "the Waygrid dev server needs the 'server' extra: "
                'pip install "waygrid-sdk[server]"',
                name=exc.name,
            ) from exc
        raise
    globals()[name] = value
    return value
