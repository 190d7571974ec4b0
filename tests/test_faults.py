"""A full disk or a read-only library stops indexing with a clear error and leaves the library as it was.

The faults are SQLite's own: a page limit on the connection makes the next write fail exactly as a full
disk does ("database or disk is full"), and query-only mode as a read-only file does. (The suite runs as
root in CI, where file permissions cannot make a folder read-only.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.embedder import Embedder
from indexer.indexer import Indexer
from indexer.store import Store, StoreError


def _library(tmp_path: Path, embedder: Embedder) -> tuple[Store, Path]:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "first.md").write_text("The lighthouse lamp is lit at dusk every evening.\n")
    store = Store(tmp_path / "lib")
    Indexer(store, embedder).run([docs])
    (docs / "second.md").write_text(" ".join(f"Log entry {i}: the fog horn sounded twice." for i in range(400)))
    return store, docs


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("PRAGMA max_page_count = {pages}", "disk holding the library is full"),
        ("PRAGMA query_only = ON", "library folder is read-only"),
    ],
)
def test_write_faults_are_explained_and_lose_nothing(
    tmp_path: Path, embedder: Embedder, fault: str, message: str
) -> None:
    store, docs = _library(tmp_path, embedder)
    before = [(d.path, d.chunk_count) for d in store.documents()]
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(fault.format(pages=pages))
    with pytest.raises(StoreError, match=message):
        Indexer(store, embedder).run([docs])
    store.close()
    reopened = Store(tmp_path / "lib")
    assert [(d.path, d.chunk_count) for d in reopened.documents()] == before
    assert reopened.check() == []
    assert [h.chunk.text for h in reopened.search_keyword("lighthouse", 3)] == [
        "The lighthouse lamp is lit at dusk every evening."
    ]
    report = Indexer(reopened, embedder).run([docs])  # with room again, the run completes
    assert [Path(p).name for p in report.indexed] == ["second.md"]
