"""What every part of a `Store` shares: its folder, connection and lock, the meta table, and the one
way to change the catalogue (`_change`, a transaction)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from indexer.store.errors import StoreError, explain_write_error
from indexer.vectors import VectorIndex

if TYPE_CHECKING:
    from indexer.store.search import WordCounts


class StoreBase:
    """The state and helpers the store's parts (reads, writes, vector cache, search, health) build on."""

    folder: Path
    _conn: sqlite3.Connection
    _lock: threading.RLock
    _vectors: VectorIndex | None
    _vectors_generation: int
    _readers: threading.local
    """Each thread's read connection (`Search._reader`), for searches that run beside the lock."""
    _reader_conns: list[sqlite3.Connection]
    """Every read connection opened, to be closed with the store."""
    _keyword_pool: ThreadPoolExecutor | None
    """The threads that search parts of a split keyword search (`Search._top_rows`), once needed."""
    _counted: WordCounts | None
    """How common the words searched for are in the current generation (`search.WordCounts`)."""

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

    def chunk_count(self) -> int:
        """How many chunks the library holds."""
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM chunks").fetchone()[0])

    def _stack(self, blobs: list[bytes]) -> np.ndarray:
        dim = self.embedder[1] if self.embedder else 0
        if not blobs:
            return np.zeros((0, dim), dtype=np.float32)
        return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), -1)

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
                raise StoreError(explain_write_error(self.folder, exc)) from exc
            raise
