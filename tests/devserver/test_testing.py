"""waygrid.testing: DevServer and DevApp outside pytest, and the pytest plugin's fixtures."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from waygrid import Spec
from waygrid.testing import DevApp, DevServer

pytestmark = pytest.mark.anyio


def run_python(code: str) -> str:
    """Run code in a fresh interpreter and return its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_importing_waygrid_loads_no_web_framework() -> None:
    """``import waygrid`` (and the devserver package itself) leave Starlette and uvicorn alone."""
    out = run_python(
        """
        import sys
        import waygrid, waygrid.devserver, waygrid.cli
        print(sorted(m for m in ("starlette", "uvicorn", "pytest") if m in sys.modules))
        """
    )
    assert out.strip() == "[]"


def test_dev_server_works_without_pytest() -> None:
    """With pytest unavailable, DevServer still imports and serves; no fixtures are defined."""
    out = run_python(
        """
        import sys
        sys.modules["pytest"] = None  # import pytest now raises ModuleNotFoundError
        import httpx
        import waygrid.testing as testing
        with testing.DevServer() as server:
            print(httpx.get(server.base_url + "/_dev/health").json()["status"])
        print(hasattr(testing, "waygrid_server"))
        """
    )
    assert out.split() == ["ok", "False"]


def test_dev_server_lifecycle() -> None:
    """start() returns once listening on a free loopback port; stop() is idempotent."""
    server = DevServer()
    assert repr(server) == "<DevServer not started>"
    server.start()
    try:
        assert server.running
        assert server.url == server.base_url == f"http://127.0.0.1:{server.port}"
        assert httpx.get(server.base_url + "/").json()["component"] == "origin"
        with pytest.raises(RuntimeError, match="already started"):
            server.start()
    finally:
        server.stop()
    server.stop()
    assert not server.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.base_url + "/")


def test_a_busy_port_raises_oserror() -> None:
    """Starting on a port that is taken fails loudly."""
    with DevServer() as first, pytest.raises(OSError):
        DevServer(port=first.port).start()


async def test_dev_server_handle_reads_what_was_stored(spec: Spec) -> None:
    """traversals(), traversal(id) and the counters reflect what clients sent."""
    with DevServer(strict=True) as server:
        async with server.client() as client:
            result = await client.submit(spec, {"a": [1, 2]})
        stored = server.traversal(result.traversal_id)
        assert stored is not None
        assert stored.spec == spec
        assert stored.payload == {"a": [1, 2]}
        assert stored.has_payload
        assert stored.idempotency_key == result.idempotency_key
        assert server.ingest_requests == 1
        assert server.connections_accepted == 1
        server.reset()
        assert server.traversals() == []
        assert server.connections_accepted == 0


async def test_dev_app_runs_in_process(spec: Spec) -> None:
    """DevApp answers through httpx.ASGITransport: no port, no TCP connection counted."""
    dev = DevApp(strict=True)
    async with dev.client() as client:
        result = await client.submit(spec)
    async with dev.http_client() as http:
        health = (await http.get("/_dev/health")).json()
    assert health["strict"] is True
    assert [t.traversal_id for t in dev.traversals()] == [result.traversal_id]
    assert dev.connections_accepted == 0
    assert isinstance(dev.transport(), httpx.ASGITransport)
    dev.close()


async def test_waygrid_app_fixture_is_fresh(waygrid_app: DevApp, spec: Spec) -> None:
    """The waygrid_app fixture starts empty and takes submits in-process."""
    assert waygrid_app.traversals() == []
    async with waygrid_app.client() as client:
        await client.submit(spec)
    assert len(waygrid_app.traversals()) == 1


def test_waygrid_server_fixture_first(waygrid_server: DevServer, spec: Spec) -> None:
    """Leaves a traversal, a pending fault and counts behind (the next test must not see them)."""
    httpx.post(waygrid_server.base_url + "/v1/ingest", json={"graph": spec.to_dict()})
    waygrid_server.fail_next(3)
    assert len(waygrid_server.traversals()) == 1


def test_waygrid_server_fixture_second(waygrid_server: DevServer) -> None:
    """The session server was reset in between: no traversals, faults or counts."""
    assert waygrid_server.traversals() == []
    assert waygrid_server.state.pending_faults == 0
    assert waygrid_server.ingest_requests == 0


def test_the_plugin_works_through_pytest_plugins(tmp_path: Path) -> None:
    """A project enabling ``pytest_plugins = ["waygrid.testing"]`` gets both fixtures."""
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["waygrid.testing"]\n')
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            '''
            import asyncio
            import httpx
            from waygrid import Node, Spec

            SPEC = Spec.single(Node.standard("waygrid://origin/http"))

            def test_server(waygrid_server):
                """A user test on the session server."""
                body = {"graph": SPEC.to_dict()}
                assert httpx.post(waygrid_server.base_url + "/v1/ingest", json=body).status_code == 200
                assert len(waygrid_server.traversals()) == 1

            def test_server_again(waygrid_server):
                """Reset between tests."""
                assert waygrid_server.traversals() == []

            def test_app(waygrid_app):
                """A user test in-process."""
                async def submit():
                    async with waygrid_app.client() as client:
                        return await client.submit(SPEC)
                result = asyncio.run(submit())
                assert waygrid_app.traversals()[0].traversal_id == result.traversal_id
            '''
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "PYTEST"))}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:django"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout
