"""The ``waygrid`` command, run in-process through ``main([...])`` and as a real program."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from waygrid import Condition, Node, Spec
from waygrid.cli import main
from waygrid.testing import DevServer

CHAIN = Spec.single(
    Node.standard("waygrid://origin/http").on_success(
        Node.standard("waygrid://destination/webhook")
    )
)
CHAIN_HASH = "33045bcbb7538639"
ONE_BRANCH_FORK = {
    "entryPoints": [
        {
            "type": "fork",
            "address": "waygrid://system/fork",
            "retryPolicy": {"type": "None"},
            "deliveryStrategy": {"type": "Immediate"},
            "branches": {
                "only": {
                    "type": "standard",
                    "address": "waygrid://processor/a",
                    "retryPolicy": {"type": "None"},
                    "deliveryStrategy": {"type": "Immediate"},
                }
            },
            "joinNodeId": "j",
        }
    ],
    "repeatPolicy": {"type": "NoRepeat"},
}
TWO_ALWAYS = Spec.single(
    Node.standard("waygrid://processor/a").on_conditions(
        [
            Condition.when(Condition.ALWAYS, Node.standard("waygrid://processor/b")),
            Condition.when(Condition.ALWAYS, Node.standard("waygrid://processor/c")),
        ]
    )
)


def write(tmp_path: Path, name: str, content: Any) -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, out, err


# --- Usage ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [[], ["validate"], ["render"], ["hash"], ["submit"], ["dev"]])
def test_every_command_has_help(capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    """--help prints usage and exits 0 for the program and each command."""
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    assert "usage: waygrid" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv", [[], ["frobnicate"], ["validate"], ["render", "a", "--format", "svg"]]
)
def test_usage_mistakes_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    """A missing command, an unknown one or a bad option: one line on stderr, exit status 2."""
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("waygrid") and ": error: " in line and "--help" in line


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints the SDK version."""
    from waygrid import __version__

    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"waygrid {__version__}"


# --- validate ----------------------------------------------------------------------------------


