"""Shared test setup: the fixtures every suite uses, the Hypothesis profiles, the wire vectors.

Fixtures defined here once: ``anyio_backend`` (asyncio) and the dev server fixtures of
`waygrid.testing` (``waygrid_app``, ``waygrid_dev_server``, ``waygrid_server``), as
``pytest_plugins`` would register them for a user's project.

Hypothesis: CI (``CI=true``, as CI services set it) runs the thorough ``ci`` profile; elsewhere
the quicker ``dev`` profile runs fewer examples where a test does not name its own count.
``HYPOTHESIS_PROFILE=ci`` (or ``dev``) picks one explicitly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from waygrid.testing import (  # the plugin's fixtures, as `pytest_plugins` would register them
    waygrid_app,
    waygrid_dev_server,
    waygrid_server,
)

__all__ = ["waygrid_app", "waygrid_dev_server", "waygrid_server"]

VECTORS_DIR = Path(__file__).parent / "vectors"

settings.register_profile("ci", print_blob=True)  # Hypothesis's own thorough defaults
settings.register_profile(
    "dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE")
    or ("ci" if os.environ.get("CI", "").lower() in ("true", "1") else "dev")
)


@pytest.fixture
def anyio_backend() -> str:
    """Run the async tests on asyncio (as Django's do)."""
    return "asyncio"


def load_vectors() -> list[tuple[str, dict[str, Any]]]:
    """Every vector file as (name, content), sorted by name."""
    return [
        (path.stem, json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(VECTORS_DIR.glob("*.json"))
    ]
