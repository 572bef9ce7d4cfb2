"""``waygrid simulate``: the timeline, --json, --expect and one-line errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from waygrid import JoinStrategy, Node, RetryPolicy, Spec
from waygrid.cli import main

CHARGE = Spec.single(
    Node.standard("waygrid://processor/charge")
    .label("charge")
    .with_retry(RetryPolicy.exponential(timedelta(seconds=1), 3))
    .on_success(Node.standard("waygrid://destination/webhook").label("notify"))
)
VECTORS = Path(__file__).resolve().parent.parent / "sim-vectors"


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    """The charge -> notify spec as a JSON file."""
    path = tmp_path / "spec.json"
    path.write_text(CHARGE.to_json(), encoding="utf-8")
    return path


def test_prints_the_timeline_and_how_it_ended(
    spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each line has the time, node, attempt and what happened; the last says how it ended."""
    status = main(["simulate", str(spec_file), "--script", '{"charge": ["fail", "fail", "ok"]}'])
    out = capsys.readouterr().out
    assert status == 0
    assert "+1.075s  charge  #2  dispatched" in out
    assert "+3.375s  notify" in out
    assert out.rstrip().splitlines()[-1] == "completed after +3.375s"


def test_script_from_a_file_and_json_output(
    spec_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--script reads a file; --json prints to_dict()."""
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"charge": "fail"}), encoding="utf-8")
    status = main(["simulate", str(spec_file), "--script", str(script), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert status == 0
    assert data["status"] == "failed" and data["mode"] == "intended"
    assert [d[1] for d in data["dispatches"]] == [0, 1075, 3375, 7605]


@pytest.mark.parametrize(("expect", "code"), [("failed", 0), ("completed", 1)])
def test_expect_sets_the_exit_status(
    spec_file: Path, expect: str, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """--expect STATUS exits 0 when the run ends so, 1 otherwise (saying what happened)."""
    status = main(
        ["simulate", str(spec_file), "--script", '{"charge": "fail"}', "--expect", expect]
    )
    assert status == code
    err = capsys.readouterr().err
    assert (err == "") if code == 0 else ("expected completed, got failed" in err)


def test_upstream_mode_and_seed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--mode upstream reproduces the server's defects: a woven join with a continuation stalls."""
    join = (
        Node.join("waygrid://system/waystation")
        .join_id("j")
        .strategy(JoinStrategy.AND)
        .on_success(Node.standard("waygrid://processor/after").label("after"))
    )
    fork = (
        Node.fork("waygrid://system/waystation")
        .join_id("j")
        .branches(
            {
                "a": Node.standard("waygrid://processor/a"),
                "b": Node.standard("waygrid://processor/b"),
            }
        )
        .joined_by(join)
    )
    path = tmp_path / "fork.json"
    path.write_text(Spec.single(Node.standard("waygrid://processor/s").on_success(fork)).to_json())
    assert (
        main(["simulate", str(path), "--mode", "upstream", "--seed", "3", "--expect", "stalled"])
        == 0
    )
    assert "InvalidNodeState" in capsys.readouterr().out
    assert main(["simulate", str(path), "--expect", "completed"]) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--script", '{"nope": "ok"}'], "error: script['nope']: no standard node"),
        (["--script", "{not json"], "error: --script: not valid JSON"),
        (["--script", "/no/such/file.json"], "error: /no/such/file.json: cannot read"),
        (["--script", '{"charge": {"outcome": "ok", "afterMs": -5}}'], "afterMs"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    spec_file: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad script is reported on one line with exit status 2."""
    assert main(["simulate", str(spec_file), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_bad_spec_files_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Unreadable, non-JSON, undecodable and rejected specs: one line each, exit status 2."""
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    undecodable = tmp_path / "undecodable.json"
    undecodable.write_text('{"entryPoints": 3}', encoding="utf-8")
    rejected = tmp_path / "rejected.json"
    fork = (
        Node.fork("waygrid://system/waystation")
        .join_id("j")
        .branches(
            {
                "a": Node.standard("waygrid://processor/a"),
                "b": Node.standard("waygrid://processor/b"),
            }
        )
    )
    rejected.write_text(Spec.single(fork).to_json(), encoding="utf-8")
    for path, text in [
        (tmp_path / "missing.json", "cannot read"),
        (broken, "not valid JSON"),
        (undecodable, "not a valid spec"),
        (rejected, "rejected: error [fork-without-join]"),
    ]:
        assert main(["simulate", str(path)]) == 2
        err = capsys.readouterr().err
        assert text in err and err.count("\n") == 1, err


def test_usage_errors_exit_2(spec_file: Path) -> None:
    """A bad --mode, --seed or --expect is a usage error (argparse, exit status 2)."""
    for args in (["--mode", "fast"], ["--seed", "x"], ["--expect", "done"]):
        with pytest.raises(SystemExit) as stop:
            main(["simulate", str(spec_file), *args])
        assert stop.value.code == 2


def test_runs_as_a_program_on_a_shared_vector() -> None:
    """The installed command simulates a shared vector's spec and checks its status."""
    vec = json.loads((VECTORS / "fj-and-continuation--intended.json").read_text(encoding="utf-8"))
    done = subprocess.run(
        [sys.executable, "-m", "waygrid.cli", "simulate", "-", "--script", json.dumps(vec["script"]),
         "--expect", vec["expect"]["status"]],
        input=json.dumps(vec["spec"]),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("completed after +300ms")
