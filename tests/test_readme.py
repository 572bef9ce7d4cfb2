"""The README's core snippets run as written (the quickstart against a dev server)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from waygrid import Spec
from waygrid.testing import DevServer

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _python_blocks(section: str) -> list[str]:
    """The ```python blocks under a '## ' or '### ' heading."""
    match = re.search(rf"^#+ {re.escape(section)}\n(.*?)(?=^## )", README, re.S | re.M)
    assert match, section
    return re.findall(r"```python\n(.*?)```", match.group(1), re.S)


def test_quickstart(capsys: pytest.CaptureFixture[str]) -> None:
    """The quickstart validates, prints the JSON and hash, and submits to a dev server."""
    (code,) = _python_blocks("Quickstart")
    with DevServer() as server:
        exec(code.replace("http://127.0.0.1:1337", server.base_url), {})
        (stored,) = server.traversals()
    printed = capsys.readouterr().out.splitlines()
    assert printed[-1] == f"{stored.traversal_id} {stored.dag_hash}"
    assert stored.payload == {"orderId": 42}


def test_building_specs_and_fork_join() -> None:
    """The builder and fork/join snippets build a valid spec."""
    namespace: dict[str, Any] = {}
    for code in _python_blocks("Building specs"):
        exec(code, namespace)
    spec = namespace["spec"]
    assert isinstance(spec, Spec)
    assert spec.validate() == []
    assert Spec.single(namespace["classify"]).validate() == []
