"""The SQLite store's part of a library's statistics, and its integrity check."""

from __future__ import annotations

import sqlite3

from indexer.store.health import CatalogueHealth
from indexer.store.sqlite.base import StoreBase
from indexer.store.sqlite.vector_cache import VectorCache
from indexer.vectors import VectorIndex


class Health(StoreBase, CatalogueHealth):
    """Counts for `footnotes status` (`indexer.store.health`, with the vector index's kind and the folder's
    size) and the check behind `footnotes check` (of SQLite itself and the saved vector index too)."""

    vector_cache: VectorCache

    def _index_kind_shown(self, chunks: int) -> str:
        """The library's choice; ``auto`` with the kind it searches now (``auto (flat now)``)."""
        kind = self.index_kind
        return f"auto ({self.vector_cache.effective_kind(chunks)} now)" if kind == "auto" else kind

    def _size(self) -> int:
        """The bytes of the folder's files: the catalogue, its WAL and the saved vector indexes."""
        return sum(f.stat().st_size for f in self.folder.iterdir() if f.is_file())

    def check(self) -> list[str]:
        """Integrity problems of the library; an empty list means it is sound.

        Checks SQLite itself, the FTS index against the chunks, orphan rows (SQLite does not enforce the
        catalogue's foreign keys), what both backends check (`CatalogueHealth._catalogue_problems`), and that the saved
        vector index (if any) holds exactly the catalogue's chunk ids.
        """
        problems: list[str] = []
        with self._lock:
            status = self._conn.execute("PRAGMA integrity_check").fetchone()[0]
            if status != "ok":
                problems.append(f"SQLite integrity: {status}")
            try:
                self._conn.execute("INSERT INTO chunks_fts(chunks_fts, rank) VALUES ('integrity-check', 1)")
            except sqlite3.DatabaseError as exc:
                problems.append(f"keyword index does not match the chunks: {exc}")
            problems += self._counted_problems(
                [
                    ("chunks without a document", f"SELECT count(*) FROM chunks WHERE {_ORPHAN}", ()),
                    ("pages without a document", f"SELECT count(*) FROM pages WHERE {_ORPHAN}", ()),
                ]
            )
            problems += self._catalogue_problems()
            chunk_ids = {r[0] for r in self._conn.execute("SELECT id FROM chunks")}
            kind = self.vector_cache.effective_kind(len(chunk_ids))
            saved = self.vector_cache.path(self.generation, kind)
            if saved.exists() and self.embedder:
                try:
                    on_disk = VectorIndex.load(saved, self.embedder[1], kind, self.vector_cache.exact_vectors)
                    ids = set(on_disk.ids().tolist())
                    if ids != chunk_ids:
                        problems.append(
                            f"vector index differs from the chunks ({len(ids - chunk_ids)} extra, "
                            f"{len(chunk_ids - ids)} missing)"
                        )
                except (RuntimeError, ValueError) as exc:
                    problems.append(f"vector index unreadable: {exc}")
        return problems


_ORPHAN = "doc_id NOT IN (SELECT id FROM documents)"
"""A row whose document is gone."""
