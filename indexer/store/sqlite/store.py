"""The SQLite store: one library folder, its catalogue (`schema`) and the FAISS cache of its vectors."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from indexer.store.errors import NEWER_SCHEMA, StoreError, embedder_mismatch
from indexer.store.sqlite.health import Health
from indexer.store.sqlite.schema import SCHEMA_VERSION, connect, upgrade
from indexer.store.sqlite.search import Search
from indexer.store.sqlite.vector_cache import VectorCache
from indexer.store.sqlite.writes import SqliteWrites
from indexer.types import Hit
from indexer.vectors import VectorIndex


class Store(SqliteWrites, Health):
    """One library folder: catalogue plus vector index. Safe to share between threads.

    The catalogue is its own: the reads, writes and health both backends share (`indexer.store.reads`,
    `.writes`, `.health`, in SQLite's dialect) with this backend's parts of them (`writes`, `health`), on the
    connection, lock and meta of `base`. The parts with a state of their own are parts it owns:
    `vector_cache` (the FAISS index, kept in step with the catalogue) and `searcher` (dense and keyword
    search, with the keyword lane's read connections and threads)."""

    def __init__(self, folder: Path, index_kind: str | None = None) -> None:
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._conn = connect(self.folder)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the library at {self.folder}: {exc}") from exc
        self._lock = threading.RLock()
        self.vector_cache = VectorCache(self)
        self.searcher = Search(self, self.vector_cache)
        version = self._meta("schema_version")
        if version is not None and int(version) > SCHEMA_VERSION:
            raise StoreError(
                f"the library at {self.folder} has schema {version}; this Footnotes reads {SCHEMA_VERSION}",
                NEWER_SCHEMA,
            )
        if version is None or int(version) < SCHEMA_VERSION:
            self._migrate(int(version) if version is not None else None)
        if index_kind is not None and index_kind != self.index_kind:
            self._set_meta("index_kind", index_kind)

    @property
    def location(self) -> str:
        """The library folder, as text (`LibraryStore.location`)."""
        return str(self.folder)

    def _migrate(self, version: int | None) -> None:
        """Bring an older catalogue to SCHEMA_VERSION in one transaction (`schema.upgrade`)."""
        with self._change(chunks=False):
            upgrade(self._conn, version)
            self._set_meta("schema_version", str(SCHEMA_VERSION))

    def bind_embedder(self, name: str, dim: int) -> None:
        """Record the embedder for a new library, or refuse one that differs from the library's."""
        with self._lock:
            current = self.embedder
            if current == (name, dim):
                return
            if current is not None and self.chunk_count() > 0:
                raise embedder_mismatch(current, (name, dim))
            with self._change(chunks=False):
                self._set_meta("embedder_name", name)
                self._set_meta("embedder_dim", str(dim))
            self.vector_cache.drop()

    # -- vectors and search: the parts' ----------------------------------------------------------
    def effective_index_kind(self, chunks: int | None = None) -> str:
        """``flat``, ``ivf`` or ``hnsw``; ``auto`` becomes ``ivf`` once the library reaches AUTO_IVF_CHUNKS."""
        return self.vector_cache.effective_kind(chunks)

    def vectors(self) -> VectorIndex:
        """The FAISS index for the current generation: in memory, from disk, or rebuilt."""
        return self.vector_cache.index()

    def save_vectors(self) -> None:
        """Persist the vector index for the current generation and delete older files (`VectorCache.save`)."""
        self.vector_cache.save()

    def search_dense(
        self,
        query_vector: np.ndarray,
        k: int,
        kinds: Collection[str] | None = None,
        documents: Collection[int] | None = None,
    ) -> list[Hit]:
        """Nearest chunks to a query vector by inner product, of `kinds` and `documents` (ids) only when given
        (`Search.search_dense`)."""
        return self.searcher.search_dense(query_vector, k, kinds, documents)

    def search_keyword(
        self, query: str, k: int, kinds: Collection[str] | None = None, documents: Collection[int] | None = None
    ) -> list[Hit]:
        """Chunks matching the query's searched words by BM25, best first, of `kinds` and `documents` only when
        given; on this thread's own read connection, beside the store's lock (`Search.search_keyword`)."""
        return self.searcher.search_keyword(query, k, kinds, documents)

    @property
    def _keyword_pool(self) -> ThreadPoolExecutor | None:
        """The threads of split keyword searches, once started (`Search.keyword_pool`)."""
        return self.searcher.keyword_pool

    def close(self) -> None:
        """Close the catalogue connection and every thread's read connection."""
        self.searcher.close()
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
