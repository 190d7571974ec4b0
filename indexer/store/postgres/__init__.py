"""A library on PostgreSQL: the catalogue, full-text keyword search and pgvector vectors in one
transactional database, for a team sharing a library (`indexer.store.contract.LibraryStore`).

The same promise as the SQLite store: each document is written, replaced or removed in one transaction,
so another app instance (or a run killed midway) sees it whole or not at all. Writers of different
documents run side by side; two writers of one path take turns (an advisory lock on the path)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

from indexer.pgurl import redacted
from indexer.store.errors import NEWER_SCHEMA, StoreError, database_todo, embedder_mismatch
from indexer.store.health import CatalogueHealth
from indexer.store.postgres.reads import PgReads, connect, vector_literal
from indexer.store.postgres.schema import SCHEMA_LOCK, SCHEMA_VERSION, TABLES, vector_index_statements
from indexer.store.writes import CatalogueWrites, Change
from indexer.types import Chunk

__all__ = ["PgStore", "PgVectors", "redacted"]


class PgVectors:
    """`NearestVectors` over the chunks table: the search is SQL (pgvector's HNSW index), nothing is cached."""

    kind = "hnsw"
    supports_removal = True

    def __init__(self, store: PgStore) -> None:
        self._store = store

    def __len__(self) -> int:
        return self._store.chunk_count()

    def search(self, query: np.ndarray, k: int, among: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(chunk id, cosine similarity) of the k nearest chunks, best first; exactly among `among` when given."""
        store = self._store
        if among is not None:
            sql = (
                "SELECT id, 1 - (embedding <=> %s::vector) FROM footnotes_chunks WHERE id = ANY(%s)"
                " ORDER BY embedding <=> %s::vector LIMIT %s"
            )
            literal = vector_literal(query)
            return [(int(i), float(s)) for i, s in store._rows(sql, (literal, [int(x) for x in among], literal, k))]
        return [(h.chunk.id, h.score) for h in store.search_dense(query, k)]


class PgStore(PgReads, CatalogueWrites, CatalogueHealth):
    """One library in a PostgreSQL database (with the pgvector extension). Safe to share between threads."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.RLock()
        self._readers, self._readers_lock, self._readers_closed = {}, threading.Lock(), False
        self._counts_lock = threading.Lock()
        self._conn = connect(url)
        self._create_tables()

    @property
    def location(self) -> str:
        """The database URL without its password."""
        return redacted(self.url)

    @property
    def folder(self) -> Path:
        """The location as a path: a display name and a key only; a database library has no folder."""
        return Path(self.location)

    index_kind = "hnsw"
    """pgvector's HNSW graph, kept by the server."""

    def _create_tables(self) -> None:
        try:
            with self._conn.transaction():
                self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                if self._conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone() is None:
                    self._conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
                self._conn.execute(TABLES)
                version = self._meta("schema_version")
                if version is not None and int(version) > SCHEMA_VERSION:
                    raise StoreError(
                        f"the library at {self.location} has schema {version}; this Footnotes reads 1", NEWER_SCHEMA
                    )
                self._set_meta("schema_version", str(SCHEMA_VERSION))
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot set up the library at {self.location}: {exc} (the pgvector extension must be installed)",
                database_todo(self.location),
            ) from exc

    @contextmanager
    def _change(self) -> Iterator[None]:
        """One transaction on the connection (the caller holds the lock): all of it is committed, or
        nothing; a database error becomes a StoreError that says the library is unchanged. A connection
        the server dropped since it was last used (a restart) fails at the transaction's start, before
        anything was written: the transaction then starts on a new one."""
        try:
            with ExitStack() as stack:
                try:
                    stack.enter_context(self._conn.transaction())
                except psycopg.OperationalError:
                    if not self._conn.broken:
                        raise
                    self._reconnect()
                    stack.enter_context(self._conn.transaction())
                changing, self._changing = self._changing, True
                try:
                    yield
                finally:
                    self._changing = changing
        except psycopg.Error as exc:
            if self._readers_closed:
                raise self._closed_error() from exc
            raise StoreError(
                f"could not write to the library at {self.location}: {exc}; nothing was lost",
                database_todo(self.location),
            ) from exc

    def _meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM footnotes_meta WHERE key = %s", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self._conn.execute(
            "INSERT INTO footnotes_meta(key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = %s",
            (key, value, value),
        )

    def bind_embedder(self, name: str, dim: int) -> None:
        """Record the embedder for a new library (giving the vector column its dimension and HNSW index),
        or refuse one that differs from the library's."""
        with self._lock, self._change():
            self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            current = self.embedder
            if current == (name, dim):
                return
            if current is not None and self.chunk_count() > 0:
                raise embedder_mismatch(current, (name, dim))  # the same words as the SQLite store's
            if current is None or current[1] != dim:
                for statement in vector_index_statements(dim):
                    self._conn.execute(statement)
            self._set_meta("embedder_name", name)
            self._set_meta("embedder_dim", str(dim))

    def vectors(self) -> PgVectors:
        """Nearest-vector search in SQL; the server keeps the index, so there is nothing to load."""
        return PgVectors(self)

    def save_vectors(self) -> None:
        """Nothing to save: every vector is in the database, indexed as it is written."""

    def clear(self) -> None:
        """Discard the whole library (``--reindex``): documents, roots and embedder, in one transaction."""
        with self._lock, self._change():
            self._conn.execute(
                "TRUNCATE footnotes_chunks, footnotes_pages, footnotes_documents, footnotes_roots RESTART IDENTITY"
            )
            self._conn.execute("DELETE FROM footnotes_meta WHERE key IN ('embedder_name', 'embedder_dim')")

    # -- this backend's part of the writes (`indexer.store.writes`) -------------------------------
    @contextmanager
    def _write(self, chunks: bool = True) -> Iterator[Change]:
        """One `_change` under the lock; the vectors are the chunks' column, so the `Change` is not needed."""
        with self._lock, self._change():
            yield Change()

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor:
        return self._conn.execute(sql, params)

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._conn.cursor() as cursor:
            cursor.executemany(sql, rows)

    def _insert_chunks(self, doc_id: int, chunks: list[Chunk], vectors: np.ndarray, change: Change) -> None:
        """The chunks in one batch, each vector in pgvector's text form (the tsvector column is generated)."""
        self._executemany(
            "INSERT INTO footnotes_chunks(doc_id, page, char_start, char_end, text, embedding, kind, location)"
            " VALUES (%s, %s, %s, %s, %s, %s::vector, %s, %s)",
            [
                (doc_id, c.page, c.char_start, c.char_end, c.text, vector_literal(v), c.kind, c.location)
                for c, v in zip(chunks, vectors, strict=True)
            ],
        )

    def _delete_document(self, path: str, change: Change) -> bool:
        """Delete a path's document (pages and chunks cascade); the path's advisory lock, held until the
        transaction ends, makes a second writer of the same path wait instead of failing on the unique path."""
        self._conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (path,))
        return self._conn.execute("DELETE FROM footnotes_documents WHERE path = %s", (path,)).rowcount > 0

    # -- this backend's part of the health (`indexer.store.health`) -------------------------------
    def _index_kind_shown(self, chunks: int) -> str:
        """Always ``hnsw``: the server's index, whatever the library's size."""
        return self.index_kind

    def _size(self) -> int:
        """The tables' size in the database, their indexes and TOAST included."""
        size = self._row(
            "SELECT sum(pg_total_relation_size(t)) FROM unnest(ARRAY['footnotes_documents', 'footnotes_pages',"
            " 'footnotes_chunks', 'footnotes_meta', 'footnotes_roots']::regclass[]) t"
        )[0]
        return int(size or 0)

    def check(self) -> list[str]:
        """Integrity problems of the library; an empty list means it is sound (the database keeps its own
        indexes consistent, so this checks what the app promises: whole documents, chunks that are their span)."""
        return self._catalogue_problems()

    def close(self) -> None:
        """Close the connection and every thread's read connection."""
        with self._lock:
            self._close_readers()
            self._conn.close()

    def __enter__(self) -> PgStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
