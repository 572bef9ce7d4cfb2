"""Hostile input never hurts anyone: bounded memory, a free event loop, JSON errors, a page that shows anything."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.wire import wire_node
from waygrid import JoinStrategy, Node, Spec
from waygrid.devserver import INVALID_BODY, TraversalStore
from waygrid.devserver._store import StoreBusyError
from waygrid.testing import DevApp

pytestmark = pytest.mark.anyio

MIB = 1_048_576


def hostile_body() -> bytes:
    """Issue 9's body: 1,000 nested arrays around ~523,000 zeros, just under the 1 MiB limit."""
    head = b'{"graph":1,"x":' + b"[" * 1000
    tail = b"]" * 1000 + b"}"
    zeros = (MIB - len(head) - len(tail) + 1) // 2
    body = head + b"0," * (zeros - 1) + b"0" + tail
    assert MIB - 2 <= len(body) <= MIB
    return body


def wide_fork_body(branches: int = 2_800) -> bytes:
    """A valid spec just under 1 MiB: one fork with thousands of branches (heavy to render)."""
    join = Node.join("waygrid://system/join").join_id("j").strategy(JoinStrategy.quorum(1))
    fork = (
        Node.fork("waygrid://system/fork")
        .join_id("j")
        .branches({f"b{i}": Node.standard(f"waygrid://p/a{i}") for i in range(branches)})
        .joined_by(join)
    )
    body = json.dumps({"graph": Spec.single(fork).to_dict()}).encode()
    assert len(body) <= MIB
    return body


def waygrid_command() -> list[str]:
    script = Path(sys.executable).with_name("waygrid")
    return [str(script)] if script.exists() else [sys.executable, "-m", "waygrid.cli"]


class DevProcess:
    """``waygrid dev --port 0`` in its own process, so its memory and event loop are its own."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [*waygrid_command(), "dev", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline()
        if "listening on" not in first:
            self.stop()
            pytest.fail(f"waygrid dev did not start: {first!r}")
        self.url = first.split()[-1]
        self.pid = self.process.pid

    def memory_kib(self) -> dict[str, int]:
        """VmRSS and VmHWM (peak) of the server, in KiB."""
        fields: dict[str, int] = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0])
        return fields

    def stop(self) -> str:
        self.process.terminate()
        _, err = self.process.communicate(timeout=30)
        return err


@pytest.fixture(scope="module")
def dev_process() -> Iterator[DevProcess]:
    """The dev server in a subprocess, shared by this module's tests."""
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc to read the server's memory")
    server = DevProcess()
    yield server
    err = server.stop()
    assert "Traceback" not in err, err


def health_latencies_while(url: str, work: Callable[[], Any]) -> tuple[list[float], float, Any]:
    """Poll ``/_dev/health`` while ``work()`` runs in another thread.

    Returns the health latencies, how long ``work`` took, and what it returned.
    """
    latencies: list[float] = []
    with httpx.Client(base_url=url, timeout=60) as http, ThreadPoolExecutor(1) as pool:
        assert http.get("/_dev/health").status_code == 200  # connected and warm
        started = time.perf_counter()
        future = pool.submit(work)
        while not future.done():
            sent = time.perf_counter()
            answer = http.get("/_dev/health")
            latencies.append(time.perf_counter() - sent)
            assert answer.status_code == 200
            time.sleep(0.01)
        result = future.result()
        duration = time.perf_counter() - started
    return latencies, duration, result


def post_concurrently(url: str, path: str, body: bytes | None, count: int) -> list[httpx.Response]:
    """``count`` requests at once (POST with ``body``, else GET), each on its own connection."""

    def one(_: int) -> httpx.Response:
        with httpx.Client(base_url=url, timeout=120) as http:
            if body is None:
                return http.get(path)
            return http.post(path, content=body)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


# --- Finding 1: 1 MiB costs 1 GiB ------------------------------------------------------------


def _under_limit(head: bytes, item: bytes, tail: bytes) -> bytes:
    """``head`` + as many comma-separated ``item`` as fit in 1 MiB + ``tail``."""
    count = (MIB - len(head) - len(tail) + 1) // (len(item) + 1)
    return head + b",".join([item] * count) + tail


