"""Catalogue reads written once for both backends: roots, documents, pages and chunks (with or without their
vectors), in SQL that differs between SQLite and PostgreSQL only where a `Dialect` says.

A backend's store inherits `CatalogueReads` and gives it its `Dialect` and two ways to run one statement,
`_rows` and `_row` (the SQLite store: on its connection under its lock; the PostgreSQL store: the same,
again on a new connection when the server dropped the old one). Each read is one statement, so it sees
whole documents only."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from indexer.attachments import attachment_prefix, is_within
from indexer.store.records import DocumentRecord
from indexer.types import Chunk, Page

CHUNK_COLUMNS = "c.id, c.doc_id, c.page, c.char_start, c.char_end, c.text, d.path, c.kind, c.location"
"""A chunk's columns and its document's path (``c``: the chunks table, ``d``: the documents table), in the
order `chunk_of` reads them."""


class Dialect:
    """What differs between the backends' SQL for the same statement (the reads here, the writes and the
    health of `indexer.store.writes` and `indexer.store.health`); each backend makes one of a subclass."""

    mark: str
    """The parameter placeholder: ``?`` (sqlite3) or ``%s`` (psycopg)."""
    prefix: str
    """Of the table names: none in a SQLite catalogue (a file of its own), ``footnotes_`` in a database that
    other applications' tables may share."""
    path_order: str
    """Documents ordered by path, byte by byte in both (SQLite's default; PostgreSQL's ``COLLATE "C"``)."""
    vector_column: str
    """The chunks' vector as read: SQLite's float32 blob, pgvector's text form."""
    skip_duplicates: tuple[str, str]
    """What an INSERT that leaves out a row whose key is there already adds, after ``INSERT`` and after its
    values: SQLite's ``OR IGNORE``, PostgreSQL's ``ON CONFLICT DO NOTHING``."""
    returning_id: str
    """What ends an INSERT that gives its new row's id back (`inserted_id`): nothing in SQLite, whose cursor
    has it (``lastrowid``); ``RETURNING id`` in PostgreSQL."""

    def table(self, name: str) -> str:
        """A table's name in this backend (``chunks``: ``footnotes_chunks`` in PostgreSQL)."""
        return self.prefix + name

    def insert(
        self, table: str, columns: Sequence[str], *, skip_duplicates: bool = False, returning_id: bool = False
    ) -> str:
        """An INSERT of one row of `columns` into `table` (its unprefixed name); with `skip_duplicates`, a row
        whose key is there already is left out instead of failing; with `returning_id`, `inserted_id` reads
        the new row's id from its cursor."""
        verb, after = self.skip_duplicates if skip_duplicates else ("", "")
        values = ", ".join([self.mark] * len(columns))
        sql = f"INSERT{verb} INTO {self.table(table)}({', '.join(columns)}) VALUES ({values}){after}"
        return sql + self.returning_id if returning_id else sql

    def inserted_id(self, cursor: Any) -> int:
        """The id of the row added by an `insert` with `returning_id`, from the cursor that ran it."""
        raise NotImplementedError

    def ids_in(self, column: str, ids: list[int]) -> tuple[str, list[Any]]:
        """A condition that `column` is one of `ids`, and its parameters."""
        raise NotImplementedError

    def starts_with(self, column: str, prefix: str) -> tuple[str, list[Any]]:
        """A condition that `column` begins with `prefix`, and its parameters."""
        raise NotImplementedError

    def vector(self, value: Any) -> np.ndarray:
        """One vector as read from `vector_column`, as a float32 array."""
        raise NotImplementedError

    def matrix(self, values: list[Any]) -> np.ndarray:
        """Vectors as read from `vector_column` (at least one), as a float32 matrix, one row each."""
        return np.stack([self.vector(v) for v in values])


def chunk_of(row: Sequence[Any]) -> Chunk:
    """A chunk from a row that begins with `CHUNK_COLUMNS`."""
    return Chunk(
        id=row[0],
        doc_id=row[1],
        page=row[2],
        char_start=row[3],
        char_end=row[4],
        text=row[5],
        path=row[6],
        kind=row[7],
        location=row[8],
    )


def chunks_query(dialect: Dialect, ids: list[int]) -> tuple[str, list[Any]]:
    """The statement, and its parameters, that reads chunks (`CHUNK_COLUMNS`) by id, for a connection of the
    caller's choosing (the SQLite keyword lane reads them on its own)."""
    condition, params = dialect.ids_in("c.id", ids)
    chunks, documents = dialect.table("chunks"), dialect.table("documents")
    return f"SELECT {CHUNK_COLUMNS} FROM {chunks} c JOIN {documents} d ON d.id = c.doc_id WHERE {condition}", params


