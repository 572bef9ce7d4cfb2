"""The ``/_dev/`` page: recent traversals, each DAG drawn by the vendored Mermaid."""

from __future__ import annotations

import json
import logging
from html import escape
from typing import TYPE_CHECKING

from ..dag import compile_spec, to_mermaid
from ..errors import WaygridError
from ._circe import spaces2
from ._runs import FINAL_STATUSES

if TYPE_CHECKING:
    from ._state import DevState
    from ._store import Traversal

__all__ = ["PAGE_SIZE", "render_page"]

logger = logging.getLogger("waygrid.devserver")

PAGE_SIZE = 50
"""How many traversals the page shows (the newest)."""

# Control characters other than tab and line breaks are shown as JSON-style escapes: HTML has no
# place for them (U+0000 would be replaced by the browser), and they must not vanish silently.
_CONTROLS = {code: f"\\u{code:04x}" for code in (*range(0x20), 0x7F) if chr(code) not in "\t\n\r"}

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1d2430; background: #f5f6f8; }
header { background: #1d2430; color: #fff; padding: 14px 24px; }
header h1 { font-size: 20px; margin: 0 0 4px; }
header a { color: #9cc3ff; }
main { padding: 16px 24px; }
.traversal { background: #fff; border: 1px solid #dde1e7; border-radius: 6px; padding: 12px 16px;
  margin-bottom: 16px; }
.traversal h2 { font-size: 16px; margin: 0 0 4px; font-family: ui-monospace, monospace; }
.meta { color: #5a6473; margin: 0 0 8px; }
pre.mermaid { background: #fbfcfd; padding: 8px; overflow-x: auto; }
pre.payload { background: #f5f6f8; padding: 8px; overflow-x: auto; }
.empty { color: #5a6473; }
.problem { color: #a0261b; }
.status { display: inline-block; padding: 0 8px; border-radius: 10px; background: #e3e8f5;
  font-size: 13px; }
.status.completed { background: #d4f7d4; } .status.failed { background: #fbd5d0; }
.status.stalled, .status.canceled { background: #ffe0b2; }
.status.not-simulated { background: #eee; color: #a0261b; }
pre.timeline { background: #fbfcfd; padding: 8px; overflow-x: auto; font-size: 13px; }
"""


def _payload_text(traversal: Traversal) -> str | None:
    try:
        document = traversal.document()
        if "payload" not in document:
            return None
        payload = document["payload"]
    except (ValueError, RecursionError, WaygridError):
        return "(the payload cannot be shown)"
    try:
        return json.dumps(payload, indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):  # nested beyond the C encoder: print it iteratively
        return spaces2(payload)


def _run_view(state: DevState, traversal: Traversal) -> dict[str, object] | None:
    if not state.runs.enabled:
        return None
    try:
        return state.runs.view(traversal)
    except Exception as exc:  # a bug: one traversal must not take the page down for everyone
        logger.exception("waygrid dev server could not replay %s", traversal.traversal_id)
        problem = f"{type(exc).__name__} (a dev server bug, see its log)"
        return {"status": "not simulated", "timeline": f"not simulated: {problem}"}


def _section(traversal: Traversal, run: dict[str, object] | None = None) -> str:
    tid = escape(traversal.traversal_id)
    key = traversal.idempotency_key
    meta = [
        f"dagHash <code>{escape(traversal.dag_hash)}</code>",
        escape(traversal.created_at),
    ]
    if key is not None:
        meta.append(f"Idempotency-Key <code>{escape(key)}</code>")
    status = "" if run is None else str(run.get("status"))
    live = run is not None and status not in FINAL_STATUSES
    attributes = f' data-run="traversals/{tid}/run"' if live else ""
    badge = ""
    if run is not None:
        badge = f' <span class="status {escape(status.replace(" ", "-"))}">{escape(status)}</span>'
    parts = [
        f'<section class="traversal" id="t-{tid}"{attributes}>',
        f'<h2><a href="traversals/{tid}">{tid}</a>{badge}</h2>',
        f'<p class="meta">{" · ".join(meta)}</p>',
    ]
    try:
        coloured = None if run is None else run.get("mermaid_run")
        diagram = (
            coloured
            if isinstance(coloured, str) and coloured
            else to_mermaid(compile_spec(traversal.spec))
        )
        parts.append(f'<pre class="mermaid">{escape(diagram)}</pre>')
    except (WaygridError, ValueError, RecursionError) as exc:
        parts.append(f'<p class="problem">The DAG cannot be drawn: {escape(str(exc))}</p>')
    except Exception as exc:  # a bug: one traversal must not take the page down for everyone
        logger.exception("waygrid dev server could not draw traversal %s", traversal.traversal_id)
        problem = f"{type(exc).__name__} (a dev server bug, see its log)"
        parts.append(f'<p class="problem">The DAG cannot be drawn: {escape(problem)}</p>')
    if run is not None:
        parts.append(f'<pre class="timeline">{escape(str(run.get("timeline", "")))}</pre>')
    payload = _payload_text(traversal)
    if payload is not None:
        parts.append(
            f'<details><summary>payload</summary><pre class="payload">{escape(payload)}</pre>'
            "</details>"
        )
    parts.append("</section>")
    return "\n".join(parts)


# Live timelines: each section still running polls its run and redraws what changed.
_POLL = """
let drawn = 0;
async function poll(section) {
  try {
    const answer = await fetch(section.dataset.run, {cache: "no-store"});
    if (!answer.ok) return;
    const run = await answer.json();
    section.querySelector("pre.timeline").textContent = run.timeline;
    const badge = section.querySelector(".status");
    badge.textContent = run.status;
    badge.className = "status " + run.status.replace(" ", "-");
    if (run.mermaid_run && run.mermaid_run !== section.dataset.drawn) {
      section.dataset.drawn = run.mermaid_run;
      const {svg} = await mermaid.render("live-" + (drawn += 1), run.mermaid_run);
      section.querySelector("pre.mermaid").innerHTML = svg;
    }
    if (run.status === "running") return;
  } catch (error) {
    console.warn("waygrid: polling failed", error);
  }
  clearInterval(Number(section.dataset.timer));
  delete section.dataset.run;
}
for (const section of document.querySelectorAll("section[data-run]")) {
  section.dataset.timer = String(setInterval(() => poll(section), 500));
}
"""


def render_page(state: DevState) -> str:
    """The HTML of ``/_dev/`` (scripts and links are relative to it).

    Blocks on the store and renders every DAG: call it from a worker thread. The text may hold
    lone surrogates (accepted in JSON escapes); encode it with ``backslashreplace``.
    """
    total = state.store.count()
    traversals = state.store.list(newest_first=True, limit=PAGE_SIZE)
    if traversals:
        shown = f"the newest {len(traversals)} of {total}" if total > len(traversals) else "all"
        body = f"<p>Showing {shown} traversals, newest first.</p>\n" + "\n".join(
            _section(traversal, _run_view(state, traversal)) for traversal in traversals
        )
    else:
        body = (
            '<p class="empty">No traversals yet. Submit a spec, e.g. '
            "<code>waygrid submit spec.json</code>, then reload this page.</p>"
        )
    mode = (
        "strict (like today's server)"
        if state.strict
        else "default (JSON-pointer conditions allowed)"
    )
    page = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Waygrid dev server</title>
<style>{_STYLE}</style>
</head>
<body>
<header>
<h1>Waygrid dev server</h1>
<div>{total} traversal{"" if total == 1 else "s"} · mode: {escape(mode)} ·
<a href="./">reload</a> · <a href="health">health</a> · <a href="traversals">JSON</a></div>
</header>
<main>
{body}
</main>
<script src="static/mermaid.min.js"></script>
<script>
mermaid.initialize({{startOnLoad: false, securityLevel: "strict", theme: "neutral"}});
mermaid.run({{querySelector: "pre.mermaid"}});
{_POLL}
</script>
</body>
</html>
"""
    return page.translate(_CONTROLS)