HOSTILE_SHAPES = {
    "issue-9": hostile_body,
    "wide-zeros": lambda: _under_limit(b'{"graph":1,"x":[', b"0", b"]}"),
    "wide-strings": lambda: _under_limit(b'{"graph":1,"x":[', b'"\\u0000"', b"]}"),
}


@pytest.mark.parametrize("shape", sorted(HOSTILE_SHAPES))
def test_a_hostile_mebibyte_costs_a_small_multiple_of_its_size(shape: str) -> None:
    """A 1 MiB body the server echoes raises its peak memory by less than 10x the body's size."""
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc to read the server's memory")
    body = HOSTILE_SHAPES[shape]()
    assert MIB - 64 <= len(body) <= MIB
    server = DevProcess()  # its own process: the peak (VmHWM) is this body's alone
    try:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            # Warm up every code path first, so imports and caches are not counted.
            assert http.post("/v1/ingest", content=b'{"graph":1,"x":[[0,0]]}').status_code == 500
            before = server.memory_kib()
            answer = http.post("/v1/ingest", content=body)
            after = server.memory_kib()
    finally:
        err = server.stop()
    assert "Traceback" not in err, err
    assert answer.status_code == 500
    error = answer.json()["error"]
    assert error.startswith(INVALID_BODY)
    assert error.endswith("(truncated by the waygrid dev server)")
    growth = (after["VmHWM"] - before["VmRSS"]) * 1024
    assert growth < 10 * len(body), f"peak grew by {growth / MIB:.1f} MiB"


# --- Finding 2: CPU-heavy work runs off the event loop ------------------------------------------


def test_health_answers_while_hostile_bodies_are_decoded(dev_process: DevProcess) -> None:
    """Eight hostile 1 MiB bodies at once (twice the worker threads): health keeps answering."""
    body = hostile_body()
    latencies, duration, answers = health_latencies_while(
        dev_process.url, lambda: post_concurrently(dev_process.url, "/v1/ingest", body, 8)
    )
    assert [answer.status_code for answer in answers] == [500] * 8
    assert len(latencies) >= 3
    # Blocked by the decoding, health would wait about the whole duration. A C scan of one body
    # holds the GIL for tens of milliseconds, and eight can run back to back, so the bound is
    # half the duration (a quarter failed once in CI: 0.43 s of 1.31 s).
    assert max(latencies) < duration / 2, (max(latencies), duration)


def test_health_answers_while_big_traversals_are_rendered(dev_process: DevProcess) -> None:
    """Rendering a 1 MiB spec (detail and page) runs in a worker: health keeps answering."""
    accepted = httpx.post(f"{dev_process.url}/v1/ingest", content=wide_fork_body(), timeout=120)
    assert accepted.status_code == 200, accepted.text
    path = f"/_dev/traversals/{accepted.json()['traversalId']}"

    def render() -> list[httpx.Response]:
        return post_concurrently(dev_process.url, path, None, 3) + post_concurrently(
            dev_process.url, "/_dev/", None, 1
        )

    latencies, duration, answers = health_latencies_while(dev_process.url, render)
    assert [answer.status_code for answer in answers] == [200, 200, 200, 200]
    assert len(answers[0].json()["dag"]["nodes"]) > 2_800
    assert len(latencies) >= 3
    assert max(latencies) < duration / 4, (max(latencies), duration)


# --- Finding 3: whatever is accepted can be shown -------------------------------------------


def raw_body(label: str, payload: str) -> bytes:
    """A valid spec with a node ``label`` and a ``payload`` string, written as escaped JSON."""
    graph = Spec.single(Node.standard("waygrid://origin/http")).to_dict()
    graph["entryPoints"][0]["label"] = label
    return json.dumps({"graph": graph, "payload": {"text": payload}}).encode("ascii")


