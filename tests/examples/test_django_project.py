"""The Django example project: its demo, its view under runserver and uvicorn, DATABASE_URL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from examples.django_project.demo import run_demo
from examples.django_project.example_project.settings import BASE_DIR, database_from_url
from waygrid.testing import DevServer

PROJECT = Path(__file__).resolve().parents[2] / "examples" / "django_project"


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``manage.py`` of the example in a subprocess; its captured output."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def project_env(tmp_path: Path, dev_server: DevServer) -> dict[str, str]:
    """The example's environment: a fresh SQLite file and the dev server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WAYGRID_"))}
    env.pop("DATABASE_URL", None)
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path}/example.sqlite3", WAYGRID_BASE_URL=dev_server.url
    )
    return env


@pytest.fixture
def dev_server() -> Iterator[DevServer]:
    """A dev server of this test's own."""
    with DevServer() as server:
        yield server


def test_demo_prints_the_rows(dev_server: DevServer, capfd: pytest.CaptureFixture[str]) -> None:
    """run_demo migrates, submits via the view (also while Waygrid is down), dispatches, prints."""
    run_demo(dev_server.url)
    out = capfd.readouterr().out
    assert out.count("-> 200 {") == 2
    assert out.count('-> 202 {"traversal_id": null, "status": "pending"') == 2
    assert "waygrid_dispatch: 2 submitted, 0 to retry, 0 failed" in out
    final = out.split("The outbox after dispatch:")[1]
    assert final.count("submitted") == 4
    assert len(dev_server.traversals()) == 4


@pytest.mark.parametrize("server", ["runserver", "uvicorn"])
def test_workflow_view_against_the_dev_server(
    server: str, project_env: dict[str, str], dev_server: DevServer
) -> None:
    """POST /workflow/start/ (form and JSON) answers with the traversal id under WSGI and ASGI."""
    assert manage("migrate", "-v0", env=project_env).returncode == 0
    port = _free_port()
    if server == "runserver":
        command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    else:
        command = [sys.executable, "-m", "uvicorn", "example_project.asgi:application"]
        command += ["--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=PROJECT, env=project_env, stderr=subprocess.PIPE)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            _wait_until_up(http)
            form = http.post("/workflow/start/", data={"orderId": "42"})
            body = http.post("/workflow/start/", json={"orderId": 43})
            assert (form.status_code, body.status_code) == (200, 200), form.text + body.text
            status = http.get(f"/workflow/{body.json()['submission_id']}/").json()
            admin = http.get("/admin/", follow_redirects=False)
    finally:
        process.terminate()
        process.communicate(timeout=30)
    assert status == body.json()
    assert status["status"] == "submitted"
    assert admin.status_code == 302  # to the login page
    payloads = [t.payload for t in dev_server.traversals()]
    assert payloads == [{"orderId": "42"}, {"orderId": 43}]


def test_checks_run_in_the_project(project_env: dict[str, str]) -> None:
    """`manage.py check` passes; `check --deploy` reports waygrid.E002 without a key in production."""
    assert manage("check", env=project_env).returncode == 0
    production = {**project_env, "DJANGO_DEBUG": "0"}
    assert manage("check", env=production).returncode == 0  # nor does it block migrate
    result = manage("check", "--deploy", "--tag", "waygrid", env=production)
    assert result.returncode == 1
    assert "waygrid.E002" in result.stderr
    assert 'WAYGRID_API_KEY = os.environ["WAYGRID_API_KEY"]' in result.stderr


def test_database_url_parsing() -> None:
    """DATABASE_URL selects PostgreSQL or SQLite; unset means SQLite next to manage.py."""
    assert database_from_url(None)["NAME"] == BASE_DIR / "db.sqlite3"
    assert database_from_url("sqlite:////tmp/x.sqlite3")["NAME"] == "/tmp/x.sqlite3"
    pg = database_from_url("postgresql://app:p%40ss@db.internal:6543/shop")
    assert pg == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "shop",
        "USER": "app",
        "PASSWORD": "p@ss",
        "HOST": "db.internal",
        "PORT": "6543",
    }
    with pytest.raises(ValueError, match="DATABASE_URL"):
        database_from_url("mysql://x/y")


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A scratch PostgreSQL database's URL (skipped without PostgreSQL, unless required)."""
    url = os.environ.get("WAYGRID_TEST_POSTGRES_URL")
    import psycopg

    problem = None if url else "WAYGRID_TEST_POSTGRES_URL is not set"
    if url:
        try:
            admin = psycopg.connect(url, autocommit=True, connect_timeout=3)
        except psycopg.Error as exc:
            problem = f"PostgreSQL is unreachable: {exc}"
    if problem or not url:
        if os.environ.get("WAYGRID_TEST_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"WAYGRID_TEST_REQUIRE_POSTGRES=1 but {problem}")
        pytest.skip(f"needs PostgreSQL: {problem}")
    name = f"waygrid_example_{os.getpid()}"
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield url.rsplit("/", 1)[0] + "/" + name
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_runs_on_postgresql_from_database_url(
    postgres_database: str, project_env: dict[str, str], tmp_path: Path, dev_server: DevServer
) -> None:
    """With DATABASE_URL=postgresql://..., migrate and an outbox submit work on PostgreSQL."""
    env = {**project_env, "DATABASE_URL": postgres_database}
    migrate = manage("migrate", "-v0", env=env)
    assert migrate.returncode == 0, migrate.stderr
    spec = tmp_path / "spec.json"
    from examples.django_project.example_project.workflows import START_WORKFLOW

    spec.write_text(START_WORKFLOW.to_json(), encoding="utf-8")
    result = manage("waygrid_submit", str(spec), "--outbox", "--payload", '{"pg": true}', env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("submission 1: submitted, traversal ")
    assert [t.payload for t in dev_server.traversals()] == [{"pg": True}]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(http: httpx.Client) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            http.get("/admin/login/")
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
