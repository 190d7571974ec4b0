"""Which backend a library location names: a folder (SQLite and FAISS) or a ``postgresql://`` URL."""

from __future__ import annotations

from pathlib import Path

from indexer.store.contract import LibraryStore
from indexer.store.errors import StoreError

URL_SCHEMES = ("postgresql://", "postgres://")


def is_database_url(location: str | Path) -> bool:
    """True when `location` is a PostgreSQL connection URL rather than a folder."""
    return isinstance(location, str) and location.strip().lower().startswith(URL_SCHEMES)


def open_store(location: str | Path, index_kind: str | None = None) -> LibraryStore:
    """The library at `location`: a PostgreSQL store for a ``postgresql://`` URL, else the SQLite store of
    that folder. `index_kind` (flat, hnsw, auto) applies to a folder; a database always uses pgvector's HNSW.
    Each backend is imported here, when first opened."""
    if is_database_url(location):
        try:
            from indexer.store.postgres import PgStore  # imports psycopg, an optional dependency
        except ImportError as exc:
            raise StoreError(
                "a shared library on PostgreSQL needs its driver, psycopg 3, which is not installed",
                "pip install -e '.[postgres]' in the Footnotes folder (or pip install 'psycopg[binary]')",
            ) from exc
        return PgStore(str(location).strip())
    from indexer.store.sqlite import Store

    return Store(Path(location).expanduser(), index_kind=index_kind)


def discard_library(location: str | Path) -> list[Path]:
    """Empty the library at `location` for a rebuild from its files (``footnotes index --reindex``): a
    database's tables in one transaction, or a folder's catalogue and vector files, deleted even when
    the catalogue cannot be opened (damaged). Returns the folders and files the library knew (none from
    a catalogue that cannot be opened). Nothing else may have it open."""
    if is_database_url(location):
        with open_store(location) as store:
            roots = store.roots()
            store.clear()  # type: ignore[attr-defined]  # a PgStore's: the tables are shared, not files
        return roots
    from indexer.store.sqlite.schema import CATALOGUE

    try:
        with open_store(location) as store:
            roots = store.roots()
    except StoreError:
        roots = []
    folder = Path(location).expanduser()
    for file in [*folder.glob(f"{CATALOGUE}*"), *folder.glob("vectors.g*.faiss")]:
        file.unlink()
    return roots
