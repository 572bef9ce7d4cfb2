"""`make demo` end to end: the published workflows, the dev server, both example apps."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from examples.demo import show_all
from examples.workflows import WORKFLOWS
from waygrid import Spec

ROOT = Path(__file__).resolve().parents[2]


def test_make_demo_runs_and_submits_everything(tmp_path: Path) -> None:
    """The demo explains itself, summarises and submits every workflow, runs both examples."""
    out_dir = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "examples.demo", "--out", str(out_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert out.startswith("Waygrid runs traversals.")
    assert "it drops the\npayload and nothing executes the traversal yet" in out
    summaries = re.findall(r"valid  dagHash ([0-9a-f]{16})\s+(\d+) nodes  (\S+\.json)", out)
    assert len(summaries) == len(WORKFLOWS) == 5
    for (dag_hash, nodes, json_file), build in zip(summaries, WORKFLOWS.values(), strict=True):
        spec = Spec.from_json(Path(json_file).read_text(encoding="utf-8"))
        assert spec == build()
        assert (dag_hash, int(nodes)) == (spec.compile().dag_hash, len(spec.compile().nodes))
        assert (
            Path(json_file)
            .with_suffix(".mmd")
            .read_text(encoding="utf-8")
            .startswith("flowchart TD")
        )
    assert "flowchart TD" not in out and '"entryPoints"' not in out  # behind --verbose
    assert "warning: warning" not in out and "warning [unsupported-by-server] at $." in out
    submitted = re.findall(r"traversalId ([0-9A-HJKMNP-TV-Z]{26})  dagHash ([0-9a-f]{16})", out)
    assert [dag_hash for _, dag_hash in submitted] == [s[0] for s in summaries]
    assert "the dev server holds 5 traversals" in out
    assert out.count("ran: completed") == 5  # the dev server ran each one to its end
    simulated = out.split("== 2. What they would do", 1)[1].split("== 3.", 1)[0]
    assert simulated.count("every node succeeds: completed") == 5
    # The failing processor: retries at the server's exact delays, then the traversal fails.
    assert "AI Processing #2: fail, retry #3 at +3.375s" in simulated
    assert "AI Processing #4: fail\n  failed after +7.605s" in simulated
    assert "join failed" in simulated and "Report failure #1: ok" in simulated  # failure path
    assert "+30.000s  join timed out" in simulated and "Partial results #1: ok" in simulated
    assert "today's server runtime would misbehave: " in out  # validate()'s runtime warnings
    assert "FastAPI example" in out and '"status":"submitted"' in out
    django = out.split("Django example", 1)[1]
    assert "submitted" in django
    # Errors are wrapped, never cut: every "last error" ends with the exception's closing text.
    assert "All connection attempts failed)" in django
    assert out.rstrip().endswith("go on from here.") and "http://127.0.0.1:1337/_dev/" in out
    assert len(out.splitlines()) < 160
    assert "Traceback" not in done.stderr


def test_verbose_prints_json_and_mermaid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--verbose adds each workflow's JSON and Mermaid diagram to the summary."""
    show_all(tmp_path, verbose=True)
    out = capsys.readouterr().out
    assert out.count("flowchart TD") == 5
    assert out.count('JSON (what POST /v1/ingest receives as "graph"):') == 5
    assert len(list(tmp_path.glob("*.json"))) == len(list(tmp_path.glob("*.mmd"))) == 5
