"""The /_dev/ page in a real headless Chromium: every DAG is drawn by the bundled Mermaid, offline."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from waygrid import Condition, JoinStrategy, Node, Spec
from waygrid.testing import DevServer

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_browser() -> str:
    """The headless browser to use; skips (or fails in CI) when there is none."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path is not None:
            return path
    message = "no Chromium found (apt-get install chromium); the /_dev/ page is not checked"
    if os.environ.get("WAYGRID_TEST_REQUIRE_BROWSER") == "1":
        pytest.fail(message + ", but WAYGRID_TEST_REQUIRE_BROWSER=1 requires it")
    pytest.skip(message)


def dump_dom(browser: str, url: str, profile: Path) -> str:
    """The page's DOM after its scripts ran (Chromium --dump-dom with a virtual-time budget)."""
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=15000",
        "--dump-dom",
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def specs() -> list[Spec]:
    """A labelled chain, a fork/join with a timeout, and conditional edges."""
    chain = Spec.single(
        Node.standard("waygrid://processor/openai")
        .label("Summarize ticket")
        .on_success(Node.standard("waygrid://destination/webhook").label("Notify CRM"))
        .on_failure(Node.standard("waygrid://destination/deadletter"))
    )
    join = (
        Node.join("waygrid://system/waystation")
        .join_id("enrich")
        .strategy(JoinStrategy.quorum(1))
        .timeout(timedelta(seconds=30))
    )
    fork = (
        Node.fork("waygrid://system/waystation")
        .join_id("enrich")
        .branches(
            {
                "geo": Node.standard("waygrid://processor/geoip").label("Geo lookup"),
                "risk": Node.standard("waygrid://processor/risk").label("Risk score"),
            }
        )
        .joined_by(join)
    )
    conditions = Spec.single(
        Node.standard("waygrid://processor/sentiment")
        .label('Sentiment <&> quotes "x"')
        .on_conditions(
            [
                Condition.when(
                    Condition.json_equals("/sentiment", "negative"),
                    Node.standard("waygrid://destination/escalate").label("Escalate"),
                ),
                Condition.when(Condition.ALWAYS, Node.standard("waygrid://destination/archive")),
            ]
        )
    )
    return [chain, Spec.single(fork), conditions]


def test_the_page_draws_every_dag_in_a_headless_browser(tmp_path: Path) -> None:
    """Chromium renders one Mermaid <svg> per traversal, with the node labels and no errors."""
    browser = find_browser()
    with DevServer() as server:
        for spec in specs():
            response = httpx.post(f"{server.base_url}/v1/ingest", json={"graph": spec.to_dict()})
            assert response.status_code == 200, response.text
        dom = dump_dom(browser, f"{server.base_url}/_dev/", tmp_path / "profile")
    svgs = re.findall(r"<svg[^>]*aria-roledescription=\"flowchart[^\"]*\".*?</svg>", dom, re.S)
    assert len(svgs) == 3, dom[:3000]
    assert "Syntax error" not in dom
    assert '<pre class="mermaid">flowchart' not in dom  # every diagram was replaced by its drawing
    drawn = "\n".join(svgs)
    for text in ("Summarize ticket", "Notify CRM", "Geo lookup", "Risk score", "Escalate"):
        assert text in drawn, text
    assert "waygrid://destination/deadletter" in drawn
    assert 'Sentiment &lt;&amp;&gt; quotes "x"' in drawn
    assert "/sentiment" in drawn  # the condition on the edge


def test_the_page_draws_traversals_with_hostile_text(tmp_path: Path) -> None:
    """Lone surrogates and control characters in labels and payloads: the page still draws."""
    browser = find_browser()
    labels = ["lone \ud800 surrogate", "nul \x00 and bell \x07", "\udfff"]
    with DevServer() as server:
        for label in labels:
            graph = Spec.single(Node.standard("waygrid://processor/a")).to_dict()
            graph["entryPoints"][0]["label"] = label
            body = json.dumps({"graph": graph, "payload": {"text": label}})  # escaped ASCII
            response = httpx.post(f"{server.base_url}/v1/ingest", content=body)
            assert response.status_code == 200, response.text
        dom = dump_dom(browser, f"{server.base_url}/_dev/", tmp_path / "profile")
    svgs = re.findall(r"<svg[^>]*aria-roledescription=\"flowchart[^\"]*\".*?</svg>", dom, re.S)
    assert len(svgs) == len(labels), dom[:3000]
    assert "Syntax error" not in dom
    assert "surrogate" in "\n".join(svgs)
    assert "\\ud800" in dom  # the payload, shown with the escape


def test_the_page_shows_live_timelines_and_colours_nodes_by_state(tmp_path: Path) -> None:
    """A finished run: failed and succeeded nodes coloured; a running one is polled and redrawn."""
    browser = find_browser()
    failing = Spec.single(
        Node.standard("waygrid://processor/charge")
        .label("charge")
        .on_failure(Node.standard("waygrid://destination/deadletter").label("deadletter"))
    )
    slow = Spec.single(Node.standard("waygrid://processor/slow").label("slow"))
    script = {"charge": "fail", "slow": {"outcome": "ok", "afterMs": 3_600_000}}
    with DevServer(script=script) as server:
        for spec in (failing, slow):
            response = httpx.post(f"{server.base_url}/v1/ingest", json={"graph": spec.to_dict()})
            assert response.status_code == 200, response.text
        dom = dump_dom(browser, f"{server.base_url}/_dev/", tmp_path / "profile")
    svgs = re.findall(r"<svg[^>]*aria-roledescription=\"flowchart[^\"]*\".*?</svg>", dom, re.S)
    assert len(svgs) == 2, dom[:3000]
    assert "Syntax error" not in dom
    states = set(re.findall(r'<g class="node [^"]*\b(failed|succeeded|running)\b', dom))
    assert states == {"failed", "succeeded", "running"}, dom[:3000]
    timelines = re.findall(r'<pre class="timeline">(.*?)</pre>', dom, re.S)
    assert len(timelines) == 2
    assert timelines[0].splitlines()[-1].startswith("running")  # newest first: the slow one
    assert "answers fail" in timelines[1] and "completed after" in timelines[1]
    assert re.search(r'<svg[^>]*id="live-\d+"', dom)  # the running one was polled and redrawn
    assert '<span class="status running">running</span>' in dom
    assert '<span class="status completed">completed</span>' in dom
