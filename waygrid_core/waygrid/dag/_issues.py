"""Collecting validation issues: a bounded number per code, each path rendered only if kept."""

from __future__ import annotations

from typing import Any

from .._codec import render_path
from ..errors import Severity, ValidationIssue

__all__ = ["MAX_LISTED", "IssueList"]

MAX_LISTED = 100
"""How many issues of one code are listed; the rest are counted in one summary issue.

A path costs its depth to render, and a hostile spec can hold thousands of issues at depths in
the thousands: listing them all would cost the square of the spec's size.
"""


class IssueList:
    """The issues found so far, in order, at most `MAX_LISTED` per code."""

    def __init__(self) -> None:
        self.listed: list[ValidationIssue] = []
        self.counts: dict[str, tuple[Severity, int]] = {}

    def add(
        self, severity: Severity, code: str, path: Any, message: str, hint: str | None = None
    ) -> None:
        """Record an issue at the linked ``path`` (rendered only when the issue is listed)."""
        _, count = self.counts.get(code, (severity, 0))
        self.counts[code] = (severity, count + 1)
        if count < MAX_LISTED:
            self.listed.append(ValidationIssue(severity, code, render_path(path), message, hint))

    def issues(self) -> list[ValidationIssue]:
        """The listed issues, then one summary per code that had more than `MAX_LISTED`."""
        result = list(self.listed)
        for code, (severity, count) in self.counts.items():
            if count > MAX_LISTED:
                more = count - MAX_LISTED
                result.append(
                    ValidationIssue(
                        severity,
                        code,
                        "$",
                        f"{more:,} more {code} {severity}{'s' if more > 1 else ''} "
                        f"(only the first {MAX_LISTED} of each kind are listed)",
                    )
                )
        return result
