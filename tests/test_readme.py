"""Every python snippet of the README and the package READMEs runs, each in the harness it needs.

Django snippets that need a database run in ``tests/django/test_django_readme.py`` (on SQLite
and PostgreSQL), the simulator's in ``tests/simulate/test_readme_section.py``; `harness` names the harness of every snippet, and a snippet without one fails.
"""

from __future__ import annotations

import ast
import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from waygrid import Spec, WaygridClient
from waygrid.testing import DevServer

ROOT = Path(__file__).resolve().parents[1]
DOCS = (
    "README.md",
    "waygrid_core/README.md",
    "waygrid_fastapi/README.md",
    "waygrid_django/README.md",
)
LOCAL = "http://127.0.0.1:1337"


def snippets(doc: str) -> list[tuple[str, str]]:
    """The ```python blocks of a document as ``(heading, code)``, dedented."""
    found = []
    heading = ""
    text = (ROOT / doc).read_text(encoding="utf-8")
    for match in re.finditer(r"^(#+ [^\n]*)$|^( *)```python\n(.*?)^\2```", text, re.S | re.M):
        if match.group(1):
            heading = match.group(1).lstrip("# ")
            continue
        indent = len(match.group(2))
        lines = match.group(3).splitlines(keepends=True)
        found.append((heading, "".join(line[indent:] for line in lines)))
    return found


def harness(heading: str, code: str) -> str:
    """Which harness runs a snippet (see the tests below)."""
    if heading in ("Building specs", "Fork and join"):
        return "builder"
    if heading == "Simulating a traversal":
        return "simulate"  # run, output compared, in tests/simulate/test_readme_section.py
    rules = (
        ("# settings.py", "django-settings"),
        ("@waygrid_errors", "django-errors"),
        ("capture_submissions()", "django-capture"),
        ("def start_workflow", "django-view"),
        ("waygrid_lifespan(app, ", "fastapi-own-lifespan"),
        ("from fastapi", "fastapi"),
        ("from waygrid.testing import DevServer", "devserver"),
        ("WaygridClient(", "quickstart"),
    )
    return next((name for marker, name in rules if marker in code), "none")


ALL = [(doc, heading, code) for doc in DOCS for heading, code in snippets(doc)]


def of(kind: str) -> list[Any]:
    """The snippets one harness runs, as pytest params."""
    return [
        pytest.param(code, id=f"{doc}:{heading}")
        for doc, heading, code in ALL
        if harness(heading, code) == kind
    ]


def test_every_snippet_has_a_harness() -> None:
    """No python snippet in the docs goes untested."""
    assert len(ALL) >= 12
    assert [(doc, heading) for doc, heading, code in ALL if harness(heading, code) == "none"] == []
    kinds = ("quickstart", "fastapi", "django-view", "django-capture", "django-errors")
    assert all(of(kind) for kind in kinds)


def run(code: str, namespace: dict[str, Any]) -> None:
    """Run a snippet as a module would (top-level ``await`` allowed, as in an async test)."""
    namespace.setdefault("__name__", "readme_snippet")
    compiled = compile(code, "<snippet>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(compiled, namespace)
    if asyncio.iscoroutine(result):
        asyncio.run(result)


@pytest.mark.parametrize("code", of("quickstart"))
def test_quickstart(code: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The quickstart validates, prints the JSON and hash, and submits to a dev server."""
    with DevServer() as server:
        run(code.replace(LOCAL, server.base_url), {})
        (stored,) = server.traversals()
    printed = capsys.readouterr().out.splitlines()
    assert printed[-1] == f"{stored.traversal_id} {stored.dag_hash}"
    assert stored.payload == {"orderId": 42}


def test_building_specs_and_fork_join() -> None:
    """The builder and fork/join snippets build a valid spec."""
    namespace: dict[str, Any] = {}
    for code in [p.values[0] for p in of("builder")]:
        run(code, namespace)
    spec = namespace["spec"]
    assert isinstance(spec, Spec)
    # No compiler or static warning; the runtime warnings name what today's server does wrong.
    assert {issue.code for issue in spec.validate()} == {
        "runtime-branch-failure-fails-traversal",
        "runtime-control-node-never-answered",
        "runtime-join-continuation-stalls",
    }
    assert Spec.single(namespace["classify"]).validate() == []


@pytest.mark.parametrize("code", of("devserver"))
def test_devserver_snippet(code: str) -> None:
    """The DevServer snippet submits, finds the traversal and injects faults."""
    from waygrid import Node

    namespace: dict[str, Any] = {"spec": Spec.single(Node.standard("waygrid://processor/a"))}
    run(code, namespace)
    assert namespace["result"].dag_hash == namespace["spec"].compile().dag_hash


@pytest.mark.parametrize("code", of("fastapi"))
def test_fastapi_snippet(code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The FastAPI steps serve /workflow/start through one client, configured from WAYGRID_*."""
    with DevServer() as server:
        monkeypatch.setenv("WAYGRID_BASE_URL", server.base_url)
        namespace: dict[str, Any] = {}
        run(code, namespace)
        with TestClient(namespace["app"]) as http:
            response = http.post("/workflow/start", json={"orderId": 42})
        assert response.status_code == 200, response.text
        (stored,) = server.traversals()
    assert response.json() == {"traversal_id": stored.traversal_id, "status": "submitted"}
    assert stored.payload == {"orderId": 42}


@pytest.mark.parametrize("code", of("fastapi-own-lifespan"))
def test_fastapi_own_lifespan_snippet(code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Entering waygrid_lifespan inside your own lifespan shares the client and your resources."""
    monkeypatch.setenv("WAYGRID_BASE_URL", LOCAL)
    namespace: dict[str, Any] = {}
    run(code, namespace)
    app: FastAPI = namespace["app"]

    @app.get("/state")
    async def state(request: Request) -> dict[str, str]:
        state = request.state
        return {"waygrid": type(state.waygrid).__name__, "http": type(state.http).__name__}

    with TestClient(app) as http:
        assert http.get("/state").json() == {"waygrid": "WaygridClient", "http": "AsyncClient"}
        assert isinstance(app.state.waygrid, WaygridClient)


@pytest.mark.parametrize("code", of("django-settings"))
def test_django_settings_snippet(code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings lines add the app and read both settings from the environment."""
    monkeypatch.setenv("WAYGRID_API_KEY", "s3cret")
    monkeypatch.delenv("WAYGRID_BASE_URL", raising=False)
    namespace: dict[str, Any] = {"INSTALLED_APPS": ["django.contrib.contenttypes"], "os": os}
    run(code, namespace)
    assert namespace["INSTALLED_APPS"][-1] == "waygrid_django"
    assert (namespace["WAYGRID_BASE_URL"], namespace["WAYGRID_API_KEY"]) == (LOCAL, "s3cret")


def test_typed_snippets_pass_mypy_strict(tmp_path: Path) -> None:
    """The quickstart, the FastAPI and the Django view snippets are mypy --strict clean."""
    typed = ("quickstart", "fastapi", "fastapi-own-lifespan", "django-view", "django-errors")
    # The error-mapping snippet continues the view snippet: it uses its WORKFLOW.
    context = {"django-errors": "from waygrid import Spec\n\nWORKFLOW: Spec\n"}
    files = []
    for number, (_, heading, code) in enumerate(ALL):
        kind = harness(heading, code)
        if kind in typed:
            files.append(tmp_path / f"snippet_{number}.py")
            files[-1].write_text(context.get(kind, "") + code, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", *map(str, files)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout
