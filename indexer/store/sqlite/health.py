"""A library's statistics and its integrity check."""

from __future__ import annotations

import sqlite3

from indexer.pagekind import KINDS
from indexer.store.records import StoreStats
from indexer.store.sqlite.base import StoreBase
from indexer.store.sqlite.vector_cache import VectorCache
from indexer.vectors import VectorIndex


class Health(StoreBase):
    """Counts for `footnotes status` and the check behind `footnotes check` (of the saved vector index too)."""

    vector_cache: VectorCache

    def stats(self) -> StoreStats:
        """Counts, embedder and size on disk."""
        with self._lock:
            docs, failed = self._conn.execute(
                "SELECT count(*), coalesce(sum(status = 'failed'), 0) FROM documents"
            ).fetchone()
            pages = self._conn.execute("SELECT count(*) FROM pages").fetchone()[0]
        embedder = self.embedder
        chunks = self.chunk_count()
        kind = self.index_kind
        shown_kind = f"auto ({self.vector_cache.effective_kind(chunks)} now)" if kind == "auto" else kind
        size = sum(f.stat().st_size for f in self.folder.iterdir() if f.is_file())
        return StoreStats(
            self.folder,
            docs - failed,
            failed,
            chunks,
            pages,
            embedder[0] if embedder else None,
            embedder[1] if embedder else None,
            shown_kind,
            size,
        )

    def check(self) -> list[str]:
        """Integrity problems of the library; an empty list means it is sound.

        Checks SQLite itself, the FTS index against the chunks, orphan rows, that every chunk's
        text is the span of its page it claims, and that the saved vector index (if any) holds
        exactly the catalogue's chunk ids.
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
            queries = {
                "chunks without a document": "SELECT count(*) FROM chunks"
                " WHERE doc_id NOT IN (SELECT id FROM documents)",
                "pages without a document": "SELECT count(*) FROM pages WHERE doc_id NOT IN (SELECT id FROM documents)",
                "indexed documents without chunks": "SELECT count(*) FROM documents d WHERE status = 'indexed'"
                " AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.doc_id = d.id)",
                "chunks whose text is not their page span": "SELECT count(*) FROM chunks c LEFT JOIN pages p"
                " ON p.doc_id = c.doc_id AND p.number = c.page WHERE p.text IS NULL"
                " OR substr(p.text, c.char_start + 1, c.char_end - c.char_start) != c.text",
                "chunks of an unknown kind": "SELECT count(*) FROM chunks WHERE kind NOT IN ("
                + ",".join(f"'{k}'" for k in KINDS)
                + ")",
            }
            for label, sql in queries.items():
                count = self._conn.execute(sql).fetchone()[0]
                if count:
                    problems.append(f"{count} {label}")
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
