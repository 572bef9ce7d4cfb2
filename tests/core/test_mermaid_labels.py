"""Mermaid labels are drawn literally, whatever they contain, by the bundled Mermaid."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from waygrid import Condition, Node, Spec
from waygrid.dag import mermaid_script

LABELS = [
    "a`b",
    "``code``",
    "#quot; and #amp; and #35; and #lt;",
    "%%{init: {'theme': 'dark'}}%% x",
    "%% comment %%",
    "$$x^2$$",
    "fa:fa-car fab:fa-github",
    '<b>bold</b> <img src=x onerror="alert(1)"> &amp; &lt;',
    "say \"hi\" & 'bye'",
    "a;b|c[d]{e}(f)-->g",
    "\ufb02\u00b0\u00b01\u00b6\u00df and \ufb02\u00b0x\u00b6\u00df",
    "tab\there",
    "unicode \u00e9\u4e2d\U0001f600",
    "back\\slash ~tilde~ *star* _under_",
]
"""One label per trap: markdown, entity codes, comments and directives, KaTeX, icons, HTML,
the label's own quotes, flowchart syntax, Mermaid's internal entity markers."""

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _spec(labels: list[str]) -> Spec:
    node = Node.standard("waygrid://processor/last").label(labels[-1])
    for index in range(len(labels) - 2, -1, -1):
        node = Node.standard(f"waygrid://processor/n{index}").label(labels[index]).on_success(node)
    return Spec.single(node)


def test_special_characters_become_entity_codes() -> None:
    """No character Mermaid or HTML reads as syntax is left in a label's text."""
    text = _spec([*LABELS, "line\nbreak", "lone \ud800 surrogate"]).to_mermaid()
    boxes = re.findall(r'\["(.*)"\]$', text, re.M)
    assert len(boxes) == len(LABELS) + 2
    for box in boxes:
        label = box.split("<br/>")[0]
        assert not re.search(r"[\"`%<>&$\n]|fa:fa-|#(?!\d+;)", label), label
    assert "#96;" in text and "#35;quot;" in text and "#37;#37;" in text
    assert "line#10;break" in text
    assert "lone #55296; surrogate" in text
    text.encode("utf-8")  # a lone surrogate would make the page impossible to encode


def test_condition_labels_are_escaped_too() -> None:
    """Edge labels (conditions) go through the same escaping."""
    edge = Condition.when(
        Condition.json_equals("/a`b", '%%"#quot;"'), Node.standard("waygrid://d/x")
    )
    text = Spec.single(Node.standard("waygrid://p/a").on_conditions([edge])).to_mermaid()
    (label,) = re.findall(r'-- "(.*)" -->', text)
    assert label == "/a#96;b == #34;#37;#37;\\#34;#35;quot;\\#34;#34;"


def _browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path is not None:
            return path
    message = "no Chromium found (apt-get install chromium); Mermaid drawing is not checked"
    if os.environ.get("WAYGRID_TEST_REQUIRE_BROWSER") == "1":
        pytest.fail(message + ", but WAYGRID_TEST_REQUIRE_BROWSER=1 requires it")
    pytest.skip(message)


def _draw(diagram: str, tmp_path: Path) -> str:
    """The DOM after the bundled Mermaid drew ``diagram`` in headless Chromium, offline."""
    (tmp_path / "mermaid.min.js").write_bytes(mermaid_script())
    page = tmp_path / "page.html"
    page.write_text(
        '<!doctype html><html><head><meta charset="utf-8"></head><body>'
        f'<pre class="mermaid">{html.escape(diagram)}</pre>'
        '<script src="mermaid.min.js"></script><script>'
        'mermaid.initialize({startOnLoad: false, securityLevel: "strict"});'
        'mermaid.run({querySelector: "pre.mermaid"}).catch('
        '(e) => document.body.setAttribute("data-failed", String(e)));'
        "</script></body></html>",
        encoding="utf-8",
    )
    command = [
        _browser(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=15000",
        "--dump-dom",
        page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _drawn_labels(dom: str) -> list[str]:
    """The text of every drawn node box (tags dropped, entities decoded, word joiners gone)."""
    spans = re.findall(r'<span class="nodeLabel">(.*?)</span></div></foreignObject>', dom, re.S)
    texts = []
    for span in spans:
        span = re.sub(r"<br\s*/?>", "\n", span)
        text = html.unescape(re.sub(r"<[^>]+>", "", span))
        texts.append(text.replace("\u2060", ""))
    return texts


def test_bundled_mermaid_draws_every_label_literally(tmp_path: Path) -> None:
    """Headless Chromium with the bundled Mermaid shows each label exactly as written."""
    diagram = _spec([*LABELS, "line\nbreak", "lone \ud800 surrogate"]).to_mermaid()
    dom = _draw(diagram, tmp_path)
    assert "data-failed" not in dom.split("<script", 1)[0], dom[:2000]
    assert "Syntax error" not in dom
    assert "<svg" in dom and '<pre class="mermaid">flowchart' not in dom
    drawn = _drawn_labels(dom)
    assert len(drawn) == len(LABELS) + 2, drawn
    for label in LABELS:
        assert any(text.startswith(label + "\n") for text in drawn), (label, drawn)
    assert any(text.startswith("line\nbreak\n") for text in drawn), drawn
    assert any(text.startswith("lone \ufffd surrogate\n") for text in drawn), drawn
    assert 'class="katex"' not in dom and "<i class" not in dom and "<img" not in dom
