"""The package layout holds: no import circle between modules or packages, and no arrow back up a layer.

Layers of ``engagement/``, top to bottom:

* entry points (``ENTRY``): the CLI, the runtime, the pipeline, the accounts list, the worker, retention,
  ``api``, and the package's own ``__init__``; they may import anything below. Every module at the top is
  either an entry point or a base module: a new one is put in one list or the other, or in a package.
* the packages by capability (``account/``, ``fathom/``, ``jobs/``, …); they import each other one way
  only, and never an entry point.
* the base modules (``BASE``: settings, models, errors, deadline, wording, the process registry, the lazy
  re-exports of the packages' ``__init__``); they import
  only each other.

Every import counts, lazy ones inside functions and ``TYPE_CHECKING`` ones too: a circle hidden in a
function is still a circle.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "engagement"
ENTRY = {
    "engagement",
    "engagement.__main__",
    "engagement.cli",
    "engagement.api",
    "engagement.runtime",
    "engagement.pipeline",
    "engagement.accounts",
    "engagement.workers",
    "engagement.retention",
}
BASE = {
    "engagement.settings",
    "engagement.models",
    "engagement.errors",
    "engagement.deadline",
    "engagement.wording",
    "engagement.registry",
    "engagement.exports",
}


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__``)."""
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: Iterable[str]) -> set[str]:
    """The modules of ``known`` that ``name`` imports (``from pkg import mod`` names ``pkg.mod``)."""
    known = set(known)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            submodules = [f"{source}.{alias.name}" for alias in node.names if f"{source}.{alias.name}" in known]
            candidates = submodules if len(submodules) == len(node.names) else [source, *submodules]
        else:
            continue
        for candidate in candidates:
            while candidate not in known and "." in candidate:
                candidate = candidate.rpartition(".")[0]
            if candidate in known and candidate != name:
                targets.add(candidate)
    return targets


@functools.cache
def graph() -> dict[str, set[str]]:
    """Module → the ``engagement`` modules it imports."""
    found = modules()
    return {name: imports(name, path, found) for name, path in found.items()}


def room(name: str) -> str:
    """The package a module lives in (``engagement.jobs.service`` → ``engagement.jobs``); a top module is its own."""
    parts = name.split(".")
    if len(parts) > 2 or (len(parts) == 2 and (ROOT / parts[1]).is_dir()):
        return ".".join(parts[:2])
    return name


def circles(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_layers_are_known() -> None:
    """Every named entry point and base module exists, so a rename cannot silently empty a rule."""
    assert ENTRY | BASE <= set(modules())


def test_every_top_level_module_has_a_layer() -> None:
    """A module directly in engagement/ is an entry point or a base module; anything else belongs in a package."""
    top = {name for name, path in modules().items() if path.parent == ROOT and path.name != "__init__.py"}
    assert top - ENTRY - BASE == set()
    assert "engagement.cli" in top and "engagement.jobs" not in top


def test_no_module_imports_in_a_circle() -> None:
    """No two modules of engagement/ import each other, directly or round a longer loop."""
    assert circles(graph()) == []


def test_no_package_imports_in_a_circle() -> None:
    """Packages import each other one way only (render may read account; account never reads render)."""
    rooms: dict[str, set[str]] = {}
    for name, targets in graph().items():
        rooms.setdefault(room(name), set()).update(room(t) for t in targets if room(t) != room(name))
    assert circles(rooms) == []


def test_no_package_imports_an_entry_point() -> None:
    """Nothing below the entry points (packages, base modules) imports one: no arrow runs back up."""
    upward = sorted(
        f"{name} imports {target}"
        for name, targets in graph().items()
        if name not in ENTRY
        for target in targets
        if target in ENTRY
    )
    assert upward == []


def test_base_modules_import_only_base_modules() -> None:
    """settings, models, errors, deadline, wording and the registry stand on nothing but each other."""
    upward = sorted(f"{name} imports {target}" for name in BASE for target in graph()[name] if target not in BASE)
    assert upward == []


def test_the_checker_sees_a_circle_and_a_lazy_import(tmp_path: Path) -> None:
    """The import reader follows relative, lazy and ``from pkg import module`` imports, and finds a loop."""
    pkg = tmp_path / "engagement"
    (pkg / "a").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a" / "__init__.py").write_text("")
    (pkg / "a" / "one.py").write_text("from . import two\n")
    (pkg / "a" / "two.py").write_text("def f():\n    from engagement.cli import main\n")
    (pkg / "cli.py").write_text("from engagement.a import one\n")
    found = modules(pkg)
    edges = {name: imports(name, path, found) for name, path in found.items()}
    assert edges["engagement.a.one"] == {"engagement.a.two"}
    assert edges["engagement.a.two"] == {"engagement.cli"}
    assert circles(edges) == [["engagement.a.one", "engagement.a.two", "engagement.cli"]]
