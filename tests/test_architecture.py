"""The layout is the architecture: each subpackage imports only what its docstring allows."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import atmp
import pytest

PACKAGE = Path(atmp.__file__).resolve().parent
# who may import whom inside atmp (besides itself); the docstrings say the same in words
ALLOWED = {
    "core": set(),
    "kg": {"core"},
    "analysis": {"core", "kg"},
    "http": {"core", "kg", "analysis"},
    "cli": {"core", "kg", "analysis", "http", "authoring"},
    "authoring": {"core", "kg", "analysis"},
}


def imported_modules(path: Path, package: str) -> set[str]:
    """Absolute names of the atmp modules a file imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                found.add(".".join(base + ([node.module] if node.module else [])))
            elif node.module:
                found.add(node.module)
    return {m for m in found if m == "atmp" or m.startswith("atmp.")}


def subpackage_files(name: str) -> list[Path]:
    return sorted((PACKAGE / name).rglob("*.py"))


@pytest.mark.parametrize("name", sorted(n for n in ALLOWED if (PACKAGE / n).is_dir()))
def test_imports_follow_the_layout(name: str) -> None:
    bad = []
    for path in subpackage_files(name):
        rel = path.relative_to(PACKAGE).with_suffix("")
        package = ".".join(("atmp",) + rel.parts[:-1]) if rel.name != "__init__" else ".".join(("atmp",) + rel.parts[:-1])
        for module in imported_modules(path, package):
            parts = module.split(".")
            target = parts[1] if len(parts) > 1 else None
            if target in (None, "__version__"):
                continue
            if target != name and target not in ALLOWED[name] and target != "rules":
                bad.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("name", sorted(n for n in ALLOWED if (PACKAGE / n).is_dir()))
def test_subpackage_says_what_it_may_import(name: str) -> None:
    doc = importlib.import_module(f"atmp.{name}").__doc__ or ""
    assert "May import" in doc, f"atmp.{name} has no docstring saying what it may import"


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "x.py"
    bad.write_text("from atmp.http.app import create_app\nfrom ..kg import graph\nfrom .facts import card_facts\n")
    assert imported_modules(bad, "atmp.core") == {"atmp.http.app", "atmp.kg", "atmp.core.facts"}
