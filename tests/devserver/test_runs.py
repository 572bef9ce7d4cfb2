"""The dev server runs what it accepts: simulated traversals replayed on the real clock."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from waygrid import Node, RetryPolicy, Spec, simulate
from waygrid.devserver import Traversal, TraversalStore
from waygrid.testing import DevServer

FAST = 1_000_000.0
SCRIPT = {"charge": ["fail", "fail", {"outcome": "ok", "afterMs": 250}]}


def payment() -> Spec:
    """charge (linear 1 s retry, 3 attempts) then notify; a deadletter on failure."""
    return Spec.single(
        Node.standard("waygrid://processor/charge")
        .label("charge")
        .with_retry(RetryPolicy.linear(timedelta(seconds=1), 3))
        .on_success(Node.standard("waygrid://destination/webhook").label("notify"))
        .on_failure(Node.standard("waygrid://destination/deadletter").label("deadletter"))
    )


def submit(server: DevServer, spec: Spec) -> str:
    """POST the spec over HTTP; the traversal id."""
    response = httpx.post(f"{server.base_url}/v1/ingest", json={"graph": spec.to_dict()})
    assert response.status_code == 200, response.text
    traversal_id: str = response.json()["traversalId"]
    return traversal_id


def detail(server: DevServer, traversal_id: str, suffix: str = "") -> dict[str, object]:
    """GET /_dev/traversals/{id}[suffix] as JSON (200 expected)."""
    response = httpx.get(f"{server.base_url}/_dev/traversals/{traversal_id}{suffix}")
    assert response.status_code == 200, response.text
    document: dict[str, object] = response.json()
    return document


def test_a_traversal_runs_with_the_start_up_script_over_http() -> None:
    """The detail gains status, dispatches and events exactly as `simulate` gives them."""
    spec = payment()
    with DevServer(speed=FAST, script=SCRIPT) as server:
        tid = submit(server, spec)
        assert server.wait_for_status(tid) == "completed"
        document = detail(server, tid)
    expected = simulate(spec, script=SCRIPT).to_dict()
    assert document["status"] == "completed"
    assert document["dispatches"] == expected["dispatches"]
    assert document["events"] == expected["events"]
    assert document["node_states"] == {"charge": "succeeded", "notify": "succeeded"}
    assert "completed after" in str(document["timeline"])
    assert "class n" in str(document["mermaid_run"]) and "succeeded" in str(document["mermaid_run"])
    assert document["spec"] == spec.to_dict()  # what the detail had before is still there


def test_every_node_succeeds_by_default() -> None:
    """No script: each node is dispatched once and the traversal completes."""
    with DevServer(speed=FAST) as server:
        tid = submit(server, payment())
        assert server.wait_for_status(tid) == "completed"
        run = detail(server, tid, "/run")
        simulation = server.simulation(tid)
    assert run["dispatches"] == [["charge", 0, 1], ["notify", 0, 1]]
    assert simulation is not None and simulation.attempts("charge") == 1


def test_the_script_set_at_run_time_applies_to_later_traversals() -> None:
    """PUT /_dev/script: the next traversal fails over to the deadletter; the first is unchanged."""
    with DevServer(speed=FAST) as server:
        first = submit(server, payment())
        response = httpx.put(f"{server.base_url}/_dev/script", json={"charge": "fail"})
        assert response.status_code == 200, response.text
        assert response.json() == {"script": {"charge": "fail"}}
        assert httpx.get(f"{server.base_url}/_dev/script").json() == {"script": {"charge": "fail"}}
        second = submit(server, payment())
        assert server.wait_for_status(first) == "completed"
        assert server.wait_for_status(second) == "completed"  # via the failure path
        simulation = server.simulation(second)
        states = detail(server, second)["node_states"]
    assert simulation is not None
    assert simulation.attempts("charge") == 4 and simulation.ran("deadletter")
    assert not simulation.ran("notify")
    assert states == {"charge": "failed", "deadletter": "succeeded"}


def test_a_bad_run_time_script_is_a_json_error_with_a_path() -> None:
    """Bad scripts get 400 with the path, oversize ones 413, wrong keys 401; nothing changes."""
    with DevServer(speed=FAST, api_key="k3y", script={"charge": "ok"}) as server:
        url = f"{server.base_url}/_dev/script"
        auth = {"Authorization": "Bearer k3y"}
        bad = httpx.put(url, json={"charge": [{"outcome": "ok", "afterMs": -1}]}, headers=auth)
        assert bad.status_code == 400
        assert bad.json()["detail"]["path"] == "script['charge'][0].afterMs"
        for body in (b"[1]", b"{", b'{"a": "maybe"}', b"\xff"):
            response = httpx.put(url, content=body, headers=auth)
            assert response.status_code == 400, body
            assert response.json()["error"].startswith("bad script"), response.text
        huge = httpx.put(url, content=b" " * 70_000, headers=auth)
        assert huge.status_code == 413 and "error" in huge.json()
        assert httpx.put(url, json={}).status_code == 401
        assert httpx.get(url).json() == {"script": {"charge": "ok"}}


def test_the_replay_follows_the_real_clock() -> None:
    """At speed 1 an answer an hour away is still running: later events are not shown yet."""
    script = {"charge": {"outcome": "ok", "afterMs": 3_600_000}}
    with DevServer(script=script) as server:
        tid = submit(server, payment())
        run = detail(server, tid, "/run")
    assert run["status"] == "running"
    assert run["dispatches"] == [["charge", 0, 1]]
    assert [event["kind"] for event in run["events"]] == ["start", "dispatch"]  # type: ignore[index,union-attr]
    assert run["node_states"] == {"charge": "running"}
    assert str(run["timeline"]).splitlines()[-1].startswith("running")


def test_no_run_only_stores(tmp_path: Path) -> None:
    """--no-run: the detail is today's (no status), the run route is a JSON 404."""
    with DevServer(run=False) as server:
        tid = submit(server, payment())
        document = detail(server, tid)
        response = httpx.get(f"{server.base_url}/_dev/traversals/{tid}/run")
        page = httpx.get(f"{server.base_url}/_dev/")
    assert "status" not in document and "events" not in document
    assert response.status_code == 404 and "--no-run" in response.json()["detail"]["reason"]
    assert page.status_code == 200 and 'class="timeline"' not in page.text


