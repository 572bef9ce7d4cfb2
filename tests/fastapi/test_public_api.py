"""The public surface of waygrid_fastapi, and what importing it loads."""

from __future__ import annotations

import subprocess
import sys

import waygrid_fastapi


def test_all_is_sorted_and_pinned() -> None:
    """__all__ lists exactly the documented names, sorted."""
    assert waygrid_fastapi.__all__ == [
        "WaygridDep",
        "WaygridSettings",
        "WaygridState",
        "get_waygrid",
        "install_error_handlers",
        "waygrid_lifespan",
    ]
    assert waygrid_fastapi.__all__ == sorted(waygrid_fastapi.__all__)


def test_import_loads_neither_django_nor_the_django_adapter() -> None:
    """Importing the adapter in a fresh interpreter loads no Django and no waygrid_django."""
    code = (
        "import sys, waygrid_fastapi; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'waygrid_django')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
