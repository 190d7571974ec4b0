"""Catalogue writes written once for both backends: each change of documents, pages, chunks and roots in one
transaction, in SQL that differs between SQLite and PostgreSQL only where the `Dialect` says
(`indexer.store.reads`).

A backend's store inherits `CatalogueWrites` and gives it the parts that are its own: the transaction
(`_write`: the SQLite store's, which also moves its catalogue's generation and mirrors the change in its
vector cache; the PostgreSQL store's, which reconnects at its start), how a document is deleted (SQLite
deletes its chunks and pages itself and notes their ids for the cache; PostgreSQL cascades, under an
advisory lock on the path), how chunks and their vectors are inserted (float32 blobs one by one, for their
new ids; pgvector's text form in one batch), and how one statement runs on its connection."""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np

from indexer.attachments import lies_under
from indexer.pagekind import KINDS
from indexer.store.reads import Dialect
from indexer.store.records import FileFacts
from indexer.types import Chunk, Page

DOCUMENT_COLUMNS = (
    "path",
    "content_hash",
    "size",
    "mtime",
    "status",
    "error",
    "error_kind",
    "extractor",
    "page_count",
    "indexed_at",
    "pagekind_version",
)
"""A document's columns as `CatalogueWrites._insert_document` writes them."""
PAGE_COLUMNS = ("doc_id", "number", "text", "label", "first_line", "line_kind")
"""A page's columns as `CatalogueWrites.write_document` writes them."""


class Cursor(Protocol):
    """What the writes read from a statement's cursor (sqlite3's and psycopg's alike); the `Dialect` reads
    an inserted row's id from it."""

    def fetchall(self) -> Sequence[Any]: ...


@dataclass
class Change:
    """What one write did to the chunks, for a backend that keeps them outside its catalogue too (the SQLite
    store's vector cache); the PostgreSQL store's vectors are its chunks' column, and it notes nothing."""

    documents_removed: bool = False
    """True once the write deleted a document (its chunks, if it had any, with it)."""
    removed: list[int] = field(default_factory=list)
    """The ids of the chunks deleted."""
    added: list[int] = field(default_factory=list)
    """The ids of the chunks inserted, in the order of `vectors`."""
    vectors: np.ndarray | None = None
    """The inserted chunks' vectors, one row each; None when none were written."""


class CatalogueWrites:
    """Writes of the catalogue, each in one transaction (`_write`), run on the backend's connection."""

    dialect: ClassVar[Dialect]

    # -- what each backend gives ------------------------------------------------------------------
    def _write(self, chunks: bool = True) -> AbstractContextManager[Change]:
        """One transaction under the store's lock: all of it is committed, or nothing, and a database error
        becomes a `StoreError` that says the library is unchanged. `chunks`: the write changes the chunks
        (else only when it deletes a document); the SQLite store then moves to a new generation and mirrors
        the `Change` in its vector cache."""
        raise NotImplementedError

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """One statement on the store's connection, inside `_write`; its cursor."""
        raise NotImplementedError

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement for each of `rows` on the store's connection, inside `_write`."""
        raise NotImplementedError

    def _delete_document(self, path: str, change: Change) -> bool:
        """Delete the document of `path` with its pages and chunks, inside `_write`; False when there is none."""
        raise NotImplementedError

    def _insert_chunks(self, doc_id: int, chunks: list[Chunk], vectors: np.ndarray, change: Change) -> None:
        """Insert a document's chunks with their vectors (one each), inside `_write`."""
        raise NotImplementedError

    # -- writes -----------------------------------------------------------------------------------
    def add_roots(self, paths: list[Path]) -> None:
        """Remember folders and files the user indexed, so a bare `index` refreshes them."""
        with self._write(chunks=False):
            sql = self.dialect.insert("roots", ("path",), skip_duplicates=True)
            self._executemany(sql, [(str(p),) for p in paths])

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
        with self._write() as change:
            self._delete_document(facts.path, change)
            doc_id = self._insert_document(facts, "indexed", None, extractor, len(pages), None, pagekind_version)
            self._executemany(
                self.dialect.insert("pages", PAGE_COLUMNS),
                [(doc_id, p.number, p.text, p.label, p.first_line, p.line_kind) for p in pages],
            )
            self._insert_chunks(doc_id, chunks, vectors, change)
        return doc_id

    def set_chunk_kinds(self, doc_id: int, kinds: dict[int, str], pagekind_version: int) -> None:
        """Set the kinds of a document's chunks (by chunk id) and the rules' version, in one transaction;
        texts and vectors are untouched, so the SQLite store's generation (and vector cache) stays."""
        unknown = set(kinds.values()) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown chunk kinds: {sorted(unknown)}")
        mark, table = self.dialect.mark, self.dialect.table
        with self._write(chunks=False):
            self._executemany(
                f"UPDATE {table('chunks')} SET kind = {mark} WHERE id = {mark} AND doc_id = {mark}",
                [(kind, chunk_id, doc_id) for chunk_id, kind in kinds.items()],
            )
            self._execute(
                f"UPDATE {table('documents')} SET pagekind_version = {mark} WHERE id = {mark}",
                (pagekind_version, doc_id),
            )

    def record_failure(self, facts: FileFacts, reason: str, kind: str = "") -> None:
        """Record that a file could not be indexed, dropping any chunks an earlier version had."""
        with self._write() as change:
            self._delete_document(facts.path, change)
            self._insert_document(facts, "failed", reason, None, 0, kind or None)

    def remove_documents(self, paths: list[str]) -> int:
        """Remove documents (and their chunks) by path, in one transaction; returns how many existed."""
        if not paths:
            return 0
        with self._write() as change:
            return sum(self._delete_document(path, change) for path in paths)

    def remove_roots(self, paths: list[Path]) -> list[str]:
        """Forget folders and files, there or not: drop them and the roots inside them from the roots and
        remove the documents under them (attachments too) in one transaction; returns those documents' paths."""
        if not paths:
            return []
        removed: list[str] = []
        with self._write(chunks=False) as change:  # a new generation only when documents go
            for root in [str(p) for p in paths]:
                removed += [path for path in self._paths_under(root) if self._delete_document(path, change)]
                roots = self._execute(f"SELECT path FROM {self.dialect.table('roots')}").fetchall()
                self._executemany(
                    f"DELETE FROM {self.dialect.table('roots')} WHERE path = {self.dialect.mark}",
                    [(r,) for (r,) in roots if lies_under(r, root)],
                )
        return removed

    def _paths_under(self, root: str) -> list[str]:
        """The paths of the documents that `root` is or holds (a file's attachments too), by path."""
        base = root.rstrip("/")
        in_folder, folder_params = self.dialect.starts_with("path", base + "/")
        attached, attached_params = self.dialect.starts_with("path", base + "#")
        sql = (
            f"SELECT path FROM {self.dialect.table('documents')}"
            f" WHERE path = {self.dialect.mark} OR ({in_folder}) OR ({attached}) ORDER BY path"
        )
        rows = self._execute(sql, [root, *folder_params, *attached_params]).fetchall()
        return [r[0] for r in rows if lies_under(r[0], root)]

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
        """Insert a document's row (inside `_write`, after `_delete_document` of its path); its new id."""
        cursor = self._execute(
            self.dialect.insert("documents", DOCUMENT_COLUMNS, returning_id=True),
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
        return self.dialect.inserted_id(cursor)
