"""A library on disk: a SQLite catalogue (documents, pages, chunks, FTS5 keyword index, meta)
beside a FAISS index of the chunks' vectors.

SQLite is the source of truth and holds every chunk's vector too; each document is written in
one transaction, so a kill leaves the catalogue before or after that document, never between.
The FAISS file is a cache named after the catalogue's generation (``vectors.g<N>.faiss``): if a
run dies before saving it, the next open finds no file for the current generation and rebuilds
the index from the catalogue's vectors.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from indexer.store.contract import LibraryStore, NearestVectors
from indexer.store.errors import EmbedderMismatch, StoreError, embedder_mismatch
from indexer.store.health import Health
from indexer.store.opening import is_database_url, open_store
from indexer.store.records import DocumentRecord, FileFacts, StoreStats
from indexer.store.schema import CATALOGUE, SCHEMA_VERSION, connect, upgrade
from indexer.store.search import Search
from indexer.store.vector_cache import AUTO_IVF_CHUNKS
from indexer.store.writes import CatalogueWrites

__all__ = [
    "AUTO_IVF_CHUNKS",
    "CATALOGUE",
    "SCHEMA_VERSION",
    "DocumentRecord",
    "EmbedderMismatch",
    "FileFacts",
    "LibraryStore",
    "NearestVectors",
    "Store",
    "StoreError",
    "StoreStats",
    "is_database_url",
    "open_store",
]


class Store(Search, CatalogueWrites, Health):
    """One library folder: catalogue plus vector index. Safe to share between threads.

    Its parts live beside this file: `reads`, `writes`, `vector_cache`, `search` and `health`, on the
    shared state of `base`; `schema` holds the tables and their migrations."""

    def __init__(self, folder: Path, index_kind: str | None = None) -> None:
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._conn = connect(self.folder)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the library at {self.folder}: {exc}") from exc
        self._lock = threading.RLock()
        self._readers = threading.local()
        self._reader_conns = []
        self._keyword_pool = None
        self._counted = None
        self._vectors = None
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
            self._vectors, self._vectors_generation = None, -1

    def close(self) -> None:
        """Close the catalogue connection and every thread's read connection."""
        pool, self._keyword_pool = self._keyword_pool, None
        if pool is not None:
            pool.shutdown(wait=True)  # before the connections its threads search on are closed
        with self._lock:
            for reader in self._reader_conns:
                reader.close()
            self._reader_conns.clear()
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
