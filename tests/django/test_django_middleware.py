"""waygrid_django.middleware: the SDK's errors as problem+json, under WSGI and ASGI, sync and async."""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application
from pytest_django import Settings

from tests.django import error_views
from tests.django.helpers import AsgiServer, free_port
from waygrid.testing import DevServer
from waygrid_django.middleware import waygrid_errors

MIDDLEWARE = "waygrid_django.middleware.WaygridErrorMiddleware"
PROBLEM = "application/problem+json"


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _wsgi() -> Iterator[str]:
    server = ThreadedWSGIServer(("127.0.0.1", 0), _Quiet)
    server.set_app(get_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _asgi() -> Iterator[str]:
    server = AsgiServer().start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(params=["wsgi", "asgi"])
def project(request: pytest.FixtureRequest, settings: Settings) -> Iterator[httpx.Client]:
    """The test project with the middleware, DEBUG on, served fresh under WSGI or ASGI."""
    settings.ROOT_URLCONF = "tests.django.error_views"
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, MIDDLEWARE]
    settings.DEBUG = True  # a missing mapping would show the (large) debug page
    settings.WAYGRID_MAX_RETRIES = 0
    serve = _wsgi if request.param == "wsgi" else _asgi
    for url in serve():
        with httpx.Client(base_url=url, timeout=30) as http:
            yield http


VIEWS = ["sync/", "async/", "decorated/sync/", "decorated/async/"]


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The problem document, after checking the status, media type and size."""
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"] == PROBLEM
    assert len(response.content) < 2000
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


@pytest.mark.parametrize("view", VIEWS)
def test_waygrid_down_is_503_with_retry_after(
    project: httpx.Client, view: str, settings: Settings
) -> None:
    """Waygrid unreachable: 503 problem+json with Retry-After, not a 500 debug page."""
    settings.WAYGRID_BASE_URL = f"http://127.0.0.1:{free_port()}"
    response = project.get(view)
    assert problem(response, 503)["type"] == "urn:waygrid:problem:unavailable"
    assert response.headers["retry-after"] == "5"


@pytest.mark.parametrize("view", VIEWS)
def test_other_waygrid_error_is_502(
    project: httpx.Client, view: str, settings: Settings, waygrid_server: DevServer
) -> None:
    """A 500 from Waygrid that is not a rejection answers 502."""
    settings.WAYGRID_BASE_URL = waygrid_server.url
    waygrid_server.fail_next(1, status=500)
    body = problem(project.get(view), 502)
    assert body["detail"] == "The workflow service answered with an error (HTTP 500)."


@pytest.mark.parametrize("view", VIEWS)
def test_apps_invalid_spec_is_500_logged_at_error(
    project: httpx.Client,
    view: str,
    settings: Settings,
    waygrid_server: DevServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A spec the view built wrong: 500 with the issues, logged at ERROR; nothing sent."""
    settings.WAYGRID_BASE_URL = waygrid_server.url
    caplog.set_level(logging.INFO, logger="waygrid_django")
    body = problem(project.get(view, params={"broken": "1"}), 500)
    assert body["issues"][0]["code"] == "fork-without-join"
    assert waygrid_server.traversals() == []
    (record,) = [r for r in caplog.records if r.name == "waygrid_django"]
    assert record.levelno == logging.ERROR and record.exc_info is not None


def test_success_passes_through(
    project: httpx.Client, settings: Settings, waygrid_server: DevServer
) -> None:
    """Without an error the views answer as written."""
    settings.WAYGRID_BASE_URL = waygrid_server.url
    for view in VIEWS:
        response = project.get(view)
        assert response.status_code == 200
        assert response.json()["traversal_id"]
    assert len(waygrid_server.traversals()) == len(VIEWS)


def test_other_errors_are_left_to_django(project: httpx.Client) -> None:
    """An exception that is not the SDK's reaches Django's own handling (the debug page)."""
    response = project.get("boom/")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")


def test_decorator_keeps_the_views_kind() -> None:
    """The decorator gives a coroutine function for an async view, a plain one for a sync view."""
    assert inspect.iscoroutinefunction(waygrid_errors(error_views.async_view))
    assert not inspect.iscoroutinefunction(waygrid_errors(error_views.sync_view))
    assert waygrid_errors(error_views.sync_view).__name__ == "sync_view"
