"""The house has no import circles and no arrows running back up (read from the source with ast).

Layers, lowest first: core -> ingest -> assistant -> bots -> evals -> server. A module may import
its own layer or lower ones, never a higher one; no set of modules may import each other in a
circle, counting imports made inside functions too.
"""
from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAYERS = ["core", "ingest", "assistant", "bots", "evals", "server"]


def module_files() -> dict[str, Path]:
    """Our modules by dotted name: every .py under the layer packages, plus server.py."""
    found = {"server": REPO / "server.py"}
    for package in LAYERS[:-1]:
        for path in (REPO / package).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imported_names(path: Path, name: str) -> set[str]:
    """Every module name an import statement in the file names, wherever the statement is."""
    names: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import mod`
    return names


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports."""
    files = module_files()
    return {name: {n for n in imported_names(path, name) if n in files and n != name}
            for name, path in files.items()}


def circles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), or a module importing itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph.get(node, ()):
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer(module: str) -> int:
    return LAYERS.index(module.split(".")[0])


def upward(graph: Mapping[str, Iterable[str]]) -> list[str]:
    return sorted(f"{a} -> {b}" for a, targets in graph.items() for b in targets
                  if layer(b) > layer(a))


def test_the_circle_finder_finds_circles():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []
    assert upward({"core.x": {"assistant.y"}, "assistant.y": {"core.x"}}) == ["core.x -> assistant.y"]


def test_the_graph_sees_lazy_and_from_imports():
    graph = import_graph()
    assert "ingest.embed" in graph["assistant.service"]  # imported inside build_assistant
    assert {"assistant.api", "bots.http"} <= graph["server"]  # `from bots import http`
    assert len(graph) > 40


def test_no_import_circles():
    assert circles(import_graph()) == []


def test_no_arrow_runs_back_up():
    assert upward(import_graph()) == []


def test_core_imports_nothing_of_ours_but_core():
    graph = import_graph()
    assert {m for name, targets in graph.items() if name.startswith("core")
            for m in targets if not m.startswith("core")} == set()


def test_assistant_never_imports_bots_and_ingest_never_imports_assistant():
    graph = import_graph()
    assert [f"{a} -> {b}" for a, t in graph.items() for b in t
            if (a.startswith("assistant") and b.startswith("bots"))
            or (a.startswith("ingest") and b.startswith(("assistant", "bots", "evals")))] == []
