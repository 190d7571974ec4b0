"""The layering of DESIGN.md, checked on the source: app -> rag -> (indexer, llm) -> net; only app imports Qt.

`net` (the HTTP client and the loopback rule that the model server and the embeddings server share) sits
below `indexer` and `llm`, which may import it but not each other; it imports nothing of ours, and only
the standard library.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "net": {"indexer", "llm", "rag", "app", "PySide6"},
    "indexer": {"rag", "llm", "app", "PySide6"},
    "llm": {"indexer", "rag", "app", "PySide6"},
    "rag": {"app", "PySide6"},
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_respect_the_layers(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
        if _imports(path) & FORBIDDEN[package]
    }
    assert offenders == {}


def test_net_uses_only_the_standard_library() -> None:
    imported = {
        str(path.relative_to(ROOT)): sorted(_imports(path) - set(sys.stdlib_module_names) - {"__future__", "net"})
        for path in (ROOT / "net").rglob("*.py")
    }
    assert imported and all(names == [] for names in imported.values()), imported


def test_indexer_and_llm_share_net() -> None:
    assert "net" in _imports(ROOT / "indexer" / "remote_embedder.py")
    assert "net" in _imports(ROOT / "llm" / "openai_backend.py")
