"""Where the dev server keeps traversals: SQLite, in memory or in a file (thread-safe)."""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._codec import decode_spec
from .._json import loads_strict

if TYPE_CHECKING:
    from ..spec import Spec
    from ..types import JsonValue

__all__ = ["BUSY_TIMEOUT", "StoreBusyError", "Traversal", "TraversalStore"]

BUSY_TIMEOUT = 2.0
"""Seconds a store call waits for a database locked elsewhere before `StoreBusyError`."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS traversals (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    dag_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    idempotency_key TEXT UNIQUE,
    body_digest BLOB,
    body BLOB NOT NULL
)
"""
_COLUMNS = "id, dag_hash, created_at, idempotency_key, body"
_SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class Traversal:
    """A traversal the dev server started, with the request that started it."""

    traversal_id: str
    """The ULID the server answered."""
    dag_hash: str
    """The compiled DAG's hash."""
    created_at: str
    """When it was started: ISO-8601 UTC with milliseconds, e.g. ``2030-01-15T10:00:00.123Z``."""
    idempotency_key: str | None
    """The request's ``Idempotency-Key``, when it had one."""
    body: bytes
    """The request body exactly as received."""

    def document(self) -> dict[str, Any]:
        """The request body parsed: ``{"graph": ..., "payload": ...}``."""
        document: dict[str, Any] = loads_strict(self.body)
        return document

    @property
    def spec(self) -> Spec:
        """The submitted spec."""
        return decode_spec(self.document()["graph"], mode="server", json_conditions=True)

    @property
    def payload(self) -> JsonValue:
        """The ``payload`` member of the request (None when there was none)."""
        payload: JsonValue = self.document().get("payload")
        return payload

    @property
    def has_payload(self) -> bool:
        """Whether the request had a ``payload`` member."""
        return "payload" in self.document()


class StoreBusyError(Exception):
    """The database stayed locked (by another process or a stalled call) for `BUSY_TIMEOUT`."""


def _traversal(row: tuple[Any, ...]) -> Traversal:
    return Traversal(row[0], row[1], row[2], row[3], bytes(row[4]))


class TraversalStore:
    """Traversals and their idempotency keys in SQLite; every method is thread-safe.

    Calls block (the dev server makes them from worker threads, never its event loop). When
    the database stays locked for `BUSY_TIMEOUT` seconds, they raise `StoreBusyError` instead
    of waiting on: a file locked by another process costs each request at most that long.

    Args:
        path: A database file (created when missing, kept across restarts), or None for an
            in-memory database that lives as long as the store.
        busy_timeout: Seconds to wait for a lock before `StoreBusyError`.
    """

    def __init__(
        self, path: str | os.PathLike[str] | None = None, *, busy_timeout: float = BUSY_TIMEOUT
    ) -> None:
        self.path = None if path is None else os.fspath(path)
        self.busy_timeout = busy_timeout
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            self.path or ":memory:",
            check_same_thread=False,
            isolation_level=None,
            timeout=busy_timeout,
        )
        # Apps made and dropped in tests are closed when collected, without a ResourceWarning.
        self._closer = weakref.finalize(self, self._db.close)
        try:
            if self.path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            (version,) = self._db.execute("PRAGMA user_version").fetchone()
            if version != _SCHEMA_VERSION:  # a new file: write only then, so a file another
                self._db.execute(_SCHEMA)  # process holds a write lock on still opens
                self._db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
            (count,) = self._db.execute("SELECT COUNT(*) FROM traversals").fetchone()
        except BaseException:
            self._closer()
            raise
        self._count = int(count)

    @contextmanager
    def _locked(self) -> Iterator[sqlite3.Connection]:
        """The connection, held by this thread alone; `StoreBusyError` when it stays locked."""
        if not self._lock.acquire(timeout=self.busy_timeout):
            raise self._busy()
        try:
            yield self._db
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise self._busy() from None
            raise
        finally:
            self._lock.release()

    def _busy(self) -> StoreBusyError:
        where = "the in-memory database" if self.path is None else f"the database {self.path}"
        return StoreBusyError(
            f"{where} is locked (by another process?) and stayed locked for "
            f"{self.busy_timeout:g} s; try again"
        )

    def find_key(self, key: str) -> tuple[bytes | None, Traversal] | None:
        """The body digest and traversal stored under an idempotency key, if any."""
        with self._locked() as db:
            row = db.execute(
                f"SELECT body_digest, {_COLUMNS} FROM traversals WHERE idempotency_key = ?", (key,)
            ).fetchone()
        return None if row is None else (row[0], _traversal(row[1:]))

    def add(
        self, traversal: Traversal, digest: bytes | None
    ) -> tuple[bytes | None, Traversal] | None:
        """Store a traversal; when its idempotency key is taken, store nothing.

        Returns:
            None when stored, else the digest and traversal already stored under the key.
        """
        return self.add_new(lambda: traversal, traversal.idempotency_key, digest)[1]

    def add_new(
        self, make: Callable[[], Traversal], key: str | None, digest: bytes | None
    ) -> tuple[Traversal | None, tuple[bytes | None, Traversal] | None]:
        """Store the traversal ``make()`` builds, unless idempotency ``key`` is taken.

        ``make`` runs under the store's lock, so traversals are stored in the order of the ids
        and times it gives them, however many threads add at once.

        Returns:
            The traversal stored (or None), and the digest and traversal already stored under
            the key (or None).
        """
        with self._locked() as db:
            if key is not None:
                row = db.execute(
                    f"SELECT body_digest, {_COLUMNS} FROM traversals WHERE idempotency_key = ?",
                    (key,),
                ).fetchone()
                if row is not None:
                    return None, (row[0], _traversal(row[1:]))
            traversal = make()
            db.execute(
                "INSERT INTO traversals (id, dag_hash, created_at, idempotency_key, body_digest, "
                "body) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    traversal.traversal_id,
                    traversal.dag_hash,
                    traversal.created_at,
                    traversal.idempotency_key,
                    digest,
                    traversal.body,
                ),
            )
            self._count += 1
        return traversal, None

    def get(self, traversal_id: str) -> Traversal | None:
        """The traversal with this id, or None."""
        with self._locked() as db:
            row = db.execute(
                f"SELECT {_COLUMNS} FROM traversals WHERE id = ?", (traversal_id,)
            ).fetchone()
        return None if row is None else _traversal(row)

    def list(self, *, newest_first: bool = False, limit: int | None = None) -> list[Traversal]:
        """Stored traversals in the order they were started (or the reverse)."""
        order = "DESC" if newest_first else "ASC"
        with self._locked() as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM traversals ORDER BY seq {order} LIMIT ?",
                (-1 if limit is None else limit,),
            ).fetchall()
        return [_traversal(row) for row in rows]

    def count(self) -> int:
        """How many traversals are stored (kept in memory: never waits for the database)."""
        return self._count

    def clear(self) -> None:
        """Forget every traversal and idempotency key."""
        with self._locked() as db:
            db.execute("DELETE FROM traversals")
            self._count = 0

    def close(self) -> None:
        """Close the database (further calls fail)."""
        with self._lock:
            self._closer()
