"""Fixtures for the FastAPI adapter tests: anyio on asyncio, the dev server, a clean env."""

from __future__ import annotations

import os

import pytest

from waygrid.testing import (  # the plugin's fixtures, as `pytest_plugins` would register them
    waygrid_app,
    waygrid_dev_server,
    waygrid_server,
)

__all__ = ["waygrid_app", "waygrid_dev_server", "waygrid_server"]


@pytest.fixture
def anyio_backend() -> str:
    """Run the async tests on asyncio."""
    return "asyncio"


@pytest.fixture(autouse=True)
def _no_waygrid_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start every test without WAYGRID_* variables from the developer's shell."""
    for name in list(os.environ):
        if name.startswith("WAYGRID_"):
            monkeypatch.delenv(name)
