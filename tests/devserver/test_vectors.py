"""Every shared vector, posted raw to a --strict dev server over TCP, gets the server's verdict."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import load_vectors
from waygrid.devserver import INFINITE_DURATION, INVALID_BODY, MALFORMED_BODY
from waygrid.testing import DevServer

VECTORS = load_vectors()


@pytest.fixture(scope="module")
def http(strict_dev_server: DevServer) -> Iterator[httpx.Client]:
    """One keep-alive connection to the strict dev server for the module."""
    with httpx.Client(base_url=strict_dev_server.base_url) as client:
        yield client


def test_there_are_vectors() -> None:
    """The vector directory is not empty (a missing copy must not pass silently)."""
    assert len(VECTORS) >= 30


@pytest.mark.parametrize(("name", "vector"), VECTORS, ids=[name for name, _ in VECTORS])
def test_vector_gets_the_servers_status_and_dag_hash(
    http: httpx.Client, name: str, vector: dict[str, Any]
) -> None:
    """200 with the listed dagHash for accepts; 500 with the server's error class for rejects."""
    body = vector["request_body"] if "request_body" in vector else {"graph": vector["spec"]}
    response = http.post("/v1/ingest", content=json.dumps(body))
    assert response.status_code == vector["http"]["status"], response.text
    answer = response.json()
    if response.status_code == 200:
        assert answer["dagHash"] == vector["dag_hash_unverified"]
        return
    error = answer["error"]
    if vector.get("stage") == "compile":
        assert error == vector.get("model_error_unverified", error)
        assert "RouteCompilerError" in error
    else:
        assert error.startswith((INVALID_BODY, MALFORMED_BODY, INFINITE_DURATION))
        expected = vector["http"].get("body", {}).get("error", "")
        assert error.startswith(expected.split("<")[0])
