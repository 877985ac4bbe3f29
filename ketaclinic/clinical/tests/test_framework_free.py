"""ketaclinic.clinical is a plain library: no module in it may import Django."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CLINICAL = Path(__file__).resolve().parents[1]
MODULES = sorted(CLINICAL.rglob("*.py"))


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_it_finds_the_clinical_modules() -> None:
    assert CLINICAL / "instruments" / "scoring.py" in MODULES
    assert CLINICAL / "outcomes.py" in MODULES


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(CLINICAL)))
def test_it_imports_no_django(path: Path) -> None:
    offending = {m for m in _imported_modules(path) if m == "django" or m.startswith(("django.", "ninja"))}
    assert not offending, f"{path} imports {sorted(offending)}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(CLINICAL)))
def test_it_imports_nothing_from_the_apps(path: Path) -> None:
    apps = {
        m for m in _imported_modules(path) if m.startswith("ketaclinic.") and not m.startswith("ketaclinic.clinical")
    }
    assert not apps, f"{path} imports {sorted(apps)}"