def test_validate_a_valid_spec(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A valid spec: "ok" with its dagHash, exit 0."""
    path = write(tmp_path, "chain.json", CHAIN.to_json())
    status, out, _ = run(capsys, "validate", path)
    assert status == 0
    assert out == f"{path}: ok (dagHash {CHAIN_HASH})\n"


def test_validate_prints_warnings_and_strict_fails_on_them(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Warnings are listed with code and path; --strict turns them into a failure."""
    path = write(tmp_path, "always.json", TWO_ALWAYS.to_json())
    status, out, _ = run(capsys, "validate", path)
    assert status == 0
    assert "warning [multiple-always-conditions] at $.entryPoints[0].onConditions" in out
    status, out, _ = run(capsys, "validate", "--strict", path)
    assert status == 1
    assert "invalid" in out


def test_validate_reports_compiler_errors_with_codes_and_paths(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A graph the server rejects: every issue with code, path and hint; exit 1."""
    path = write(tmp_path, "fork.json", ONE_BRANCH_FORK)
    status, out, _ = run(capsys, "validate", path)
    assert status == 1
    assert out.startswith(f"{path}: invalid (")
    assert "error [fork-insufficient-branches] at $.entryPoints[0]" in out
    assert "hint:" in out


def test_validate_reports_decode_errors_with_the_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A field the server does not know: the path of the bad value."""
    graph = CHAIN.to_dict()
    graph["entryPoints"][0]["retryPolicy"] = {"type": "NoRetry"}
    status, out, _ = run(capsys, "validate", write(tmp_path, "bad.json", graph))
    assert status == 1
    assert "at $.entryPoints[0].retryPolicy.type" in out


def test_validate_several_files_fails_if_one_fails(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Each file gets its line; the exit status is 1 when any is invalid or unreadable."""
    good = write(tmp_path, "good.json", CHAIN.to_json())
    bad = write(tmp_path, "bad.json", ONE_BRANCH_FORK)
    missing = str(tmp_path / "missing.json")
    status, out, err = run(capsys, "validate", good, bad, missing)
    assert status == 1
    assert f"{good}: ok" in out
    assert f"{bad}: invalid" in out
    assert f"error: {missing}: cannot read: No such file or directory" in err


def test_validate_reports_bad_json_on_stderr(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Text that is not JSON (or has duplicate keys): a one-line error, exit 1."""
    status, _, err = run(capsys, "validate", write(tmp_path, "dup.json", '{"a": 1, "a": 2}'))
    assert status == 1
    assert "not valid JSON: duplicate key 'a'" in err


def test_validate_reads_envelopes_and_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A whole request body {"graph": ...} works too, and "-" reads standard input."""
    body = json.dumps({"graph": CHAIN.to_dict(), "payload": {"a": 1}}).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(body)))
    status, out, _ = run(capsys, "validate", "-")
    assert status == 0
    assert out == f"-: ok (dagHash {CHAIN_HASH})\n"


def test_validate_as_server_drops_the_documented_leniencies(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Missing policies are fine for the SDK but not with --as-server."""
    graph = CHAIN.to_dict()
    del graph["entryPoints"][0]["retryPolicy"]
    path = write(tmp_path, "lenient.json", graph)
    assert run(capsys, "validate", path)[0] == 0
    status, out, _ = run(capsys, "validate", "--as-server", path)
    assert status == 1
    assert "$.entryPoints[0].retryPolicy" in out


# --- render and hash -----------------------------------------------------------------------------


def test_render_mermaid_and_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Mermaid by default; --format json gives the compiled DAG with the dagHash."""
    path = write(tmp_path, "chain.json", CHAIN.to_json())
    status, out, _ = run(capsys, "render", path)
    assert status == 0
    assert out == CHAIN.to_mermaid()
    status, out, _ = run(capsys, "render", "--format", "json", path)
    dag = json.loads(out)
    assert dag["dagHash"] == CHAIN_HASH
    assert [node["address"] for node in dag["nodes"]] == [
        "waygrid://origin/http",
        "waygrid://destination/webhook",
    ]
    assert dag["edges"][0]["guard"] == "OnSuccess"


def test_render_an_invalid_graph_fails(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """An invalid graph is explained on stderr, exit 1."""
    status, out, err = run(capsys, "render", write(tmp_path, "fork.json", ONE_BRANCH_FORK))
    assert status == 1
    assert out == ""
    assert "fork-insufficient-branches" in err


def test_hash_prints_the_servers_dag_hash(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """One file: just the hash; several: hash and name per line."""
    chain = write(tmp_path, "chain.json", CHAIN.to_json())
    single = write(
        tmp_path, "single.json", Spec.single(Node.standard("waygrid://origin/http")).to_json()
    )
    assert run(capsys, "hash", chain)[1] == f"{CHAIN_HASH}\n"
    status, out, _ = run(capsys, "hash", chain, single)
    assert status == 0
    assert out.splitlines() == [f"{CHAIN_HASH}  {chain}", f"29daf8be681ebabc  {single}"]


# --- submit ------------------------------------------------------------------------------------------


def test_submit_prints_the_servers_answer(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, waygrid_server: DevServer
) -> None:
    """The traversal id and dagHash as JSON; the payload reaches the server."""
    path = write(tmp_path, "chain.json", CHAIN.to_json())
    status, out, _ = run(
        capsys, "submit", path, "--base-url", waygrid_server.base_url, "--payload", '{"n": 1}'
    )
    assert status == 0
    answer = json.loads(out)
    assert answer["dagHash"] == CHAIN_HASH
    stored = waygrid_server.traversals()
    assert [t.traversal_id for t in stored] == [answer["traversalId"]]
    assert stored[0].payload == {"n": 1}


def test_submit_reads_the_environment_and_payload_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """WAYGRID_BASE_URL and WAYGRID_API_KEY are used; --payload @FILE reads a file."""
    with DevServer(api_key="s3cret") as server:
        monkeypatch.setenv("WAYGRID_BASE_URL", server.base_url)
        monkeypatch.setenv("WAYGRID_API_KEY", "s3cret")
        payload = write(tmp_path, "payload.json", {"from": "file"})
        status, _, _ = run(
            capsys, "submit", write(tmp_path, "c.json", CHAIN.to_json()), "--payload", f"@{payload}"
        )
        assert status == 0
        assert server.traversals()[0].payload == {"from": "file"}
        monkeypatch.setenv("WAYGRID_API_KEY", "wrong")
        status, _, err = run(capsys, "submit", str(tmp_path / "c.json"))
    assert status == 1
    assert "401" in err
    assert "wrong" not in err


def test_submit_uses_the_payload_of_an_envelope_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, waygrid_server: DevServer
) -> None:
    """A {"graph", "payload"} file sends its payload."""
    path = write(tmp_path, "body.json", {"graph": CHAIN.to_dict(), "payload": [1, 2]})
    assert run(capsys, "submit", path, "--base-url", waygrid_server.base_url)[0] == 0
    assert waygrid_server.traversals()[0].payload == [1, 2]


def test_submit_reports_a_rejected_spec(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, waygrid_server: DevServer
) -> None:
    """Checked locally by default; with --no-validate the server's rejection is shown, exit 1."""
    path = write(tmp_path, "fork.json", ONE_BRANCH_FORK)
    status, _, err = run(capsys, "submit", path, "--base-url", waygrid_server.base_url)
    assert status == 1
    assert "fork-insufficient-branches" in err
    assert waygrid_server.ingest_requests == 0
    status, _, err = run(
        capsys, "submit", path, "--no-validate", "--base-url", waygrid_server.base_url
    )
    assert status == 1
    assert "RouteCompilerError" in err
    assert waygrid_server.ingest_requests == 1


def test_submit_to_a_server_that_is_down(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Nothing listening: a hint to start the dev server, exit 1."""
    with DevServer() as server:
        base_url = server.base_url  # free again once stopped
    path = write(tmp_path, "chain.json", CHAIN.to_json())
    status, _, err = run(capsys, "submit", path, "--base-url", base_url, "--max-retries", "0")
    assert status == 1
    assert f"cannot reach the Waygrid server at {base_url}" in err
    assert "waygrid dev" in err


def test_submit_rejects_a_bad_payload(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """--payload that is not JSON is a user mistake, reported before any request."""
    path = write(tmp_path, "chain.json", CHAIN.to_json())
    status, _, err = run(capsys, "submit", path, "--payload", "{oops")
    assert status == 1
    assert "the payload is not valid JSON" in err


# --- dev -------------------------------------------------------------------------------------------


def test_dev_on_a_busy_port_fails_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    """The address is taken: one error line, exit 1."""
    with DevServer() as server:
        status, _, err = run(capsys, "dev", "--port", str(server.port))
    assert status == 1
    assert f"cannot listen on 127.0.0.1:{server.port}" in err


def test_dev_checks_the_body_limit(capsys: pytest.CaptureFixture[str]) -> None:
    """A body limit below 1 is a usage error naming the option."""
    with pytest.raises(SystemExit) as exited:
        main(["dev", "--max-body-bytes", "0"])
    assert exited.value.code == 2
    assert "argument --max-body-bytes: must be an integer >= 1" in capsys.readouterr().err


# --- As a real program -------------------------------------------------------------------------------


def waygrid_command() -> list[str]:
    script = Path(sys.executable).with_name("waygrid")
    return [str(script)] if script.exists() else [sys.executable, "-m", "waygrid.cli"]


def test_the_installed_command_prints_help() -> None:
    """``waygrid --help`` works as an installed console script."""
    done = subprocess.run(
        [*waygrid_command(), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0
    for command in ("validate", "render", "hash", "submit", "dev"):
        assert command in done.stdout


def test_waygrid_dev_starts_serves_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    """``waygrid dev --port 0`` prints its URL, serves, and exits 0 on SIGINT (start-up time: make bench)."""
    db = tmp_path / "dev.sqlite3"
    process = subprocess.Popen(
        [*waygrid_command(), "dev", "--port", "0", "--strict", "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("Waygrid dev server listening on http://127.0.0.1:"), first
        url = first.split()[-1]
        health = httpx.get(f"{url}/_dev/health").json()
        assert health["strict"] is True
        assert health["storage"] == str(db)
        answer = httpx.post(f"{url}/v1/ingest", json={"graph": CHAIN.to_dict()})
        assert answer.json()["dagHash"] == CHAIN_HASH
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Waygrid dev server stopped." in out
    assert "Traceback" not in err
    assert db.exists()
