"""`python -m benchmarks [section ...]`: print every benchmark as ratios measured in this run."""

from __future__ import annotations

import importlib
import sys

SECTIONS = ["core", "simulate", "http", "hostile", "fastapi", "django"]


def main(argv: list[str]) -> None:
    """Run the named sections (all when none is named)."""
    for name in argv or SECTIONS:
        importlib.import_module(f"benchmarks.{name}").run()


if __name__ == "__main__":
    main(sys.argv[1:])
