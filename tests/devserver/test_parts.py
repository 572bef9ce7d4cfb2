"""The dev server's parts: ULIDs, circe's printer, the SQLite store, and very deep bodies."""

from __future__ import annotations

import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from waygrid.devserver import INVALID_BODY, ULID_PATTERN, Traversal, TraversalStore
from waygrid.devserver._circe import spaces2
from waygrid.devserver._ingest import Rejected, ingest
from waygrid.devserver._ulid import UlidGenerator


def test_ulids_are_26_crockford_characters_that_sort_in_creation_order() -> None:
    """Many ULIDs from several threads: well-formed, unique, increasing per generator."""
    generator = UlidGenerator()
    made: list[str] = []
    lock = threading.Lock()

    def make() -> None:
        batch = [generator.new() for _ in range(500)]
        assert batch == sorted(batch)
        with lock:
            made.extend(batch)

    threads = [threading.Thread(target=make) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(made)) == 2000
    assert all(re.match(ULID_PATTERN, ulid) for ulid in made)


def test_a_ulid_starts_with_the_time_in_milliseconds() -> None:
    """The first ten characters encode the Unix time in milliseconds."""
    before = time.time_ns() // 1_000_000
    ulid = UlidGenerator().new()
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    millis = 0
    for char in ulid[:10]:
        millis = millis * 32 + alphabet.index(char)
    assert before <= millis <= time.time_ns() // 1_000_000


def test_spaces2_prints_like_circe() -> None:
    """Two-space indent, ' : ' between key and value, circe's empty arrays and objects."""
    text = spaces2({"a": [1, 2.5, None], "b": {}, "c": [], "d": {"e": True}})
    assert text == (
        '{\n  "a" : [\n    1,\n    2.5,\n    null\n  ],\n  "b" : {\n    \n  },\n'
        '  "c" : [\n  ],\n  "d" : {\n    "e" : true\n  }\n}'
    )


def test_spaces2_escapes_like_circe() -> None:
    """Quotes, backslashes and control characters are escaped; other characters are kept."""
    assert spaces2('"\\\n\t\x01\x7f é ✓') == '"\\"\\\\\\n\\t\\u0001\\u007f é ✓"'


def test_spaces2_copes_with_any_depth_and_stops_at_its_limit() -> None:
    """100,000 nested arrays print without recursion, cut after the limit."""
    value: list[object] = []
    for _ in range(100_000):
        value = [value]
    text = spaces2(value, limit=10_000)
    assert 10_000 < len(text) < 12_000
    assert text.endswith("(truncated by the waygrid dev server)")


def test_a_body_nested_beyond_any_stack_is_rejected_quickly() -> None:
    """200,000 nested arrays in the graph: the echo error, no RecursionError, in seconds."""
    body = b'{"graph":' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    started = time.monotonic()
    verdict, _ = ingest(body, json_conditions=True)
    assert isinstance(verdict, Rejected)
    assert verdict.error.startswith(INVALID_BODY)
    assert time.monotonic() - started < 10
    assert len(verdict.body()) < 2_000_000


def test_a_rejection_with_lone_surrogates_is_still_valid_json() -> None:
    """A payload string with a lone surrogate is echoed with JSON escapes, not broken UTF-8."""
    verdict, _ = ingest(b'{"graph": 1, "payload": "\\ud800"}', json_conditions=True)
    assert isinstance(verdict, Rejected)
    assert json.loads(verdict.body())["error"].endswith('"payload" : "\ud800"\n}')


def traversal(n: int, key: str | None = None) -> Traversal:
    return Traversal(f"01TESTULID{n:016d}", "0" * 16, "2030-01-01T00:00:00.000Z", key, b"{}")


def test_the_store_keeps_one_traversal_per_idempotency_key_under_contention() -> None:
    """32 threads adding under one key: one is stored, the others see it."""
    store = TraversalStore()
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(lambda n: store.add(traversal(n, "k"), b"d"), range(32)))
    assert sum(outcome is None for outcome in outcomes) == 1
    assert store.count() == 1
    found = store.find_key("k")
    assert found is not None
    assert found[0] == b"d"


def test_the_store_lists_in_order_and_clears(tmp_path: Path) -> None:
    """Oldest first (or newest first with a limit); clear() forgets everything; files persist."""
    path = tmp_path / "store.sqlite3"
    store = TraversalStore(path)
    for n in range(3):
        store.add(traversal(n), None)
    assert [t.traversal_id[-1] for t in store.list()] == ["0", "1", "2"]
    assert [t.traversal_id[-1] for t in store.list(newest_first=True, limit=2)] == ["2", "1"]
    store.close()
    reopened = TraversalStore(path)
    assert reopened.count() == 3
    reopened.clear()
    assert reopened.count() == 0
    assert reopened.get("01TESTULID0000000000000000") is None
    reopened.close()


def test_create_app_checks_its_arguments() -> None:
    """A non-positive body limit is refused when the app is made."""
    from waygrid.devserver import create_app

    with pytest.raises(ValueError, match="max_body_bytes"):
        create_app(max_body_bytes=0)
