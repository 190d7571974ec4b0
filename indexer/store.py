"""A library on disk: a SQLite catalogue (documents, pages, chunks, FTS5 keyword index, meta)
beside a FAISS index of the chunks' vectors.

SQLite is the source of truth and holds every chunk's vector too; each document is written in
one transaction, so a kill leaves the catalogue before or after that document, never between.
The FAISS file is a cache named after the catalogue's generation (``vectors.g<N>.faiss``): if a
run dies before saving it, the next open finds no file for the current generation and rebuilds
the index from the catalogue's vectors.
"""

from __future__ import annotations

import errno
import json
import re
import sqlite3
import threading
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer.attachments import attachment_prefix, is_within
from indexer.pagekind import KINDS
from indexer.types import Chunk, Hit, Page
from indexer.vectors import VectorIndex

SCHEMA_VERSION = 4
"""1: the first catalogue; 2: chunks.kind and documents.pagekind_version; 3: the keyword index stems
words (Porter), so "installing" finds "installed"; 4: located units (pages.label, first_line, line_kind)
and chunks.location. An older catalogue is migrated in place when opened."""
AUTO_HNSW_CHUNKS = 250_000
"""Above this many chunks an ``auto`` library searches an HNSW graph instead of every vector:
exact search past it takes more than about 50 ms here (bench/scale.py, table in the README)."""
CATALOGUE = "catalogue.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS roots(path TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS documents(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL UNIQUE,
    content_hash TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime REAL NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('indexed', 'failed')),
    error TEXT,
    error_kind TEXT,
    extractor TEXT,
    page_count INTEGER NOT NULL DEFAULT 0,
    indexed_at REAL NOT NULL,
    pagekind_version INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS pages(
    doc_id INTEGER NOT NULL REFERENCES documents(id),
    number INTEGER NOT NULL,
    text TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    first_line INTEGER NOT NULL DEFAULT 0,
    line_kind TEXT NOT NULL DEFAULT 'lines',
    PRIMARY KEY (doc_id, number)
);
CREATE TABLE IF NOT EXISTS chunks(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id INTEGER NOT NULL REFERENCES documents(id),
    page INTEGER NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    text TEXT NOT NULL,
    embedding BLOB NOT NULL,
    kind TEXT NOT NULL DEFAULT 'content',
    location TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks(doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    text, content='chunks', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS chunks_fts_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_fts_delete AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
"""
_MIGRATIONS = (
    ("chunks", "kind", "ALTER TABLE chunks ADD COLUMN kind TEXT NOT NULL DEFAULT 'content'"),
    ("documents", "pagekind_version", "ALTER TABLE documents ADD COLUMN pagekind_version INTEGER NOT NULL DEFAULT 0"),
    ("pages", "label", "ALTER TABLE pages ADD COLUMN label TEXT NOT NULL DEFAULT ''"),
    ("pages", "first_line", "ALTER TABLE pages ADD COLUMN first_line INTEGER NOT NULL DEFAULT 0"),
    ("pages", "line_kind", "ALTER TABLE pages ADD COLUMN line_kind TEXT NOT NULL DEFAULT 'lines'"),
    ("chunks", "location", "ALTER TABLE chunks ADD COLUMN location TEXT NOT NULL DEFAULT ''"),
)
"""Columns added since schema 1: (table, column, the statement that adds it)."""
_FTS_TOKENIZER = "porter unicode61 remove_diacritics 2"
"""How the keyword index splits words: Porter stems of Unicode words, accents folded (schema 3)."""


class StoreError(Exception):
    """The library cannot be opened or used as asked."""


def _explain_write_error(folder: Path, exc: BaseException) -> str:
    """A sentence a user can act on for a failed write; the library is unchanged by it."""
    message = str(exc).lower()
    if "full" in message or getattr(exc, "errno", None) == errno.ENOSPC:
        return f"the disk holding the library is full ({folder}); free some space and rerun: nothing was lost"
    if "readonly" in message or "read-only" in message or getattr(exc, "errno", None) in (errno.EROFS, errno.EACCES):
        return f"the library folder is read-only ({folder}); choose a writable --library: nothing was lost"
    return f"could not write to the library at {folder}: {exc}; nothing was lost"


class EmbedderMismatch(StoreError):
    """The library was built with another embedding model than the one offered."""


@dataclass(frozen=True)
class DocumentRecord:
    """One row of the catalogue's documents table."""

    id: int
    path: str
    content_hash: str
    size: int
    mtime: float
    status: str
    error: str | None
    error_kind: str | None
    extractor: str | None
    page_count: int
    chunk_count: int
    pagekind_version: int = 0
    """Version of `indexer.pagekind`'s rules that set its chunks' kinds; 0: never classified."""


@dataclass(frozen=True)
class FileFacts:
    """What the indexer learned of a file before loading it."""

    path: str
    content_hash: str
    size: int
    mtime: float


@dataclass(frozen=True)
class StoreStats:
    """A library at a glance, for `footnotes status` and the GUI."""

    folder: Path
    documents: int
    failed: int
    chunks: int
    pages: int
    embedder: str | None
    dim: int | None
    index_kind: str
    disk_bytes: int


class Store:
    """One library folder: catalogue plus vector index. Safe to share between threads."""

    def __init__(self, folder: Path, index_kind: str | None = None) -> None:
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.folder / CATALOGUE, check_same_thread=False, isolation_level=None, timeout=30
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the library at {self.folder}: {exc}") from exc
        self._lock = threading.RLock()
        self._vectors: VectorIndex | None = None
        self._vectors_generation = -1
        version = self._meta("schema_version")
        if version is not None and int(version) > SCHEMA_VERSION:
            raise StoreError(
                f"the library at {self.folder} has schema {version}; this Footnotes reads {SCHEMA_VERSION}"
            )
        if version is None or int(version) < SCHEMA_VERSION:
            self._migrate(int(version) if version is not None else None)
        if index_kind is not None and index_kind != self.index_kind:
            self._set_meta("index_kind", index_kind)

    def _migrate(self, version: int | None) -> None:
        """Bring an older catalogue (schema `version`; None for a new, empty one) to SCHEMA_VERSION in one
        transaction: the columns added since are created with their defaults (chunks become ``content``,
        documents unclassified, so the next index run classifies them without embedding anything; pages
        and chunks unlocated, shown as "p. N")."""
        with self._change(chunks=False):
            for table, column, statement in _MIGRATIONS:
                columns = {row[1] for row in self._conn.execute(f"PRAGMA table_info({table})")}
                if column not in columns:
                    self._conn.execute(statement)
            self._restem_keyword_index()
            if version is not None and version < 4:
                self._conn.execute("UPDATE documents SET content_hash = '' WHERE extractor = 'text'")
            self._set_meta("schema_version", str(SCHEMA_VERSION))

    def _restem_keyword_index(self) -> None:
        """Rebuild a keyword index made before schema 3 (no stemming) with the Porter tokenizer, from
        the chunks table it mirrors; the triggers keep it in step as before. Inside `_migrate`'s
        transaction."""
        row = self._conn.execute("SELECT sql FROM sqlite_master WHERE name = 'chunks_fts'").fetchone()
        if row is not None and "porter" in row[0]:
            return
        self._conn.execute("DROP TABLE IF EXISTS chunks_fts")
        self._conn.execute(
            "CREATE VIRTUAL TABLE chunks_fts USING fts5("
            f"text, content='chunks', content_rowid='id', tokenize='{_FTS_TOKENIZER}')"
        )
        self._conn.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('rebuild')")

    # -- meta -------------------------------------------------------------------------------
    def _meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    @property
    def generation(self) -> int:
        """Counter bumped by every committed change to the chunks."""
        return int(self._meta("generation") or 0)

    @property
    def index_kind(self) -> str:
        """``auto`` (the default), ``flat`` (exact) or ``hnsw`` (approximate), as chosen for the library."""
        return self._meta("index_kind") or "auto"

    @property
    def embedder(self) -> tuple[str, int] | None:
        """(name, dimension) of the model that built the library, if any."""
        name, dim = self._meta("embedder_name"), self._meta("embedder_dim")
        return (name, int(dim)) if name and dim else None

    def bind_embedder(self, name: str, dim: int) -> None:
        """Record the embedder for a new library, or refuse one that differs from the library's."""
        with self._lock:
            current = self.embedder
            if current == (name, dim):
                return
            if current is not None and self.chunk_count() > 0:
                raise EmbedderMismatch(
                    f"this library was built with the embedder '{current[0]}' ({current[1]} dimensions), "
                    f"not '{name}' ({dim}); re-index it with --reindex or choose another --library"
                )
            with self._change(chunks=False):
                self._set_meta("embedder_name", name)
                self._set_meta("embedder_dim", str(dim))
            self._vectors, self._vectors_generation = None, -1

    # -- roots ------------------------------------------------------------------------------
    def add_roots(self, paths: list[Path]) -> None:
        """Remember folders and files the user indexed, so a bare `index` refreshes them."""
        with self._lock, self._change(chunks=False):
            self._conn.executemany("INSERT OR IGNORE INTO roots(path) VALUES (?)", [(str(p),) for p in paths])

    def roots(self) -> list[Path]:
        """Folders and files indexed before."""
        return [Path(r[0]) for r in self._conn.execute("SELECT path FROM roots ORDER BY path")]

    # -- documents --------------------------------------------------------------------------
    _DOC_SELECT = """
        SELECT d.id, d.path, d.content_hash, d.size, d.mtime, d.status, d.error, d.error_kind, d.extractor,
               d.page_count,
               (SELECT count(*) FROM chunks c WHERE c.doc_id = d.id),
               d.pagekind_version
        FROM documents d
    """

    def documents(self) -> list[DocumentRecord]:
        """Every document in the catalogue, by path."""
        with self._lock:
            rows = self._conn.execute(self._DOC_SELECT + " ORDER BY d.path").fetchall()
        return [DocumentRecord(*row) for row in rows]

    def document(self, path: str) -> DocumentRecord | None:
        """The catalogue row of one path, if any."""
        with self._lock:
            row = self._conn.execute(self._DOC_SELECT + " WHERE d.path = ?", (path,)).fetchone()
        return DocumentRecord(*row) if row else None

    def indexed_with_hash(self, content_hash: str) -> DocumentRecord | None:
        """An indexed document with this content, whose chunks and vectors can be reused."""
        with self._lock:
            row = self._conn.execute(
                self._DOC_SELECT + " WHERE d.content_hash = ? AND d.status = 'indexed' LIMIT 1", (content_hash,)
            ).fetchone()
        return DocumentRecord(*row) if row else None

    def attachments_of(self, container: str) -> list[DocumentRecord]:
        """The documents stored as attachments of a file (`indexer.attachments`), nested ones too, by path."""
        prefix = attachment_prefix(container)
        after = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # the first path past every one with the prefix
        with self._lock:
            rows = self._conn.execute(
                self._DOC_SELECT + " WHERE d.path >= ? AND d.path < ? ORDER BY d.path", (prefix, after)
            ).fetchall()
        return [DocumentRecord(*row) for row in rows if is_within(row[1], container)]

    def pages(self, doc_id: int) -> list[Page]:
        """The stored text of each page of a document (the text chunk spans point into), located."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT number, text, label, first_line, line_kind FROM pages WHERE doc_id = ? ORDER BY number",
                (doc_id,),
            ).fetchall()
        return [Page(*row) for row in rows]

    def page(self, doc_id: int, number: int) -> Page | None:
        """One stored page with its location fields, or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT number, text, label, first_line, line_kind FROM pages WHERE doc_id = ? AND number = ?",
                (doc_id, number),
            ).fetchone()
        return Page(*row) if row else None

    def page_text(self, doc_id: int, number: int) -> str | None:
        """The stored text of one page, or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT text FROM pages WHERE doc_id = ? AND number = ?", (doc_id, number)
            ).fetchone()
        return row[0] if row else None

    def chunk_vectors(self, ids: list[int]) -> dict[int, np.ndarray]:
        """The stored vectors of chunks by id."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        with self._lock:
            rows = self._conn.execute(f"SELECT id, embedding FROM chunks WHERE id IN ({marks})", ids).fetchall()
        return {i: np.frombuffer(blob, dtype=np.float32) for i, blob in rows}

    def document_chunks(self, doc_id: int) -> tuple[list[Chunk], np.ndarray]:
        """A document's chunks and their vectors, in chunk order."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, page, char_start, char_end, text, embedding, kind, location FROM chunks WHERE doc_id = ?"
                " ORDER BY id",
                (doc_id,),
            ).fetchall()
        chunks = [
            Chunk(doc_id=doc_id, page=p, char_start=s, char_end=e, text=t, id=i, kind=k, location=w)
            for i, p, s, e, t, _, k, w in rows
        ]
        return chunks, self._stack([r[5] for r in rows])

    def chunks_of(self, doc_id: int) -> list[Chunk]:
        """A document's chunks in chunk order, without their vectors."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, page, char_start, char_end, text, kind, location FROM chunks WHERE doc_id = ? ORDER BY id",
                (doc_id,),
            ).fetchall()
        return [
            Chunk(doc_id=doc_id, page=p, char_start=s, char_end=e, text=t, id=i, kind=k, location=w)
            for i, p, s, e, t, k, w in rows
        ]

    def _stack(self, blobs: list[bytes]) -> np.ndarray:
        dim = self.embedder[1] if self.embedder else 0
        if not blobs:
            return np.zeros((0, dim), dtype=np.float32)
        return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), -1)

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
            vectors_index = self._current_vectors()
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
            self._apply_to_vectors(
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
            vectors_index = self._current_vectors()
            with self._change():
                old_ids = self._delete_document(facts.path) or []
                self._insert_document(facts, "failed", reason, None, 0, kind or None)
            self._apply_to_vectors(vectors_index, np.array(old_ids, dtype=np.int64), np.zeros(0, np.int64), None)

    def remove_documents(self, paths: list[str]) -> int:
        """Remove documents (and their chunks) by path; returns how many existed."""
        if not paths:
            return 0
        with self._lock:
            vectors_index = self._current_vectors()
            removed, old_ids = 0, []
            with self._change():
                for path in paths:
                    ids = self._delete_document(path)
                    if ids is not None:
                        removed += 1
                        old_ids.extend(ids)
            self._apply_to_vectors(vectors_index, np.array(old_ids, dtype=np.int64), np.zeros(0, np.int64), None)
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

    @contextmanager
    def _change(self, chunks: bool = True) -> Iterator[None]:
        """One atomic change of the catalogue: all of it (and, when it touches `chunks`, a new generation)
        is committed, or nothing. A full disk or a read-only library becomes a StoreError that says so;
        the library stays as it was."""
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            yield
            if chunks:
                self._set_meta("generation", str(self.generation + 1))
            self._conn.execute("COMMIT")
        except BaseException as exc:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError):
                raise StoreError(_explain_write_error(self.folder, exc)) from exc
            raise

    # -- vectors ----------------------------------------------------------------------------
    def _vector_path(self, generation: int, kind: str) -> Path:
        return self.folder / f"vectors.g{generation}.{kind}.faiss"

    def effective_index_kind(self, chunks: int | None = None) -> str:
        """``flat`` or ``hnsw``; ``auto`` becomes HNSW once the library passes AUTO_HNSW_CHUNKS."""
        if self.index_kind != "auto":
            return self.index_kind
        count = self.chunk_count() if chunks is None else chunks
        return "hnsw" if count >= AUTO_HNSW_CHUNKS else "flat"

    def _current_vectors(self) -> VectorIndex | None:
        """The in-memory index if it matches the catalogue's generation, else None."""
        if self._vectors is not None and self._vectors_generation == self.generation:
            return self._vectors
        return None

    def _apply_to_vectors(
        self, index: VectorIndex | None, old_ids: np.ndarray, new_ids: np.ndarray, vectors: np.ndarray | None
    ) -> None:
        """Mirror a committed change in the in-memory index, or drop it to be rebuilt lazily."""
        if index is None or (len(old_ids) and not index.supports_removal):
            self._vectors, self._vectors_generation = None, -1
            return
        index.remove(old_ids)
        if vectors is not None:
            index.add(new_ids, vectors)
        self._vectors_generation = self.generation

    def vectors(self) -> VectorIndex:
        """The FAISS index for the current generation: in memory, from disk, or rebuilt."""
        with self._lock:
            current = self._current_vectors()
            if current is not None:
                return current
            generation = self.generation
            kind = self.effective_index_kind()
            path = self._vector_path(generation, kind)
            dim = self.embedder[1] if self.embedder else 0
            index: VectorIndex | None = None
            if path.exists() and dim:
                try:
                    index = VectorIndex.load(path, dim, kind)
                except (RuntimeError, ValueError):
                    index = None
            if index is None:
                index = self._rebuild_vectors(dim, kind)
            self._vectors, self._vectors_generation = index, generation
            return index

    def _rebuild_vectors(self, dim: int, kind: str) -> VectorIndex:
        index = VectorIndex(dim, kind)
        cursor = self._conn.execute("SELECT id, embedding FROM chunks ORDER BY id")
        while batch := cursor.fetchmany(8192):
            index.add(np.array([r[0] for r in batch], dtype=np.int64), self._stack([r[1] for r in batch]))
        return index

    def save_vectors(self) -> None:
        """Persist the vector index for the current generation and delete older files; an ``auto``
        library that has grown past the threshold is rebuilt as HNSW first."""
        with self._lock:
            index = self.vectors()
            if index.kind != self.effective_index_kind(len(index)):
                self._vectors = None
                index = self.vectors()
            path = self._vector_path(self._vectors_generation, index.kind)
            if not path.exists():
                try:
                    index.save(path)
                except (OSError, RuntimeError) as exc:  # the cache can wait: the catalogue holds every vector
                    raise StoreError(_explain_write_error(self.folder, exc)) from exc
            for old in self.folder.glob("vectors.g*.faiss"):
                if old != path:
                    old.unlink(missing_ok=True)

    # -- search -----------------------------------------------------------------------------
    def search_dense(
        self,
        query_vector: np.ndarray,
        k: int,
        kinds: Collection[str] | None = None,
        documents: Collection[int] | None = None,
    ) -> list[Hit]:
        """Nearest chunks to a query vector by inner product (cosine on unit vectors); only chunks of
        `kinds` when given, asking the vector index for more until k of them are found or none is left;
        only chunks of the `documents` (ids) when given, searched among exactly their chunk ids."""
        index = self.vectors()
        if documents is not None:
            found = index.search(query_vector, k, among=self._chunk_ids_of(documents, kinds))
            chunks = self.chunks_by_id([i for i, _ in found])
            return [Hit(chunks[i], score) for i, score in found if i in chunks]
        fetch = k if kinds is None else min(len(index), 2 * k)
        while True:
            found = index.search(query_vector, fetch)
            chunks = self.chunks_by_id([i for i, _ in found])
            hits = [
                Hit(chunks[i], score)
                for i, score in found
                if i in chunks and (kinds is None or chunks[i].kind in kinds)
            ]
            if len(hits) >= k or fetch >= len(index) or kinds is None:
                return hits[:k]
            fetch = min(len(index), fetch * 4)

    def _chunk_ids_of(self, documents: Collection[int], kinds: Collection[str] | None) -> np.ndarray:
        """The ids of the chunks of these documents (of `kinds` when given)."""
        sql = "SELECT id FROM chunks WHERE doc_id IN (SELECT value FROM json_each(?))"
        params: list[object] = [json.dumps(sorted(documents))]
        if kinds is not None:
            sql += " AND kind IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(sorted(kinds)))
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def search_keyword(
        self, query: str, k: int, kinds: Collection[str] | None = None, documents: Collection[int] | None = None
    ) -> list[Hit]:
        """Chunks matching any word of the query (by its Porter stem: "installing" matches "installed"),
        ranked by FTS5's BM25 (score = -bm25, higher is better); only chunks of `kinds` and of the
        `documents` (ids) when given (filtered before the limit)."""
        terms = re.findall(r"\w+", query.lower())
        if not terms or k <= 0:
            return []
        match = " OR ".join(f'"{t}"' for t in dict.fromkeys(terms))
        sql = "SELECT chunks_fts.rowid, bm25(chunks_fts) FROM chunks_fts"
        params: list[object] = [match]
        if kinds is not None:
            wanted = sorted(set(kinds))
            sql += f" JOIN chunks c ON c.id = chunks_fts.rowid AND c.kind IN ({','.join('?' * len(wanted))})"
            params = [*wanted, match]
        if documents is not None:
            sql += " JOIN chunks s ON s.id = chunks_fts.rowid AND s.doc_id IN (SELECT value FROM json_each(?))"
            params.insert(len(params) - 1, json.dumps(sorted(documents)))
        sql += " WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts) LIMIT ?"
        with self._lock:
            rows = self._conn.execute(sql, [*params, k]).fetchall()
        chunks = self.chunks_by_id([r[0] for r in rows])
        return [Hit(chunks[i], -score) for i, score in rows if i in chunks]

    def chunks_by_id(self, ids: list[int]) -> dict[int, Chunk]:
        """Chunks (with their document's path) by chunk id."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        with self._lock:
            rows = self._conn.execute(
                f"SELECT c.id, c.doc_id, c.page, c.char_start, c.char_end, c.text, d.path, c.kind, c.location"
                f" FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE c.id IN ({marks})",
                ids,
            ).fetchall()
        return {
            r[0]: Chunk(
                id=r[0],
                doc_id=r[1],
                page=r[2],
                char_start=r[3],
                char_end=r[4],
                text=r[5],
                path=r[6],
                kind=r[7],
                location=r[8],
            )
            for r in rows
        }

    # -- health -----------------------------------------------------------------------------
    def has_kind(self, kind: str) -> bool:
        """True when at least one chunk is of this kind (``content``, ``toc``...)."""
        with self._lock:
            return self._conn.execute("SELECT 1 FROM chunks WHERE kind = ? LIMIT 1", (kind,)).fetchone() is not None

    def chunk_count(self) -> int:
        """How many chunks the library holds."""
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM chunks").fetchone()[0])

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
        shown_kind = f"auto ({self.effective_index_kind(chunks)} now)" if kind == "auto" else kind
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
            kind = self.effective_index_kind(len(chunk_ids))
            saved = self._vector_path(self.generation, kind)
            if saved.exists() and self.embedder:
                try:
                    on_disk = VectorIndex.load(saved, self.embedder[1], kind)
                    ids = set(on_disk.ids().tolist())
                    if ids != chunk_ids:
                        problems.append(
                            f"vector index differs from the chunks ({len(ids - chunk_ids)} extra, "
                            f"{len(chunk_ids - ids)} missing)"
                        )
                except (RuntimeError, ValueError) as exc:
                    problems.append(f"vector index unreadable: {exc}")
        return problems

    def close(self) -> None:
        """Close the catalogue connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
