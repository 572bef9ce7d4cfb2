"""Simulation.to_mermaid(): a Gantt chart the bundled Mermaid draws, whatever the labels."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from pathlib import Path

from tests.devserver.test_browser import dump_dom, find_browser
from waygrid import JoinStrategy, Node, RetryPolicy, Spec
from waygrid.dag import mermaid_script
from waygrid.simulate import Simulation, simulate

NASTY = 'pay: "now" #1; section x\n%%{init}%%'


def run_with_awkward_labels() -> Simulation:
    """An OR fork/join with a retried branch, a node whose label is full of Mermaid syntax."""
    join = (
        Node.join("waygrid://system/waystation")
        .join_id("j")
        .strategy(JoinStrategy.OR)
        .timeout(timedelta(seconds=10))
        .on_success(Node.standard("waygrid://processor/after").label("after"))
    )
    nasty = (
        Node.standard("waygrid://processor/pay")
        .label(NASTY)
        .with_retry(RetryPolicy.exponential(timedelta(seconds=1), 3))
    )
    fork = (
        Node.fork("waygrid://system/waystation")
        .label("fan")
        .join_id("j")
        .branches({"a": nasty, "b": Node.standard("waygrid://processor/slow").label("slow")})
        .joined_by(join)
    )
    spec = Spec.single(Node.standard("waygrid://processor/start").label("start").on_success(fork))
    script = {NASTY: ["fail", "fail", {"outcome": "ok", "afterMs": 300}], "slow": "hang"}
    return simulate(spec, script=script)


def test_gantt_source_is_sanitised() -> None:
    """Every dispatch is a task in its node's section; labels carry no Mermaid syntax."""
    chart = run_with_awkward_labels().to_mermaid()
    lines = chart.splitlines()
    assert lines[:4] == [
        "gantt",
        "    title intended run - completed after 3675 ms",
        "    dateFormat x",
        "    axisFormat %M:%S.%L",
    ]
    sections = [line for line in lines if line.startswith("    section ")]
    assert sections == [
        "    section start",
        "    section pay_ _now_ _1_ section x____init___",
        "    section slow",
        "    section after",
    ]
    tasks = [line for line in lines[4:] if not line.startswith("    section ")]
    assert len(tasks) == 6
    for task in tasks:
        name = task.strip().partition(" :")[0]
        assert re.fullmatch(r"attempt \d [a-z ]+", name), task
    assert "attempt 3 ok :d4, 3375, 3675" in chart
    assert "attempt 1 no answer :active, d2, 0, 3675" in chart


def test_bundled_mermaid_draws_the_gantt(tmp_path: Path) -> None:
    """Headless Chromium renders the chart with the vendored Mermaid, without a syntax error."""
    browser = find_browser()
    chart = run_with_awkward_labels().to_mermaid()
    (tmp_path / "mermaid.min.js").write_bytes(mermaid_script())
    page = tmp_path / "gantt.html"
    page.write_text(
        '<!doctype html><html><body><pre class="mermaid">'
        + html.escape(chart)
        + '</pre><script src="mermaid.min.js"></script>'
        + "<script>mermaid.initialize({startOnLoad: true});</script></body></html>",
        encoding="utf-8",
    )
    dom = dump_dom(browser, page.as_uri(), tmp_path / "profile")
    assert "Syntax error" not in dom
    assert re.search(r'<svg[^>]*aria-roledescription="gantt"', dom), dom[:2000]
    for text in ("attempt 3 ok", "attempt 1 no answer", "pay_ _now_ _1_ section x____init___"):
        assert text in dom, text