def test_a_traversal_that_cannot_be_simulated_shows_why(tmp_path: Path) -> None:
    """A stored spec the compiler now rejects: "not simulated: reason", the page still works."""
    db = tmp_path / "dev.sqlite3"
    graph = payment().to_dict()
    graph["entryPoints"] = [
        {
            "type": "fork",
            "address": "waygrid://system/waystation",
            "joinNodeId": "j",
            "branches": {"only": graph["entryPoints"][0]},
        }
    ]
    store = TraversalStore(db)
    body = json.dumps({"graph": graph}).encode()
    stored, _ = store.add_new(
        lambda: Traversal(
            "01ARZ3NDEKTSV4RRFFQ69G5FAV", "0" * 16, "2030-01-01T00:00:00.000Z", None, body
        ),
        None,
        None,
    )
    store.close()
    assert stored is not None
    with DevServer(db_path=db, speed=FAST) as server:
        run = detail(server, stored.traversal_id, "/run")
        page = httpx.get(f"{server.base_url}/_dev/")
        assert server.wait_for_status(stored.traversal_id) == "not simulated"
    assert run["status"] == "not simulated"
    assert str(run["simulation_problem"])
    assert str(run["timeline"]).startswith("not simulated: ")
    assert page.status_code == 200 and "not simulated: " in page.text


def test_the_fixture_helpers_wait_and_script(waygrid_server: DevServer) -> None:
    """The session fixture runs fast: set_script, then wait_for_status sees the failure."""
    waygrid_server.set_script({"charge": "fail"})
    spec = Spec.single(Node.standard("waygrid://processor/charge").label("charge"))
    tid = submit(waygrid_server, spec)
    assert waygrid_server.wait_for_status(tid) == "failed"
    with pytest.raises(ValueError, match="unknown outcome"):
        waygrid_server.set_script({"charge": "maybe"})
    with pytest.raises(KeyError):
        waygrid_server.wait_for_status("01ARZ3NDEKTSV4RRFFQ69G5FAV")


def test_wait_for_status_times_out_on_a_slow_replay() -> None:
    """At speed 1, an answer an hour away: TimeoutError, not a hang."""
    with DevServer(script={"charge": {"outcome": "ok", "afterMs": 3_600_000}}) as server:
        tid = submit(server, payment())
        with pytest.raises(TimeoutError, match="still running"):
            server.wait_for_status(tid, timeout=0.05)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--speed", "0"], "argument --speed: must be a number above 0"),
        (["--speed", "nan"], "argument --speed: must be a number above 0"),
        (["--speed", "fast"], "argument --speed: must be a number above 0"),
        (["--script", '{"a": "maybe"}'], "argument --script: script['a']: unknown outcome"),
        (["--script", "{"], "argument --script: --script: not valid JSON"),
        (["--script", "/no/such/file.json"], "argument --script: /no/such/file.json: cannot read"),
    ],
)
def test_bad_dev_options_are_one_line_usage_errors(arguments: list[str], message: str) -> None:
    """waygrid dev with a bad --speed or --script: one line on stderr, exit status 2."""
    done = subprocess.run(
        [str(Path(sys.executable).with_name("waygrid")), "dev", "--port", "0", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert message in done.stderr, done.stderr


def test_an_evicted_run_is_simulated_again_with_its_own_script() -> None:
    """Past the cache's size, a run is recomputed with the script its traversal was accepted with."""
    from waygrid.devserver._runs import _CACHE_RUNS, Runs

    runs = Runs(enabled=True, speed=FAST, script={"charge": "fail"})
    body = json.dumps({"graph": payment().to_dict()}).encode()

    def traversal(number: int) -> Traversal:
        return Traversal(
            f"01ARZ3NDEKTSV4RRFF{number:08d}", "0" * 16, "2030-01-01T00:00:00.000Z", None, body
        )

    first = traversal(0)
    runs.accepted(first.traversal_id)
    before = runs.simulation(first)
    runs.set_script({})
    for number in range(1, _CACHE_RUNS + 2):
        runs.run_of(traversal(number))
    again = runs.simulation(first)
    assert again is not before and again == before  # recomputed, and still with "fail"
    assert again is not None and again.ran("deadletter")
    other = runs.simulation(traversal(1))
    assert other is not None and not other.ran("deadletter")
