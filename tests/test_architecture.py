"""The layout is the architecture: each subpackage imports only what its docstring allows."""

from __future__ import annotations

import ast
import importlib
import sys
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


def _runtime_nodes(tree: ast.AST):
    """Every node except those under ``if TYPE_CHECKING:`` (imports for annotations only, never run)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and isinstance(child.test, ast.Name) and child.test.id == "TYPE_CHECKING":
                stack.extend(child.orelse)
                continue
            stack.append(child)


def imported_modules(path: Path, package: str) -> set[str]:
    """Absolute names of the atmp modules a file imports at run time, lazily or not (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in _runtime_nodes(tree):
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


# the rooms of atmp.core, lowest first: a module may import modules of its own room and of the rooms before it
ROOMS = ("rules", "card", "engines", "explain", "result")
CORE = PACKAGE / "core"


def _core_module(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(("atmp", *parts))


def _room(module: str) -> int:
    """The rank of a core module's room; the modules at the top of core (classify, warm) come after every room."""
    part = module.split(".")[2] if module.count(".") >= 2 else ""
    return ROOMS.index(part) if part in ROOMS else len(ROOMS)


def _core_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(CORE.rglob("*.py")):
        module = _core_module(path)
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        targets = {m for m in imported_modules(path, package) if m.startswith("atmp.core.")}
        for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):  # "from atmp.core.rules import cache" names the module atmp.core.rules.cache
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([node.module] if node.module else [])) if node.level else node.module or ""
                targets |= {f"{base}.{a.name}" for a in node.names}
        graph[module] = targets - {module}
    known = set(graph)
    # a name imported from a module (a function) stands for that module; a package's __init__ imports nothing here
    return {m: {t if t in known else t.rsplit(".", 1)[0] for t in ts} & known - {m} for m, ts in graph.items()}


def test_core_rooms_import_only_rooms_below():
    bad = []
    for module, targets in _core_graph().items():
        for target in targets:
            if _room(target) > _room(module):
                bad.append(f"{module} imports {target}")
    assert not bad, "\n".join(sorted(bad))


def test_core_has_no_import_cycle():
    graph = _core_graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt.endswith(".__init__"):
                continue
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(path[path.index(nxt) :] + [nxt]) if nxt in path else f"{node} -> {nxt}")
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "\n".join(cycles)


@pytest.mark.parametrize("room", ROOMS)
def test_each_room_says_what_it_may_import(room: str):
    doc = importlib.import_module(f"atmp.core.{room}").__doc__ or ""
    assert "May import" in doc, f"atmp.core.{room} has no docstring saying what it may import"


def test_the_cycle_check_sees_a_cycle(tmp_path, monkeypatch):
    """The graph code on a made-up package: a imports b lazily, b imports a."""
    graph = {"atmp.core.rules.a": {"atmp.core.rules.b"}, "atmp.core.rules.b": {"atmp.core.rules.a"}}
    monkeypatch.setattr(sys.modules[__name__], "_core_graph", lambda: graph)
    with pytest.raises(AssertionError, match="a -> atmp.core.rules.b -> atmp.core.rules.a"):
        test_core_has_no_import_cycle()
