"""The README's "Simulating a traversal" section runs as written and prints what it shows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _section() -> str:
    match = re.search(r"^## Simulating a traversal\n(.*?)(?=^## )", README, re.S | re.M)
    assert match
    return match.group(1)


def test_snippet_prints_the_timeline_shown(capsys: pytest.CaptureFixture[str]) -> None:
    """The python block runs, and its output is the text block below it."""
    section = _section()
    (code,) = re.findall(r"```python\n(.*?)```", section, re.S)
    (shown,) = re.findall(r"```text\n(.*?)```", section, re.S)
    exec(code, {})
    assert capsys.readouterr().out == shown


def test_corrected_delays_are_the_simulated_ones() -> None:
    """The corrected retry delays in the table are what the simulator computes."""
    from datetime import timedelta

    from waygrid import RetryPolicy

    assert "1075, 2300, 4230 ms" in _section()
    policy = RetryPolicy.exponential(timedelta(seconds=1), 3)
    assert [policy.next_delay_ms(n) for n in (1, 2, 3)] == [1075, 2300, 4230]
    assert RetryPolicy.linear(timedelta(seconds=1), 1).next_delay_ms(1) == 1030
