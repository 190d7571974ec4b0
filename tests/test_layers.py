"""The layering of DESIGN.md, checked on the source: app -> rag -> (indexer, llm) -> net; only app's
window imports Qt. `usererrors` (the base class of the errors a user can act on) is below them all and
imports only the standard library.

`net` (the HTTP client and the loopback rule that the model server and the embeddings server share) sits
below `indexer` and `llm`, which may import it but not each other; it imports nothing of ours, and only
the standard library.

Inside `app`: a Qt-free core (`app.core`: the Engine, settings, collections, chats, errors, doctor) under
three front ends (`app.gui`, `app.cli`, `app.mcp`) that do not import each other, and reach answers and
retrieval only through the Engine; `app.main` is the one module that knows all three. And everywhere: no
circle in the import graph, no source file over 450 lines.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "usererrors": {"net", "indexer", "llm", "rag", "app", "PySide6"},
    "net": {"indexer", "llm", "rag", "app", "PySide6"},
    "indexer": {"rag", "llm", "app", "PySide6"},
    "llm": {"indexer", "rag", "app", "PySide6"},
    "rag": {"app", "PySide6"},
}


FRONT_ENDS = ("app.gui", "app.cli", "app.mcp")
QUESTION_PATH = (
    "rag.answer",
    "rag.retriever",
    "llm.loader",
    "indexer.indexer.Indexer",
    "indexer.indexer.forget",
    "indexer.store.open_store",
    "indexer.store.sqlite",
    "indexer.store.postgres",
)
"""What answers, searches, opens and changes the library: a front end asks the Engine instead."""
MAX_LINES = 450


def _modules(path: Path) -> set[str]:
    """The dotted names `path` imports (``from a.b import c``: ``a.b`` and ``a.b.c``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _imports(path: Path) -> set[str]:
    return {name.split(".")[0] for name in _modules(path)}


def _module_name(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def _sources() -> list[Path]:
    return sorted(p for top in (*FORBIDDEN, "app") for p in (ROOT / top).rglob("*.py"))


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_respect_the_layers(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
        if _imports(path) & FORBIDDEN[package]
    }
    assert offenders == {}


@pytest.mark.parametrize("package", ["net", "usererrors"])
def test_the_bottom_packages_use_only_the_standard_library(package: str) -> None:
    imported = {
        str(path.relative_to(ROOT)): sorted(_imports(path) - set(sys.stdlib_module_names) - {"__future__", package})
        for path in (ROOT / package).rglob("*.py")
    }
    assert imported and all(names == [] for names in imported.values()), imported


def test_indexer_and_llm_share_net() -> None:
    assert "net" in _imports(ROOT / "indexer" / "remote_embedder.py")
    assert "net" in _imports(ROOT / "llm" / "openai_backend.py")


def test_the_core_imports_no_qt_and_no_front_end() -> None:
    offenders = {
        _module_name(path): sorted(n for n in _modules(path) if n.startswith(("PySide6", *FRONT_ENDS, "app.main")))
        for path in (ROOT / "app" / "core").rglob("*.py")
    }
    assert {name: found for name, found in offenders.items() if found} == {}


@pytest.mark.parametrize("front_end", FRONT_ENDS)
def test_front_ends_do_not_import_each_other_and_ask_through_the_engine(front_end: str) -> None:
    others = tuple(f for f in (*FRONT_ENDS, "app.main") if f != front_end)
    offenders = {
        _module_name(path): sorted(n for n in _modules(path) if any(_within(n, o) for o in (*others, *QUESTION_PATH)))
        for path in (ROOT / Path(*front_end.split("."))).rglob("*.py")
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def _circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = [stack.pop()]
            while component[-1] != node:
                component.append(stack.pop())
            if len(component) > 1:
                circles.append(sorted(component))

    for name in edges:
        if name not in index:
            visit(name)
    return circles


def test_the_import_graph_has_no_circle() -> None:
    """A package's ``__init__`` counts as a module: a submodule importing its own package's names is a circle."""
    modules = {_module_name(path): path for path in _sources()}

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    edges = {
        name: {found for n in _modules(path) if (found := resolve(n)) and found != name}
        for name, path in modules.items()
    }
    assert _circles(edges) == []


def test_no_source_file_is_over_450_lines() -> None:
    files = [*_sources(), *(ROOT / "bench").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]
    long = {
        str(p.relative_to(ROOT)): n for p in files if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
