"""Shared test helpers: where the shared wire-format vectors live."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTORS_DIR = Path(__file__).parent / "vectors"


def load_vectors() -> list[tuple[str, dict[str, Any]]]:
    """Every vector file as (name, content), sorted by name."""
    return [
        (path.stem, json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(VECTORS_DIR.glob("*.json"))
    ]
