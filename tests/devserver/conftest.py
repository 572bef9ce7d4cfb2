"""Fixtures of the dev server tests: a strict server, sample specs (the rest in tests/conftest)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from waygrid import Node, Spec
from waygrid.testing import DevServer


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
