"""waygrid.problems: one answer per SDK error, the same for FastAPI and Django."""

from __future__ import annotations

import logging

import pytest

from waygrid import (
    AuthenticationError,
    RateLimitError,
    ServerError,
    SpecDecodeError,
    SpecError,
    SpecRejectedError,
    SpecValidationError,
    ValidationIssue,
    WaygridConnectionError,
    WaygridError,
    WaygridStatusError,
    WaygridTimeoutError,
)
from waygrid.problems import MEDIA_TYPE, problem_for

ISSUE = ValidationIssue("error", "fork-without-join", "$.entryPoints[0]", "no join", "joined_by")


@pytest.mark.parametrize(
    ("error", "status", "kind", "level"),
    [
        (SpecDecodeError("$.a", "expected a string"), 422, "invalid-spec", logging.INFO),
        (SpecValidationError([ISSUE]), 500, "invalid-spec", logging.ERROR),
        (SpecError("payload is not JSON-serializable"), 500, "invalid-spec", logging.ERROR),
        (
            SpecRejectedError(
                "x", status_code=500, body="", reason="RouteCompilerError", issues=()
            ),
            500,
            "invalid-spec",
            logging.ERROR,
        ),
        (WaygridConnectionError("down"), 503, "unavailable", logging.WARNING),
        (WaygridTimeoutError("slow"), 503, "unavailable", logging.WARNING),
        (ServerError("bad gateway", status_code=504, body=""), 503, "unavailable", logging.WARNING),
        (ServerError("boom", status_code=500, body=""), 502, "upstream-error", logging.WARNING),
        (
            AuthenticationError("no", status_code=401, body=""),
            502,
            "upstream-error",
            logging.WARNING,
        ),
        (
            WaygridStatusError("dup", status_code=409, body=""),
            502,
            "upstream-error",
            logging.WARNING,
        ),
    ],
)
def test_each_error_has_its_answer(error: WaygridError, status: int, kind: str, level: int) -> None:
    """Status, type and log level follow the table in the module docstring."""
    problem = problem_for(error)
    assert (problem.status, problem.kind, problem.log_level) == (status, kind, level)
    body = problem.to_dict()
    assert body["type"] == f"urn:waygrid:problem:{kind}"
    assert body["status"] == status
    assert set(body) == {"type", "title", "status", "detail", "issues"}
    assert ("Retry-After" in problem.headers) == (status == 503)
    assert MEDIA_TYPE == "application/problem+json"


def test_retry_after_comes_from_the_server_else_the_fallback() -> None:
    """A 429's Retry-After is rounded up; without one the fallback is used."""
    limited = RateLimitError("slow down", status_code=429, body="", retry_after=2.2)
    assert problem_for(limited).headers == {"Retry-After": "3"}
    assert problem_for(WaygridConnectionError("down"), retry_after=9).headers == {
        "Retry-After": "9"
    }


def test_issues_and_details_of_spec_errors() -> None:
    """Spec errors carry their issues; 5xx details never repeat the server's message."""
    assert problem_for(SpecValidationError([ISSUE])).to_dict()["issues"] == [ISSUE.to_dict()]
    decode = problem_for(SpecDecodeError("$.entryPoints[0].address", "expected a string"))
    assert decode.issues[0].path == "$.entryPoints[0].address"
    down = problem_for(WaygridConnectionError("POST http://10.0.0.5:1337/v1/ingest failed"))
    assert "10.0.0.5" not in down.detail
