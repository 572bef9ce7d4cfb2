"""Fixtures of the CLI tests: the dev server from waygrid.testing."""

from __future__ import annotations

from waygrid.testing import waygrid_dev_server, waygrid_server  # the plugin's fixtures

__all__ = ["waygrid_dev_server", "waygrid_server"]
