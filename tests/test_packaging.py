"""Each distribution builds on its own, ships its data files, and the core works alone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# `make test` exports the uv it uses (maybe a private copy in .tools/uv).
UV = os.environ.get("UV") or shutil.which("uv") or f"{sys.executable} -m uv"


def _uv(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    command = [*UV.split(), *args]
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, check=False)


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The three wheels, built from the project's files."""
    out = tmp_path_factory.mktemp("dist")
    built = {}
    for package in ("waygrid-sdk", "waygrid-django", "waygrid-fastapi"):
        result = _uv("build", "--package", package, "--wheel", "--out-dir", str(out), "-q")
        assert result.returncode == 0, result.stderr[-2000:]
        (wheel,) = out.glob(package.replace("-", "_") + "-*.whl")
        built[package] = wheel
    return built


def _names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_wheels_ship_their_data_files(wheels: dict[str, Path]) -> None:
    """py.typed, the bundled Mermaid, migrations and templates are in the wheels."""
    core = _names(wheels["waygrid-sdk"])
    assert {"waygrid/py.typed", "waygrid/dag/static/mermaid.min.js"} <= core
    assert not any(name.startswith(("waygrid_django/", "waygrid_fastapi/")) for name in core)
    django = _names(wheels["waygrid-django"])
    assert "waygrid_django/py.typed" in django
    assert any(name.startswith("waygrid_django/migrations/0001") for name in django)
    assert any(name.startswith("waygrid_django/templates/") for name in django)
    assert "waygrid_fastapi/py.typed" in _names(wheels["waygrid-fastapi"])


def test_the_core_installs_and_works_alone(wheels: dict[str, Path], tmp_path: Path) -> None:
    """waygrid-sdk in a fresh environment: builds, validates, hashes, no framework installed."""
    venv = tmp_path / "venv"
    assert _uv("venv", "-q", "--python", sys.executable, str(venv)).returncode == 0
    python = venv / "bin" / "python"
    installed = _uv("pip", "install", "-q", "--python", str(python), str(wheels["waygrid-sdk"]))
    assert installed.returncode == 0, installed.stderr[-2000:]
    code = (
        "import importlib.util, waygrid\n"
        "from waygrid import Node, Spec\n"
        "spec = Spec.single(Node.standard('waygrid://origin/http'))\n"
        "assert spec.validate() == []\n"
        "print(spec.compile().dag_hash)\n"
        "for name in ('django', 'fastapi', 'starlette'):\n"
        "    assert importlib.util.find_spec(name) is None, name\n"
    )
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "29daf8be681ebabc"  # the server's hash (vector codec-level01)


def test_wheels_carry_their_page_license_and_links(wheels: dict[str, Path]) -> None:
    """Each wheel's metadata has its own README as the page, MIT with the LICENSE, URLs, classifiers."""
    for package, wheel in wheels.items():
        with zipfile.ZipFile(wheel) as archive:
            names = archive.namelist()
            (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
            text = archive.read(metadata).decode("utf-8")
            (license_file,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
            assert archive.read(license_file).decode("utf-8").startswith("MIT License")
        headers, _, description = text.partition("\n\n")
        assert "License: MIT" in headers
        assert "Classifier: License :: OSI Approved :: MIT License" in headers
        assert "Classifier: Programming Language :: Python :: 3.13" in headers
        assert "Project-URL: Waygrid server, https://github.com/monadial/waygrid-router" in headers
        assert "Description-Content-Type: text/markdown" in headers
        assert description.startswith(f"# {package}\n")
        assert "pip install" in description and "pypi.org/project/waygrid-sdk" in description
