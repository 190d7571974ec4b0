"""Which backend a library location names: a folder (SQLite and FAISS) or a ``postgresql://`` URL."""

from __future__ import annotations

from pathlib import Path

from indexer.store.contract import LibraryStore

URL_SCHEMES = ("postgresql://", "postgres://")


def is_database_url(location: str | Path) -> bool:
    """True when `location` is a PostgreSQL connection URL rather than a folder."""
    return isinstance(location, str) and location.strip().lower().startswith(URL_SCHEMES)


def open_store(location: str | Path, index_kind: str | None = None) -> LibraryStore:
    """The library at `location`: a PostgreSQL store for a ``postgresql://`` URL, else the SQLite store of
    that folder. `index_kind` (flat, hnsw, auto) applies to a folder; a database always uses pgvector's HNSW."""
    if is_database_url(location):
        from indexer.pgstore import PgStore  # imports psycopg, an optional dependency

        return PgStore(str(location).strip())
    from indexer.store import Store

    return Store(Path(location).expanduser(), index_kind=index_kind)
