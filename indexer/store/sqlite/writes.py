"""Catalogue writes: each document goes in (or out) in one transaction, mirrored in the vector cache."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from indexer.attachments import lies_under
from indexer.pagekind import KINDS
from indexer.store.records import FileFacts
from indexer.store.sqlite.base import StoreBase
from indexer.store.sqlite.vector_cache import VectorCache
from indexer.types import Chunk, Page


class CatalogueWrites(StoreBase):
    """Adds, replaces and removes documents; each change is atomic and bumps the generation, and the store's
    vector cache follows it."""

    vector_cache: VectorCache

    def add_roots(self, paths: list[Path]) -> None:
        """Remember folders and files the user indexed, so a bare `index` refreshes them."""
        with self._lock, self._change(chunks=False):
            self._conn.executemany("INSERT OR IGNORE INTO roots(path) VALUES (?)", [(str(p),) for p in paths])

    def write_document(
        self,
        facts: FileFacts,
        extractor: str,
        pages: list[Page],
        chunks: list[Chunk],
        vectors: np.ndarray,
        pagekind_version: int = 0,
    ) -> int:
        """Insert or replace a document with its pages, chunks (with their kinds) and vectors in one
        transaction; `pagekind_version` says which page-kind rules set the kinds (0: none did)."""
        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk is required")
        with self._lock:
            vectors_index = self.vector_cache.current()
            with self._change():
                old_ids = self._delete_document(facts.path) or []
                doc_id = self._insert_document(facts, "indexed", None, extractor, len(pages), None, pagekind_version)
                self._conn.executemany(
                    "INSERT INTO pages(doc_id, number, text, label, first_line, line_kind) VALUES (?, ?, ?, ?, ?, ?)",
                    [(doc_id, p.number, p.text, p.label, p.first_line, p.line_kind) for p in pages],
                )
                new_ids = []
                for chunk, vector in zip(chunks, vectors, strict=True):
                    cursor = self._conn.execute(
                        "INSERT INTO chunks(doc_id, page, char_start, char_end, text, embedding, kind, location)"
                        " VALUES (?,?,?,?,?,?,?,?)",
                        (
                            doc_id,
                            chunk.page,
                            chunk.char_start,
                            chunk.char_end,
                            chunk.text,
                            np.asarray(vector, dtype=np.float32).tobytes(),
                            chunk.kind,
                            chunk.location,
                        ),
                    )
                    new_ids.append(cursor.lastrowid)
            self.vector_cache.apply(
                vectors_index, np.array(old_ids, dtype=np.int64), np.array(new_ids, dtype=np.int64), vectors
            )
            return doc_id

    def set_chunk_kinds(self, doc_id: int, kinds: dict[int, str], pagekind_version: int) -> None:
        """Set the kinds of a document's chunks (by chunk id) and the rules' version, in one transaction;
        texts and vectors are untouched, so the generation (and the vector cache) stays."""
        unknown = set(kinds.values()) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown chunk kinds: {sorted(unknown)}")
        with self._lock, self._change(chunks=False):
            self._conn.executemany(
                "UPDATE chunks SET kind = ? WHERE id = ? AND doc_id = ?",
                [(kind, chunk_id, doc_id) for chunk_id, kind in kinds.items()],
            )
            self._conn.execute("UPDATE documents SET pagekind_version = ? WHERE id = ?", (pagekind_version, doc_id))

    def record_failure(self, facts: FileFacts, reason: str, kind: str = "") -> None:
        """Record that a file could not be indexed, dropping any chunks an earlier version had."""
        with self._lock:
            vectors_index = self.vector_cache.current()
            with self._change():
                old_ids = self._delete_document(facts.path) or []
                self._insert_document(facts, "failed", reason, None, 0, kind or None)
            self.vector_cache.apply(vectors_index, np.array(old_ids, dtype=np.int64), np.zeros(0, np.int64), None)

    def remove_documents(self, paths: list[str]) -> int:
        """Remove documents (and their chunks) by path; returns how many existed."""
        if not paths:
            return 0
        with self._lock:
            vectors_index = self.vector_cache.current()
            removed, old_ids = 0, []
            with self._change():
                for path in paths:
                    ids = self._delete_document(path)
                    if ids is not None:
                        removed += 1
                        old_ids.extend(ids)
            self.vector_cache.apply(vectors_index, np.array(old_ids, dtype=np.int64), np.zeros(0, np.int64), None)
            return removed

    def remove_roots(self, paths: list[Path]) -> list[str]:
        """Forget folders and files, there or not: drop them and the roots inside them from the roots and
        remove the documents under them (attachments too) in one transaction; returns those documents' paths."""
        if not paths:
            return []
        with self._lock:
            vectors_index = self.vector_cache.current()
            removed: list[str] = []
            old_ids: list[int] = []
            with self._change(chunks=False):  # a new generation only when documents go (below)
                for root in [str(p) for p in paths]:
                    base = root.rstrip("/")
                    rows = self._conn.execute(
                        "SELECT path FROM documents WHERE path = ? OR substr(path, 1, ?) IN (?, ?) ORDER BY path",
                        (root, len(base) + 1, base + "/", base + "#"),
                    )
                    for path in [r[0] for r in rows if lies_under(r[0], root)]:
                        ids = self._delete_document(path)
                        if ids is not None:
                            removed.append(path)
                            old_ids.extend(ids)
                    self._conn.executemany(
                        "DELETE FROM roots WHERE path = ?",
                        [(r,) for (r,) in self._conn.execute("SELECT path FROM roots") if lies_under(r, root)],
                    )
                if removed:
                    self._set_meta("generation", str(self.generation + 1))
            self.vector_cache.apply(vectors_index, np.array(old_ids, dtype=np.int64), np.zeros(0, np.int64), None)
            return removed

    def _insert_document(
        self,
        facts: FileFacts,
        status: str,
        error: str | None,
        extractor: str | None,
        page_count: int,
        error_kind: str | None = None,
        pagekind_version: int = 0,
    ) -> int:
        cursor = self._conn.execute(
            "INSERT INTO documents(path, content_hash, size, mtime, status, error, error_kind, extractor, page_count,"
            " indexed_at, pagekind_version) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                facts.path,
                facts.content_hash,
                facts.size,
                facts.mtime,
                status,
                error,
                error_kind,
                extractor,
                page_count,
                time.time(),
                pagekind_version,
            ),
        )
        return int(cursor.lastrowid)

    def _delete_document(self, path: str) -> list[int] | None:
        row = self._conn.execute("SELECT id FROM documents WHERE path = ?", (path,)).fetchone()
        if row is None:
            return None
        doc_id = row[0]
        ids = [r[0] for r in self._conn.execute("SELECT id FROM chunks WHERE doc_id = ?", (doc_id,))]
        self._conn.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
        self._conn.execute("DELETE FROM pages WHERE doc_id = ?", (doc_id,))
        self._conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
        return ids