@pytest.mark.parametrize(
    "text",
    [
        chr(0xD800),
        chr(0xDFFF),
        f"a{chr(0xDC80)}b",
        "\x00",
        f"nul\x00and{chr(0xD83D)}",
        "\u2028\ufeff\x7f",
    ],
    ids=["high", "low", "inside", "nul", "mixed", "separators"],
)
async def test_anything_accepted_can_be_shown(text: str) -> None:
    """A lone surrogate or U+0000 in a label and payload: the page, list and detail still answer."""
    dev = DevApp()
    try:
        async with dev.http_client() as http:
            accepted = await http.post("/v1/ingest", content=raw_body(text, text))
            assert accepted.status_code == 200, accepted.text
            traversal_id = accepted.json()["traversalId"]
            page = await http.get("/_dev/")
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
            html = page.content.decode("utf-8")  # valid UTF-8 throughout
            assert traversal_id in html
            assert "\x00" not in html
            listing = await http.get("/_dev/traversals")
            assert listing.status_code == 200
            assert listing.json()["traversals"][0]["traversal_id"] == traversal_id
            detail = await http.get(f"/_dev/traversals/{traversal_id}")
            assert detail.status_code == 200
            shown = detail.json()
            assert shown["payload"] == {"text": text}
            assert shown["spec"]["entryPoints"][0]["label"] == text
            assert "problem" not in shown
    finally:
        dev.close()


# --- Finding 5: the /_dev/ routes check their input ----------------------------------------


