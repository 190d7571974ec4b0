"""A library on PostgreSQL: the catalogue, full-text keyword search and pgvector vectors in one
transactional database, for a team sharing a library (`indexer.store.contract.LibraryStore`).

The same promise as the SQLite store: each document is written, replaced or removed in one transaction,
so another app instance (or a run killed midway) sees it whole or not at all. Writers of different
documents run side by side; two writers of one path take turns (an advisory lock on the path)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import numpy as np
import psycopg

from indexer.attachments import lies_under
from indexer.pagekind import KINDS
from indexer.pgurl import redacted
from indexer.store.errors import StoreError, embedder_mismatch
from indexer.store.postgres.reads import PgReads, connect, vector_literal
from indexer.store.postgres.schema import SCHEMA_LOCK, SCHEMA_VERSION, TABLES, vector_index_statements
from indexer.store.records import FileFacts, StoreStats
from indexer.types import Chunk, Page

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


class PgStore(PgReads):
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
                    raise StoreError(f"the library at {self.location} has schema {version}; this Footnotes reads 1")
                self._set_meta("schema_version", str(SCHEMA_VERSION))
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot set up the library at {self.location}: {exc} (the pgvector extension must be installed)"
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
            raise StoreError(f"could not write to the library at {self.location}: {exc}; nothing was lost") from exc

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

    # -- writes -----------------------------------------------------------------------------------
    def add_roots(self, paths: list[Path]) -> None:
        """Remember folders and files the user indexed, so a bare `index` refreshes them."""
        with self._lock, self._change(), self._conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO footnotes_roots(path) VALUES (%s) ON CONFLICT DO NOTHING", [(str(p),) for p in paths]
            )

    def write_document(
        self,
        facts: FileFacts,
        extractor: str,
        pages: list[Page],
        chunks: list[Chunk],
        vectors: np.ndarray,
        pagekind_version: int = 0,
    ) -> int:
        """Insert or replace a document with its pages, chunks and vectors in one transaction."""
        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk is required")
        with self._lock, self._change(), self._conn.cursor() as cursor:
            self._delete_document(facts.path)
            doc_id = self._insert_document(facts, "indexed", None, extractor, len(pages), None, pagekind_version)
            cursor.executemany(
                "INSERT INTO footnotes_pages(doc_id, number, text, label, first_line, line_kind)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                [(doc_id, p.number, p.text, p.label, p.first_line, p.line_kind) for p in pages],
            )
            cursor.executemany(
                "INSERT INTO footnotes_chunks(doc_id, page, char_start, char_end, text, embedding, kind, location)"
                " VALUES (%s, %s, %s, %s, %s, %s::vector, %s, %s)",
                [
                    (doc_id, c.page, c.char_start, c.char_end, c.text, vector_literal(v), c.kind, c.location)
                    for c, v in zip(chunks, vectors, strict=True)
                ],
            )
            return doc_id

    def set_chunk_kinds(self, doc_id: int, kinds: dict[int, str], pagekind_version: int) -> None:
        """Set the kinds of a document's chunks (by chunk id) and the rules' version, in one transaction."""
        unknown = set(kinds.values()) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown chunk kinds: {sorted(unknown)}")
        with self._lock, self._change(), self._conn.cursor() as cursor:
            cursor.executemany(
                "UPDATE footnotes_chunks SET kind = %s WHERE id = %s AND doc_id = %s",
                [(kind, chunk_id, doc_id) for chunk_id, kind in kinds.items()],
            )
            cursor.execute(
                "UPDATE footnotes_documents SET pagekind_version = %s WHERE id = %s", (pagekind_version, doc_id)
            )

    def record_failure(self, facts: FileFacts, reason: str, kind: str = "") -> None:
        """Record that a file could not be indexed, dropping any chunks an earlier version had."""
        with self._lock, self._change():
            self._delete_document(facts.path)
            self._insert_document(facts, "failed", reason, None, 0, kind or None)

    def remove_documents(self, paths: list[str]) -> int:
        """Remove documents (and their chunks) by path, in one transaction; returns how many existed."""
        if not paths:
            return 0
        with self._lock, self._change():
            return sum(self._delete_document(path) for path in paths)

    def remove_roots(self, paths: list[Path]) -> list[str]:
        """Forget folders and files, there or not: drop them and the roots inside them from the roots and
        remove the documents under them (attachments too) in one transaction; returns those documents' paths."""
        if not paths:
            return []
        removed: list[str] = []
        with self._lock, self._change():
            for root in [str(p) for p in paths]:
                base = root.rstrip("/")
                rows = self._conn.execute(
                    "SELECT path FROM footnotes_documents WHERE path = %s OR starts_with(path, %s)"
                    " OR starts_with(path, %s) ORDER BY path",
                    (root, base + "/", base + "#"),
                ).fetchall()
                removed += [r[0] for r in rows if lies_under(r[0], root) and self._delete_document(r[0])]
                roots = [r[0] for r in self._conn.execute("SELECT path FROM footnotes_roots").fetchall()]
                self._conn.execute(
                    "DELETE FROM footnotes_roots WHERE path = ANY(%s)", ([r for r in roots if lies_under(r, root)],)
                )
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
        row = self._conn.execute(
            "INSERT INTO footnotes_documents(path, content_hash, size, mtime, status, error, error_kind, extractor,"
            " page_count, indexed_at, pagekind_version) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) RETURNING id",
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
        ).fetchone()
        return int(row[0])

    def _delete_document(self, path: str) -> bool:
        """Delete a path's document (pages and chunks cascade); the path's advisory lock, held until the
        transaction ends, makes a second writer of the same path wait instead of failing on the unique path."""
        self._conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (path,))
        return self._conn.execute("DELETE FROM footnotes_documents WHERE path = %s", (path,)).rowcount > 0

    # -- health -----------------------------------------------------------------------------------
    def stats(self) -> StoreStats:
        """Counts, embedder and the tables' size in the database."""
        docs, failed = self._row("SELECT count(*), count(*) FILTER (WHERE status = 'failed') FROM footnotes_documents")
        pages = self._row("SELECT count(*) FROM footnotes_pages")[0]
        size = self._row(
            "SELECT sum(pg_total_relation_size(t)) FROM unnest(ARRAY['footnotes_documents', 'footnotes_pages',"
            " 'footnotes_chunks', 'footnotes_meta', 'footnotes_roots']::regclass[]) t"
        )[0]
        embedder = self.embedder
        return StoreStats(
            self.folder,
            docs - failed,
            failed,
            self.chunk_count(),
            pages,
            embedder[0] if embedder else None,
            embedder[1] if embedder else None,
            self.index_kind,
            int(size or 0),
        )

    def check(self) -> list[str]:
        """Integrity problems of the library; an empty list means it is sound (the database keeps its own
        indexes consistent, so this checks what the app promises: whole documents, chunks that are their span)."""
        queries = {
            "indexed documents without chunks": "SELECT count(*) FROM footnotes_documents d WHERE status = 'indexed'"
            " AND NOT EXISTS (SELECT 1 FROM footnotes_chunks c WHERE c.doc_id = d.id)",
            "chunks whose text is not their page span": "SELECT count(*) FROM footnotes_chunks c"
            " LEFT JOIN footnotes_pages p ON p.doc_id = c.doc_id AND p.number = c.page WHERE p.text IS NULL"
            " OR substr(p.text, c.char_start + 1, c.char_end - c.char_start) != c.text",
            "chunks of an unknown kind": "SELECT count(*) FROM footnotes_chunks WHERE NOT (kind = ANY(%s))",
        }
        problems = []
        for label, sql in queries.items():
            count = self._row(sql, (list(KINDS),) if "%s" in sql else ())[0]
            if count:
                problems.append(f"{count} {label}")
        return problems

    def close(self) -> None:
        """Close the connection and every thread's read connection."""
        with self._lock:
            self._close_readers()
            self._conn.close()

    def __enter__(self) -> PgStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
