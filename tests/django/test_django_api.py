"""The public surface of waygrid_django, and what importing it loads."""

from __future__ import annotations

import os
import subprocess
import sys

import waygrid_django
from tests.django.helpers import ROOT


def test_all_is_sorted_and_complete() -> None:
    """__all__ is sorted and every name in it resolves."""
    assert waygrid_django.__all__ == sorted(waygrid_django.__all__)
    assert waygrid_django.__all__ == [
        "DispatchResult",
        "OutboxSettings",
        "WaygridService",
        "WaygridSettings",
        "get_service",
        "get_settings",
        "submission_failed",
        "submission_succeeded",
    ]
    for name in waygrid_django.__all__:
        assert getattr(waygrid_django, name) is not None


def test_import_loads_neither_fastapi_nor_the_dev_server() -> None:
    """Importing the app (and setting Django up) loads no FastAPI, Starlette or uvicorn."""
    code = (
        "import os, sys, django\n"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'tests.django.settings'\n"
        "django.setup()\n"
        "import waygrid_django, waygrid_django.admin, waygrid_django.testing\n"
        "bad = [m for m in ('fastapi', 'waygrid_fastapi', 'starlette', 'uvicorn') "
        "if m in sys.modules]\n"
        "print(bad)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_import_needs_no_app_registry() -> None:
    """Without Django settings, the package, the outbox and a service import and build."""
    code = (
        "import sys\n"
        "from waygrid_django import DispatchResult, WaygridService\n"
        "from waygrid_django.outbox import Sender, claim, enqueue, record\n"
        "service = WaygridService('http://127.0.0.1:9')\n"
        "service.close()\n"
        "print(DispatchResult(submitted=1), 'waygrid_django.models' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "1 submitted, 0 to retry, 0 failed False"
