"""`make demo` end to end: the published workflows, the dev server, both example apps."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_make_demo_runs_and_submits_everything() -> None:
    """The demo validates and submits every workflow and runs both examples without errors."""
    done = subprocess.run(
        [sys.executable, "-m", "examples.demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert out.count("flowchart TD") == 5
    submitted = re.findall(r"traversalId ([0-9A-HJKMNP-TV-Z]{26})  dagHash ([0-9a-f]{16})", out)
    assert len(submitted) == 5
    assert "the dev server holds 5 traversals" in out
    assert "FastAPI example" in out and '"status":"submitted"' in out
    assert "Django example" in out and "submitted" in out.split("Django example", 1)[1]
    assert "Traceback" not in done.stderr
