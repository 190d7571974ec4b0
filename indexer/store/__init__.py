"""Where a library is kept, whichever backend keeps it: the store contract (`contract.LibraryStore`), the
records it takes and returns, its errors, the keyword rule both backends search by (`keywords`), the
catalogue reads, writes and health checks both run (`reads`, `writes`, `health`), and `open_store`, which
opens the backend a location names.

The backends are subpackages: `sqlite` (a folder: a SQLite catalogue beside a FAISS cache of its vectors)
and `postgres` (a database with pgvector, for a team's shared library). This package imports neither: the
SQLite store's names offered here (`Store`, `CATALOGUE`, `SCHEMA_VERSION`, `AUTO_IVF_CHUNKS`) are imported
from `indexer.store.sqlite` when first asked for, and `open_store` imports the backend it opens."""

from __future__ import annotations

from typing import TYPE_CHECKING

from indexer.store.contract import LibraryStore, NearestVectors
from indexer.store.errors import EmbedderMismatch, StoreError
from indexer.store.opening import discard_library, is_database_url, open_store
from indexer.store.records import DocumentRecord, FileFacts, StoreStats

if TYPE_CHECKING:
    from indexer.store.sqlite import AUTO_IVF_CHUNKS, CATALOGUE, SCHEMA_VERSION, Store

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
    "discard_library",
    "is_database_url",
    "open_store",
]

_SQLITE_NAMES = frozenset({"AUTO_IVF_CHUNKS", "CATALOGUE", "SCHEMA_VERSION", "Store"})


def __getattr__(name: str) -> object:
    """The SQLite store's names, imported from `indexer.store.sqlite` when first asked for, so that the
    contract can be imported without a backend (and a backend can import the contract)."""
    if name in _SQLITE_NAMES:
        import indexer.store.sqlite as sqlite_backend

        value = getattr(sqlite_backend, name)
        globals()[name] = value  # asked once
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
