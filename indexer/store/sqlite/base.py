"""What the SQLite store and its parts share: its folder, connection and lock, the meta table, the one way
to change the catalogue (`_change`, a transaction), and the catalogue reads in SQLite's dialect."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from indexer.store.errors import write_failure
from indexer.store.reads import CatalogueReads, Dialect


class SqliteDialect(Dialect):
    """The catalogue's SQL in SQLite: ``?`` placeholders, unprefixed tables, vectors as float32 blobs."""

    mark = "?"
    prefix = ""
    path_order = "d.path"
    vector_column = "embedding"
    skip_duplicates = (" OR IGNORE", "")
    returning_id = ""

    def inserted_id(self, cursor: sqlite3.Cursor) -> int:
        """The cursor's ``lastrowid``."""
        return int(cursor.lastrowid)

    def ids_in(self, column: str, ids: list[int]) -> tuple[str, list[Any]]:
        """``column IN (?, ?, ...)``, one placeholder an id."""
        return f"{column} IN ({','.join('?' * len(ids))})", list(ids)

    def starts_with(self, column: str, prefix: str) -> tuple[str, list[Any]]:
        """A range of the column's index: from `prefix` to the first text past every one that has it."""
        after = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        return f"{column} >= ? AND {column} < ?", [prefix, after]

    def vector(self, value: bytes) -> np.ndarray:
        """A float32 blob as an array (read-only: a view of the blob)."""
        return np.frombuffer(value, dtype=np.float32)

    def matrix(self, values: list[bytes]) -> np.ndarray:
        """Blobs joined and read as one matrix, without a copy per row."""
        return np.frombuffer(b"".join(values), dtype=np.float32).reshape(len(values), -1)


SQLITE = SqliteDialect()


class StoreBase(CatalogueReads):
    """The state and helpers the store and its parts (writes, health, the vector cache, the searches) build on."""

    dialect = SQLITE
    folder: Path
    _conn: sqlite3.Connection
    _lock: threading.RLock

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Every row of one statement on the store's connection, under its lock."""
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def _row(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        """The first row of one statement on the store's connection, under its lock, or None."""
        with self._lock:
            return self._conn.execute(sql, params).fetchone()

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
                raise write_failure(self.folder, exc) from exc
            raise
