"""The Django snippets of the README and waygrid_django's README, run in a Django project."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import path
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from tests.django.helpers import free_port
from tests.test_readme import of, run
from waygrid.testing import DevServer
from waygrid_django.models import Submission

# Each document has one view and one test of it, in this order.
PAIRS = [
    pytest.param(view.values[0], capture.values[0], id=view.id)
    for view, capture in zip(of("django-view"), of("django-capture"), strict=True)
]


@pytest.fixture
def readme_view(view: str, settings: Settings) -> Iterator[dict[str, Any]]:
    """The README's view, served at /workflow/start/ (its URLconf is set for the test)."""
    namespace: dict[str, Any] = {}
    run(view, namespace)
    urls = types.ModuleType("readme_urls")
    urls.urlpatterns = [path("workflow/start/", namespace["start_workflow"])]  # type: ignore[attr-defined]
    sys.modules["readme_urls"] = urls
    settings.ROOT_URLCONF = "readme_urls"
    yield namespace
    del sys.modules["readme_urls"]


@pytest.mark.django_db
@pytest.mark.parametrize(("view", "capture"), PAIRS)
def test_capture_snippet_against_the_readme_view(
    capture: str,
    readme_view: dict[str, Any],
    client: Any,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """The capture_submissions test, run on the README's view, passes and sends one row."""
    namespace: dict[str, Any] = {}
    run(capture, namespace)
    (test,) = [value for name, value in namespace.items() if name.startswith("test_")]
    arguments = {"client": client, "db": None}
    arguments["django_capture_on_commit_callbacks"] = django_capture_on_commit_callbacks
    test(
        **{name: arguments[name] for name in test.__code__.co_varnames[: test.__code__.co_argcount]}
    )
    (row,) = Submission.objects.all()
    assert row.status == Submission.Status.SUBMITTED
    assert row.payload == {"orderId": "42"}
    assert row.spec == readme_view["WORKFLOW"].to_dict()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("view", "errors"),
    [
        pytest.param(view.values[0], errors.values[0], id=errors.id)
        for view, errors in zip(of("django-view"), of("django-errors"), strict=True)
    ],
)
async def test_error_decorator_snippet(
    view: str, errors: str, settings: Settings, async_client: Any, waygrid_server: DevServer
) -> None:
    """The decorated async view answers 503 problem+json while Waygrid is down, else submits."""
    namespace: dict[str, Any] = {}
    run(view, namespace)
    run(errors, namespace)
    urls = types.ModuleType("readme_error_urls")
    urls.urlpatterns = [path("now/", namespace["start_now"])]  # type: ignore[attr-defined]
    sys.modules["readme_error_urls"] = urls
    settings.ROOT_URLCONF = "readme_error_urls"
    settings.WAYGRID_MAX_RETRIES = 0
    try:
        settings.WAYGRID_BASE_URL = f"http://127.0.0.1:{free_port()}"
        down = await async_client.get("/now/", {"order": "42"})
        assert (down.status_code, down["Content-Type"]) == (503, "application/problem+json")
        assert down["Retry-After"] == "5"
        settings.WAYGRID_BASE_URL = waygrid_server.url
        up = await async_client.get("/now/", {"order": "42"})
        assert up.status_code == 200
        assert waygrid_server.traversals()[-1].payload == {"orderId": "42"}
    finally:
        del sys.modules["readme_error_urls"]
