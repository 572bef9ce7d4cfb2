"""A simulation as a Mermaid Gantt chart: one row per dispatch, grouped by node."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._result import Simulation

__all__ = ["gantt"]

_UNSAFE = re.compile(r"[^\w ./\-]")
_US = timedelta(microseconds=1)


def _text(value: str) -> str:
    """A label Mermaid's Gantt grammar cannot misread: no ``:``, ``#``, ``;``, quotes, newlines."""
    cleaned = _UNSAFE.sub("_", value).strip() or "_"
    # A task line starting with a keyword (section, title, ...) would change its meaning.
    return f"node {cleaned}" if cleaned.split(" ")[0].lower() in _KEYWORDS else cleaned


_KEYWORDS = frozenset(
    (
        "section",
        "title",
        "dateformat",
        "axisformat",
        "excludes",
        "includes",
        "todaymarker",
        "tickinterval",
        "weekday",
        "gantt",
        "accdescr",
        "acctitle",
        "click",
        "topaxis",
    )
)


def gantt(run: Simulation) -> str:
    """The Mermaid source: each dispatch runs from its dispatch to its answer (or the run's end)."""
    answers: dict[str, list[tuple[int, str]]] = {}
    for event in run.events:
        if event.kind == "answer" and event.node is not None:
            outcome = str(event.get("outcome"))
            answers.setdefault(event.node, []).append((event.at // _US, outcome))
    end = run.duration // _US
    lines = [
        "gantt",
        f"    title {_text(f'{run.mode} run - {run.status} after {end / 1000:g} ms')}",
        "    dateFormat x",
        "    axisFormat %M:%S.%L",
    ]
    sections: dict[str, list[str]] = {}
    used: dict[str, int] = {}
    for number, dispatch in enumerate(run.dispatches):
        begin = dispatch.at // _US
        queue = answers.get(dispatch.label, [])
        index = used.get(dispatch.label, 0)
        finish, outcome = queue[index] if index < len(queue) else (end, "no answer")
        used[dispatch.label] = index + 1
        tags = {"fail": "crit, ", "no answer": "active, "}.get(outcome, "")
        begin_ms, finish_ms = begin // 1000, max(finish // 1000, begin // 1000)
        if finish_ms == begin_ms:
            tags += "milestone, "
        name = _text(f"attempt {dispatch.attempt} {outcome}")
        sections.setdefault(dispatch.label, []).append(
            f"    {name} :{tags}d{number}, {begin_ms}, {finish_ms}"
        )
    for label, tasks in sections.items():
        lines.append(f"    section {_text(label)}")
        lines.extend(tasks)
    return "\n".join(lines) + "\n"
