"""Catalogue reads: roots, documents, pages and chunks (with or without their vectors)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from indexer.attachments import attachment_prefix, is_within
from indexer.store.base import StoreBase
from indexer.store.records import DocumentRecord
from indexer.types import Chunk, Page


class CatalogueReads(StoreBase):
    """Reads of the catalogue, each under the store's lock."""

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

    def chunks_by_id(self, ids: list[int]) -> dict[int, Chunk]:
        """Chunks (with their document's path) by chunk id."""
        with self._lock:
            return read_chunks(self._conn, ids)

    def has_kind(self, kind: str) -> bool:
        """True when at least one chunk is of this kind (``content``, ``toc``...)."""
        with self._lock:
            return self._conn.execute("SELECT 1 FROM chunks WHERE kind = ? LIMIT 1", (kind,)).fetchone() is not None


def read_chunks(conn: sqlite3.Connection, ids: list[int]) -> dict[int, Chunk]:
    """Chunks (with their document's path) by chunk id, read on `conn` in one query."""
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = conn.execute(
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
