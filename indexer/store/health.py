"""A library's statistics and the integrity checks both backends make alike, written once over the
`Dialect` (`indexer.store.reads`).

A backend's store inherits `CatalogueHealth` and says what is its own: how its vector index is named in
the statistics and how much room the library takes (the SQLite store: its folder's files; PostgreSQL: its
tables' relations), and its `check`, which adds what only it can go wrong in (SQLite's integrity and FTS5
index, rows a missing foreign key left, the saved FAISS file) to `_catalogue_problems`."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from indexer.pagekind import KINDS
from indexer.store.reads import CatalogueReads
from indexer.store.records import StoreStats


class CatalogueHealth(CatalogueReads):
    """Counts for `footnotes status` and the checks of what the app promises of the catalogue."""

    folder: Path
    """The library's folder (for a database: its location as a path), as the statistics name it."""
    _lock: threading.RLock

    def _index_kind_shown(self, chunks: int) -> str:
        """The vector index's kind as the statistics show it, for a library of `chunks` chunks."""
        raise NotImplementedError

    def _size(self) -> int:
        """How many bytes the library takes."""
        raise NotImplementedError

    def stats(self) -> StoreStats:
        """Counts, embedder, the vector index's kind and the library's size."""
        documents, pages = self.dialect.table("documents"), self.dialect.table("pages")
        with self._lock:  # both counts from one moment of this store's writes
            failed_sql = f"SELECT count(*), count(CASE WHEN status = 'failed' THEN 1 END) FROM {documents}"
            docs, failed = self._row(failed_sql)
            page_count = self._row(f"SELECT count(*) FROM {pages}")[0]
        embedder = self.embedder
        chunks = self.chunk_count()
        return StoreStats(
            self.folder,
            docs - failed,
            failed,
            chunks,
            page_count,
            embedder[0] if embedder else None,
            embedder[1] if embedder else None,
            self._index_kind_shown(chunks),
            self._size(),
        )

    def _catalogue_problems(self) -> list[str]:
        """What the app promises of the catalogue, whichever backend keeps it, and is not so: each indexed
        document has chunks, each chunk's text is the span of its page it claims, each chunk's kind is
        known."""
        chunks, documents, pages = (self.dialect.table(t) for t in ("chunks", "documents", "pages"))
        kinds = ", ".join([self.dialect.mark] * len(KINDS))
        return self._counted_problems(
            [
                (
                    "indexed documents without chunks",
                    f"SELECT count(*) FROM {documents} d WHERE status = 'indexed'"
                    f" AND NOT EXISTS (SELECT 1 FROM {chunks} c WHERE c.doc_id = d.id)",
                    (),
                ),
                (
                    "chunks whose text is not their page span",
                    f"SELECT count(*) FROM {chunks} c LEFT JOIN {pages} p ON p.doc_id = c.doc_id"
                    " AND p.number = c.page WHERE p.text IS NULL"
                    " OR substr(p.text, c.char_start + 1, c.char_end - c.char_start) != c.text",
                    (),
                ),
                ("chunks of an unknown kind", f"SELECT count(*) FROM {chunks} WHERE kind NOT IN ({kinds})", KINDS),
            ]
        )

    def _counted_problems(self, queries: list[tuple[str, str, Sequence[Any]]]) -> list[str]:
        """One line for each (label, query, parameters) whose query counts any rows: ``3 chunks of an
        unknown kind``; none when each counts none."""
        problems = []
        for label, sql, params in queries:
            count = self._row(sql, params)[0]
            if count:
                problems.append(f"{count} {label}")
        return problems
