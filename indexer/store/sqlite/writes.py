"""The SQLite store's part of the catalogue writes (`indexer.store.writes`, which writes the rest once for
both backends): its transaction, which moves the catalogue to a new generation and mirrors the change in
the vector cache, and the deletes and inserts that keep the cache's chunk ids."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from indexer.store.sqlite.base import StoreBase
from indexer.store.sqlite.vector_cache import VectorCache
from indexer.store.writes import CatalogueWrites, Change
from indexer.types import Chunk


class SqliteWrites(StoreBase, CatalogueWrites):
    """Adds, replaces and removes documents; each change is atomic, and one that changes the chunks bumps
    the generation and is followed by the store's vector cache."""

    vector_cache: VectorCache

    @contextmanager
    def _write(self, chunks: bool = True) -> Iterator[Change]:
        """One `_change` under the lock; when it changes the chunks (`chunks`, or a document deleted), a new
        generation, and once committed the vector cache mirrors it (the index is taken before the change:
        `VectorCache.current` of the generation the change starts from)."""
        with self._lock:
            vectors_index = self.vector_cache.current()
            change = Change()
            with self._change(chunks=False):
                yield change
                changed = chunks or change.documents_removed
                if changed:
                    self._set_meta("generation", str(self.generation + 1))
            if changed:
                removed, added = (np.array(ids, dtype=np.int64) for ids in (change.removed, change.added))
                self.vector_cache.apply(vectors_index, removed, added, change.vectors)

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self._conn.execute(sql, params)

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows)

    def _insert_chunks(self, doc_id: int, chunks: list[Chunk], vectors: np.ndarray, change: Change) -> None:
        """One INSERT a chunk, its vector a float32 blob, to note each new id for the vector cache (the FTS5
        index follows the chunks by trigger)."""
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
            change.added.append(cursor.lastrowid)
        change.vectors = vectors

    def _delete_document(self, path: str, change: Change) -> bool:
        """Delete the document's chunks, pages and row, one table at a time (the catalogue declares no
        cascade), noting the chunks' ids for the vector cache."""
        row = self._conn.execute("SELECT id FROM documents WHERE path = ?", (path,)).fetchone()
        if row is None:
            return False
        doc_id = row[0]
        change.removed += [r[0] for r in self._conn.execute("SELECT id FROM chunks WHERE doc_id = ?", (doc_id,))]
        self._conn.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
        self._conn.execute("DELETE FROM pages WHERE doc_id = ?", (doc_id,))
        self._conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
        change.documents_removed = True
        return True
