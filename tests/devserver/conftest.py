"""Fixtures of the dev server tests: waygrid.testing's fixtures, a strict server, sample specs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from waygrid import Node, Spec
from waygrid.testing import (  # the plugin's fixtures, as `pytest_plugins` would register them
    DevServer,
    waygrid_app,
    waygrid_dev_server,
    waygrid_server,
)

__all__ = ["waygrid_app", "waygrid_dev_server", "waygrid_server"]


@pytest.fixture
def anyio_backend() -> str:
    """Run the async tests on asyncio."""
    return "asyncio"


@pytest.fixture(scope="session")
def strict_dev_server() -> Iterator[DevServer]:
    """A ``--strict`` dev server for the session."""
    with DevServer(strict=True) as server:
        yield server


@pytest.fixture
def strict_server(strict_dev_server: DevServer) -> DevServer:
    """The session's strict dev server, reset for this test."""
    strict_dev_server.reset()
    return strict_dev_server


@pytest.fixture
def spec() -> Spec:
    """A two-node chain (dagHash 33045bcbb7538639 on the server)."""
    return Spec.single(
        Node.standard("waygrid://origin/http").on_success(
            Node.standard("waygrid://destination/webhook")
        )
    )
