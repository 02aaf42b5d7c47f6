"""The package's layers, as docs/architecture.md draws them: no import cycles, each layer
imports only the layers below it, and the core is the standard library's alone."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import gamify

PACKAGE = Path(gamify.__file__).parent

# What each layer may import, besides itself. "gamify" is the package's __init__ (lazy
# re-exports only), "extension" the Flask extension: the composition root that wires them all.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "campaigns": {"core", "audit"},
    "audit": {"core"},
    "services": {"core", "campaigns", "audit"},
    "storage": {"core", "services"},
    "web": {"core", "campaigns", "audit", "services", "storage", "signals"},
    "cli": {"core", "campaigns", "audit", "services", "storage", "web", "demo", "gamify"},
    "demo": {"core", "campaigns", "services", "web", "extension", "gamify"},
    "extension": {"core", "campaigns", "services", "storage", "web", "cli", "gamify"},
    "gamify": {"core"},
    "signals": set(),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, here: str, is_package: bool) -> Iterator[str]:
    """Every module an import statement names, wherever it stands (in a function too), but
    not under ``if TYPE_CHECKING:``, which never runs."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _type_checking_only(node):
            yield from (name for child in node.orelse for name in _imports(child, here, is_package))
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = here.split(".") if is_package else here.split(".")[:-1]
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)
        yield from _imports(node, here, is_package)


def import_graph() -> dict[str, set[str]]:
    """Module -> the gamify modules that importing it runs: each one named, and the packages
    (``__init__``) above it that the importer is not already inside."""
    found = modules()
    graph: dict[str, set[str]] = {}
    for name, path in found.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets: set[str] = set()
        for target in _imports(tree, name, path.name == "__init__.py"):
            if target not in found:
                continue
            parts = target.split(".")
            for depth in range(1, len(parts) + 1):
                ancestor = ".".join(parts[:depth])
                if ancestor in found and not (name + ".").startswith(ancestor + "."):
                    targets.add(ancestor)
        targets.discard(name)
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "gamify"


def test_the_package_has_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import() -> None:
    source = "def later():\n    import gamify.b\n"
    graph = {
        "gamify.a": set(_imports(ast.parse(source), "gamify.a", False)),
        "gamify.b": {"gamify.a"},
    }
    assert cycles(graph) == [["gamify.a", "gamify.b"]]
    hidden = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import gamify.b\n"
    assert "gamify.b" not in set(_imports(ast.parse(hidden), "gamify.a", False))


def test_each_layer_imports_only_the_layers_below_it() -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        for target in targets
        if layer(target) != layer(module) and layer(target) not in ALLOWED[layer(module)]
    )
    assert wrong == []


def test_every_module_belongs_to_a_known_layer() -> None:
    assert {layer(m) for m in modules()} - {"migrations"} <= set(ALLOWED)


def test_the_core_runs_on_the_standard_library_alone() -> None:
    """In a fresh interpreter without site-packages (``-S``: what is not in the standard
    library cannot even be found), importing every core module through ``gamify/__init__.py``
    loads nothing from outside the standard library: an auditor needs no Flask."""
    core = sorted(m for m in modules() if layer(m) == "core")
    assert len(core) >= 8
    script = (
        "import sys\n"
        "before = set(sys.modules)\n"
        f"for name in {core!r}:\n"
        "    __import__(name)\n"
        "outside = sorted({m.split('.')[0] for m in set(sys.modules) - before}\n"
        "    - set(sys.stdlib_module_names) - {'gamify'})\n"
        "outside = [m for m in outside if not m.startswith('_sysconfigdata')]  # zoneinfo's\n"
        "print(outside)\n"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=PACKAGE.parent,
    )
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_the_package_root_still_hands_out_the_extension_and_loaders() -> None:
    from gamify import Gamify, load_campaign

    assert Gamify.__name__ == "Gamify"
    assert callable(load_campaign)
    assert set(gamify.__all__) <= set(dir(gamify))