def assert_json_error(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    body: dict[str, Any] = answer.json()
    assert isinstance(body["error"], str)
    assert isinstance(body["detail"]["reason"], str)
    return body


@pytest.fixture
async def dev() -> Any:
    """An in-process dev app and an httpx client on it."""
    app = DevApp()
    async with app.http_client() as client:
        yield app, client
    app.close()


@pytest.mark.parametrize(
    "limit", ["²", "-1", "abc", "1e3", "", " 1", "1.5", "1001", "9" * 30, "٣", "0x10"]
)
async def test_a_bad_limit_gets_a_json_400(
    dev: tuple[DevApp, httpx.AsyncClient], limit: str
) -> None:
    """``?limit=`` must be a plain integer from 0 to 1000."""
    _, http = dev
    body = assert_json_error(await http.get("/_dev/traversals", params={"limit": limit}), 400)
    assert body["detail"]["path"] == "limit"
    assert "1000" in body["detail"]["reason"]


async def test_limits_in_range_are_honoured(dev: tuple[DevApp, httpx.AsyncClient]) -> None:
    """0, 1 and the cap 1000 all work."""
    _, http = dev
    for _ in range(2):
        assert (await http.post("/v1/ingest", content=raw_body("x", "y"))).status_code == 200
    for limit, shown in (("0", 0), ("1", 1), ("1000", 2), ("0001", 1)):
        answer = await http.get(f"/_dev/traversals?limit={limit}")
        assert answer.status_code == 200
        assert len(answer.json()["traversals"]) == shown
        assert answer.json()["count"] == 2


@pytest.mark.parametrize(
    ("plan", "path"),
    [
        (b"[" * 2_000 + b"]" * 2_000, "$"),
        (b'{"fail":' + b"[" * 2_000 + b"]" * 2_000 + b"}", "$.fail"),
        (b'{"fail": 1, "fail": 2}', "$"),
        (b"{", "$"),
        (b"\xff", "$"),
        (b"NaN", "$"),
        (b'{"fail": -1}', "$.fail"),
        (b'{"fail": 1000000001}', "$.fail"),
        (b'{"fail": 1.5}', "$.fail"),
        (b'{"fail": true}', "$.fail"),
        (b'{"drop": "2"}', "$.drop"),
        (b'{"fail": 1, "status": 200}', "$.status"),
        (b'{"fail": 1, "status": 10000000000000000000000}', "$.status"),
        (b'{"fail": 1, "retry_after": -1}', "$.retry_after"),
        (b'{"fail": 1, "retry_after": 1e400}', "$.retry_after"),
        (b'{"fail": 1, "retry_after": ' + b"9" * 500 + b"}", "$.retry_after"),
        (b'{"drop": 1, "after_processing": 1}', "$.after_processing"),
        (b'{"nope": 1}', "$.nope"),
    ],
)
async def test_a_bad_fault_plan_gets_a_json_400(
    dev: tuple[DevApp, httpx.AsyncClient], plan: bytes, path: str
) -> None:
    """Deep, malformed, out-of-range or mistyped fault plans: 400 with the path, nothing planned."""
    app, http = dev
    body = assert_json_error(await http.post("/_dev/faults", content=plan), 400)
    assert body["error"].startswith("bad fault plan")
    assert body["detail"]["path"] == path
    assert app.state.pending_faults == 0


async def test_a_huge_fault_plan_gets_a_json_413(dev: tuple[DevApp, httpx.AsyncClient]) -> None:
    """A fault plan over 4 KiB is refused as it streams in."""
    _, http = dev
    plan = b'{"fail": 1, "x": "' + b"a" * (2 * MIB) + b'"}'
    assert_json_error(await http.post("/_dev/faults", content=plan), 413)


async def test_a_plan_of_millions_of_faults_costs_no_memory(
    dev: tuple[DevApp, httpx.AsyncClient],
) -> None:
    """``{"fail": 5000000}`` is a counter, not five million entries."""
    app, http = dev
    tracemalloc.start()
    try:
        answer = await http.post("/_dev/faults", json={"fail": 5_000_000, "status": 429})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert answer.json() == {"pending_faults": 5_000_000}
    assert peak < 1_000_000, peak
    again = await http.post("/_dev/faults", json={"fail": 1_000_000_000, "drop": 1})
    assert again.json() == {"pending_faults": 1_005_000_001}
    assert (await http.post("/v1/ingest", content=raw_body("x", "y"))).status_code == 429
    assert app.state.pending_faults == 1_005_000_000


async def test_faults_play_in_the_order_they_were_planned(
    dev: tuple[DevApp, httpx.AsyncClient],
) -> None:
    """Two plans: the first plan's faults all play before the second's."""
    app, http = dev
    app.fail_next(2, status=429)
    app.fail_next(1, status=503, retry_after=2)
    app.fail_next(1, status=503, retry_after=2)
    statuses = [
        (await http.post("/v1/ingest", content=raw_body("x", "y"))).status_code for _ in range(5)
    ]
    assert statuses == [429, 429, 503, 503, 200]
    assert app.state.pending_faults == 0


@pytest.mark.parametrize(
    "traversal_id",
    ["%ED%A0%80", "%00", "x" * 5000, "01arz3ndektsv4rrffq69g5fav", "01ARZ3NDEKTSV4RRFFQ69G5FAV%20"],
)
async def test_any_traversal_id_gets_a_json_404(
    dev: tuple[DevApp, httpx.AsyncClient], traversal_id: str
) -> None:
    """Ids that are no ULID (undecodable, NUL, huge) are a JSON 404, not a database error."""
    _, http = dev
    assert_json_error(await http.get(f"/_dev/traversals/{traversal_id}"), 404)


# --- Finding 8: a locked SQLite file stalls no one -----------------------------------------


def test_a_locked_database_gives_503s_and_stalls_no_one(tmp_path: Path) -> None:
    """Another process holds the --db file's write lock: ingest gets a JSON 503, health answers."""
    db = tmp_path / "dev.sqlite3"
    server = DevProcess("--db", str(db))
    holder = None
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            assert http.post("/v1/ingest", content=raw_body("x", "y")).status_code == 200
            holder = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "import sqlite3, sys\n"
                    f"db = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
                    "db.execute('BEGIN EXCLUSIVE')\n"
                    "print('locked', flush=True)\n"
                    "sys.stdin.readline()\n",
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "locked"
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                sqlite3.connect(db, timeout=0).execute("BEGIN EXCLUSIVE")

            latencies, duration, answers = health_latencies_while(
                server.url,
                lambda: post_concurrently(server.url, "/v1/ingest", raw_body("x", "y"), 3),
            )
            for answer in answers:
                body = assert_json_error(answer, 503)
                assert "locked" in body["error"]
                assert answer.headers["retry-after"] == "1"
            assert max(latencies) < duration / 4, (max(latencies), duration)
            listing = http.get("/_dev/traversals")  # reading still works under a write lock
            assert listing.status_code == 200
            assert listing.json()["count"] == 1
            assert http.get("/_dev/health").json()["traversals"] == 1

            assert holder.stdin is not None
            holder.stdin.write("\n")
            holder.stdin.flush()
            holder.wait(timeout=30)
            assert http.post("/v1/ingest", content=raw_body("x", "y")).status_code == 200
            assert http.get("/_dev/health").json()["traversals"] == 2
    finally:
        if holder is not None and holder.poll() is None:
            holder.kill()
            holder.wait()
        err = server.stop()
    assert "Traceback" not in err, err


# --- Finding 9: a null double is NaN, as on the server --------------------------------------


NAN_GRAPHS = {
    "float-parameter": wire_node(parameters={"x": {"type": "FloatVal", "value": None}}),
    "polynomial-power": wire_node(
        retryPolicy={"type": "Polynomial", "base": "1s", "maxRetries": 3, "power": None}
    ),
}


@pytest.mark.parametrize("name", sorted(NAN_GRAPHS))
@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
async def test_a_null_double_is_accepted_and_round_trips_over_http(
    waygrid_server: Any, strict_server: Any, name: str, strict: bool
) -> None:
    """A null FloatVal or Polynomial power is accepted over TCP and shown back as null."""
    server = strict_server if strict else waygrid_server
    graph = {"entryPoints": [NAN_GRAPHS[name]], "repeatPolicy": {"type": "NoRepeat"}}
    async with server.http_client() as http:
        first = await http.post("/v1/ingest", content=json.dumps({"graph": graph}))
        assert first.status_code == 200, first.text
        again = await http.post("/v1/ingest", content=json.dumps({"graph": graph}))
        assert again.json()["dagHash"] == first.json()["dagHash"]
        detail = await http.get(f"/_dev/traversals/{first.json()['traversalId']}")
        assert detail.status_code == 200
        shown = detail.json()
        assert "problem" not in shown, shown.get("problem")
        assert shown["spec"] == graph
        assert shown["dag_hash"] == first.json()["dagHash"]
        resubmitted = await http.post("/v1/ingest", content=json.dumps({"graph": shown["spec"]}))
        assert resubmitted.json()["dagHash"] == first.json()["dagHash"]
        page = await http.get("/_dev/")
        assert page.status_code == 200
        assert first.json()["traversalId"] in page.text


@pytest.mark.parametrize(
    "payload",
    [b"1e999", b"[-1e999,1e999]", b"[" * 5000 + b"]" * 5000, b'{"a":' * 3000 + b"1" + b"}" * 3000],
    ids=["infinity", "infinities", "deep-array", "deep-object"],
)
async def test_payloads_beyond_the_json_encoder_are_shown(
    dev: tuple[DevApp, httpx.AsyncClient], payload: bytes
) -> None:
    """Infinite literals and deeply nested payloads: the detail and the page still show them."""
    _, http = dev
    graph = Spec.single(Node.standard("waygrid://origin/http")).to_json().encode()
    body = b'{"graph":' + graph + b',"payload":' + payload + b"}"
    accepted = await http.post("/v1/ingest", content=body)
    assert accepted.status_code == 200, accepted.text
    detail = await http.get(f"/_dev/traversals/{accepted.json()['traversalId']}")
    assert detail.status_code == 200
    assert detail.headers["content-type"] == "application/json"
    assert b'"problem"' not in detail.content
    assert b'"payload":' + payload + b',"has_payload":true' in detail.content  # as sent
    page = await http.get("/_dev/")
    assert page.status_code == 200
    assert "cannot be shown" not in page.text


def test_a_store_opens_while_another_process_holds_the_write_lock(tmp_path: Path) -> None:
    """Opening an existing --db file writes nothing, so a held write lock does not stop a start."""
    db = tmp_path / "dev.sqlite3"
    TraversalStore(db).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        store = TraversalStore(db, busy_timeout=0.2)
        assert store.count() == 0
        assert store.list() == []
        with pytest.raises(StoreBusyError, match="locked"):
            store.clear()
        store.close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
