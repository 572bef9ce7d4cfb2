"""Fixtures of the waygrid_django tests: the dev server, Django under WSGI and ASGI, dispatchers.

The same tests run on SQLite (the default run) and on PostgreSQL (``WAYGRID_TEST_DATABASE=
postgresql``, the Makefile's second run). Without a reachable PostgreSQL they are skipped, unless
``WAYGRID_TEST_REQUIRE_POSTGRES=1`` (CI), where that is an error.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from tests.django.helpers import AsgiServer
from waygrid.testing import DevServer
from waygrid_django import WaygridService, get_service

HERE = Path(__file__).resolve().parent


def _postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used, or None when it can."""
    url = os.environ.get("WAYGRID_TEST_POSTGRES_URL")
    if not url:
        return "WAYGRID_TEST_POSTGRES_URL is not set (e.g. postgresql://root@127.0.0.1:5432/test)"
    import psycopg

    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"PostgreSQL at WAYGRID_TEST_POSTGRES_URL is unreachable: {exc}".strip()
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip (or, when required, fail) the Django tests if their PostgreSQL is unavailable."""
    if django_settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return
    mine = [item for item in items if HERE in Path(str(item.path)).parents]
    problem = _postgres_problem() if mine else None
    if problem is None:
        return
    if os.environ.get("WAYGRID_TEST_REQUIRE_POSTGRES") == "1":
        pytest.exit(f"WAYGRID_TEST_REQUIRE_POSTGRES=1 but {problem}", returncode=1)
    marker = pytest.mark.skip(reason=f"needs PostgreSQL: {problem}")
    for item in mine:
        item.add_marker(marker)


@pytest.fixture(scope="session", autouse=True)
def _close_connections_of_async_threads(django_db_setup: None) -> Iterator[None]:
    """At the end, close the connection Django opened in asgiref's sync thread.

    ``sync_to_async`` (async views, ``asubmit_on_commit``) runs ORM code in one long-lived
    thread; its connection would keep PostgreSQL from dropping the test database.
    """
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    SyncToAsync.single_thread_executor.submit(connections.close_all).result()


@pytest.fixture
def service(settings: Settings, waygrid_server: DevServer) -> WaygridService:
    """The default service (`get_service()`), pointed at the session's dev server."""
    settings.WAYGRID_BASE_URL = waygrid_server.url
    return get_service()


@pytest.fixture(scope="session")
def asgi_server(django_db_setup: None, django_db_blocker: object) -> Iterator[AsgiServer]:
    """The project under ASGI (uvicorn) for the session."""
    server = AsgiServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["wsgi", "asgi"])
def django_server(
    request: pytest.FixtureRequest,
    transactional_db: None,
    live_server: LiveServer,
    asgi_server: AsgiServer,
) -> str:
    """The base URL of the project served under WSGI (threaded) and then under ASGI (uvicorn)."""
    return live_server.url if request.param == "wsgi" else asgi_server.url