class CatalogueReads:
    """Reads of the catalogue, each one statement run by the backend's `_rows` or `_row`."""

    dialect: ClassVar[Dialect]
    embedder: tuple[str, int] | None
    """(name, dimension) of the model that built the library, if any (each backend reads its own meta)."""

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Every row of one statement."""
        raise NotImplementedError

    def _row(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        """The first row of one statement, or None."""
        raise NotImplementedError

    def _doc_select(self) -> str:
        """The documents' columns as `DocumentRecord` takes them, each with its chunk count (same snapshot)."""
        chunks, documents = self.dialect.table("chunks"), self.dialect.table("documents")
        return (
            "SELECT d.id, d.path, d.content_hash, d.size, d.mtime, d.status, d.error, d.error_kind, d.extractor,"
            f" d.page_count, (SELECT count(*) FROM {chunks} c WHERE c.doc_id = d.id), d.pagekind_version"
            f" FROM {documents} d"
        )

    def _matrix(self, values: list[Any]) -> np.ndarray:
        """Vectors as read from the chunks, as one float32 matrix (none: zero rows of the embedder's width)."""
        if not values:
            embedder = self.embedder
            return np.zeros((0, embedder[1] if embedder else 0), dtype=np.float32)
        return self.dialect.matrix(values)

    def roots(self) -> list[Path]:
        """Folders and files indexed before."""
        return [Path(r[0]) for r in self._rows(f"SELECT path FROM {self.dialect.table('roots')} ORDER BY path")]

    def chunk_count(self) -> int:
        """How many chunks the library holds."""
        row = self._row(f"SELECT count(*) FROM {self.dialect.table('chunks')}")
        return int(row[0]) if row else 0

    # -- documents --------------------------------------------------------------------------------
    def documents(self) -> list[DocumentRecord]:
        """Every document in the catalogue, by path."""
        return [DocumentRecord(*r) for r in self._rows(f"{self._doc_select()} ORDER BY {self.dialect.path_order}")]

    def document(self, path: str) -> DocumentRecord | None:
        """The catalogue row of one path, if any."""
        row = self._row(f"{self._doc_select()} WHERE d.path = {self.dialect.mark}", (path,))
        return DocumentRecord(*row) if row else None

    def indexed_with_hash(self, content_hash: str) -> DocumentRecord | None:
        """An indexed document with this content, whose chunks and vectors can be reused."""
        sql = f"{self._doc_select()} WHERE d.content_hash = {self.dialect.mark} AND d.status = 'indexed' LIMIT 1"
        row = self._row(sql, (content_hash,))
        return DocumentRecord(*row) if row else None

    def attachments_of(self, container: str) -> list[DocumentRecord]:
        """The documents stored as attachments of a file (`indexer.attachments`), nested ones too, by path."""
        condition, params = self.dialect.starts_with("d.path", attachment_prefix(container))
        rows = self._rows(f"{self._doc_select()} WHERE {condition} ORDER BY {self.dialect.path_order}", params)
        return [DocumentRecord(*row) for row in rows if is_within(row[1], container)]

    # -- pages ------------------------------------------------------------------------------------
    def pages(self, doc_id: int) -> list[Page]:
        """The stored text of each page of a document (the text chunk spans point into), located."""
        sql = (
            f"SELECT number, text, label, first_line, line_kind FROM {self.dialect.table('pages')}"
            f" WHERE doc_id = {self.dialect.mark} ORDER BY number"
        )
        return [Page(*row) for row in self._rows(sql, (doc_id,))]

    def page(self, doc_id: int, number: int) -> Page | None:
        """One stored page with its location fields, or None."""
        mark = self.dialect.mark
        sql = (
            f"SELECT number, text, label, first_line, line_kind FROM {self.dialect.table('pages')}"
            f" WHERE doc_id = {mark} AND number = {mark}"
        )
        row = self._row(sql, (doc_id, number))
        return Page(*row) if row else None

    def page_text(self, doc_id: int, number: int) -> str | None:
        """The stored text of one page, or None."""
        mark = self.dialect.mark
        sql = f"SELECT text FROM {self.dialect.table('pages')} WHERE doc_id = {mark} AND number = {mark}"
        row = self._row(sql, (doc_id, number))
        return row[0] if row else None

    # -- chunks -----------------------------------------------------------------------------------
    def chunk_vectors(self, ids: list[int]) -> dict[int, np.ndarray]:
        """The stored vectors of chunks by id."""
        if not ids:
            return {}
        condition, params = self.dialect.ids_in("id", list(ids))
        sql = f"SELECT id, {self.dialect.vector_column} FROM {self.dialect.table('chunks')} WHERE {condition}"
        return {i: self.dialect.vector(value) for i, value in self._rows(sql, params)}

    def document_chunks(self, doc_id: int) -> tuple[list[Chunk], np.ndarray]:
        """A document's chunks and their vectors, in chunk order."""
        sql = (
            f"SELECT id, page, char_start, char_end, text, kind, location, {self.dialect.vector_column}"
            f" FROM {self.dialect.table('chunks')} WHERE doc_id = {self.dialect.mark} ORDER BY id"
        )
        rows = self._rows(sql, (doc_id,))
        chunks = [
            Chunk(doc_id=doc_id, page=p, char_start=s, char_end=e, text=t, id=i, kind=k, location=w)
            for i, p, s, e, t, k, w, _ in rows
        ]
        return chunks, self._matrix([r[7] for r in rows])

    def chunks_of(self, doc_id: int) -> list[Chunk]:
        """A document's chunks in chunk order, without their vectors."""
        sql = (
            f"SELECT id, page, char_start, char_end, text, kind, location FROM {self.dialect.table('chunks')}"
            f" WHERE doc_id = {self.dialect.mark} ORDER BY id"
        )
        return [
            Chunk(doc_id=doc_id, page=p, char_start=s, char_end=e, text=t, id=i, kind=k, location=w)
            for i, p, s, e, t, k, w in self._rows(sql, (doc_id,))
        ]

    def chunks_by_id(self, ids: list[int]) -> dict[int, Chunk]:
        """Chunks (with their document's path) by chunk id."""
        if not ids:
            return {}
        return {row[0]: chunk_of(row) for row in self._rows(*chunks_query(self.dialect, list(ids)))}

    def has_kind(self, kind: str) -> bool:
        """True when at least one chunk is of this kind (``content``, ``toc``...)."""
        sql = f"SELECT 1 FROM {self.dialect.table('chunks')} WHERE kind = {self.dialect.mark} LIMIT 1"
        return self._row(sql, (kind,)) is not None
