"""Fixtures for the FastAPI adapter tests: a clean environment (the rest are in tests/conftest)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _no_waygrid_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start every test without WAYGRID_* variables from the developer's shell."""
    for name in list(os.environ):
        if name.startswith("WAYGRID_"):
            monkeypatch.delenv(name)
