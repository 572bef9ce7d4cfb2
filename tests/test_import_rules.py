"""Dependencies point one way: adapters use the core's public API only, never each other."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {
    "waygrid": ROOT / "waygrid_core" / "waygrid",
    "waygrid_fastapi": ROOT / "waygrid_fastapi" / "waygrid_fastapi",
    "waygrid_django": ROOT / "waygrid_django" / "waygrid_django",
}
ADAPTERS = ("waygrid_fastapi", "waygrid_django")


def imports(package: str) -> Iterator[tuple[str, int, str]]:
    """(file, line, absolute module name) of every import in ``package``, names included."""
    for path in sorted(PACKAGES[package].rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        where = str(path.relative_to(ROOT))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield where, node.lineno, alias.name
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                yield where, node.lineno, node.module
                for alias in node.names:
                    yield where, node.lineno, f"{node.module}.{alias.name}"


def broken_rule(package: str, module: str) -> str | None:
    """Why ``package`` may not import ``module``, or None when it may."""
    top, *rest = module.split(".")
    if top in PACKAGES and top != package and package == "waygrid":
        return "the core imports an adapter"
    if top in ADAPTERS and top != package:
        return "an adapter imports the other adapter"
    if package in ADAPTERS and top == "waygrid" and any(part.startswith("_") for part in rest):
        return "an adapter imports a private module or name of the core"
    return None


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_imports_follow_the_dependency_rules(package: str) -> None:
    """No adapter imports the other or anything under waygrid._*; the core imports no adapter."""
    broken = [
        f"{where}:{line}: {module} ({why})"
        for where, line, module in imports(package)
        if (why := broken_rule(package, module)) is not None
    ]
    assert broken == []


@pytest.mark.parametrize(
    ("package", "module", "allowed"),
    [
        ("waygrid_django", "waygrid.client", True),
        ("waygrid_django", "waygrid.client._config", False),
        ("waygrid_django", "waygrid._json.loads_strict", False),
        ("waygrid_fastapi", "waygrid.Spec", True),
        ("waygrid_fastapi", "waygrid_django.outbox", False),
        ("waygrid_django", "waygrid_fastapi", False),
        ("waygrid", "waygrid_django.conf", False),
        ("waygrid", "waygrid._codec", True),
        ("waygrid_django", "waygrid_django._loop", True),
    ],
)
def test_the_rule_checker_catches_each_kind(package: str, module: str, allowed: bool) -> None:
    """The checker refuses each forbidden kind of import (so the rule test can fail)."""
    assert (broken_rule(package, module) is None) is allowed


def test_the_walker_sees_every_kind_of_import() -> None:
    """Both `import x` and `from x import y` are seen, in every package."""
    for package in PACKAGES:
        modules = {module for _, _, module in imports(package)}
        assert "__future__.annotations" in modules
