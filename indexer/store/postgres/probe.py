"""A look at a PostgreSQL server before a library is opened on it (``footnotes doctor``): does it answer,
which version, and does it have pgvector. Nothing is created, unlike `indexer.store.postgres.PgStore`, which
creates its tables (and the extension, where the user may) when it opens."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from indexer.pgurl import redacted
from indexer.store.errors import StoreError, database_todo

TIMEOUT = 5
"""Seconds to wait for the connection (libpq counts whole seconds, at least 2)."""


@dataclass(frozen=True)
class ServerFacts:
    """What the server said."""

    version: str
    """``16.4``: the server's version."""
    pgvector: str
    """The version of the ``vector`` extension created in this database; empty: none."""
    pgvector_available: str
    """The version of ``vector`` the server could create; empty: pgvector is not installed on the server."""


def probe(url: str, timeout: int = TIMEOUT) -> ServerFacts:
    """Connect to the database at `url` (within `timeout` seconds), read what a library needs and close;
    `StoreError` says why it cannot be reached."""
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=timeout) as conn:
            version = str(conn.execute("SHOW server_version").fetchone()[0]).split(" ")[0]
            created = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
            available = conn.execute(
                "SELECT default_version FROM pg_available_extensions WHERE name = 'vector'"
            ).fetchone()
    except psycopg.Error as exc:
        raise StoreError(
            f"cannot reach the library database at {redacted(url)}: {' '.join(str(exc).split())}",
            database_todo(redacted(url)),
        ) from exc
    return ServerFacts(version, str(created[0]) if created else "", str(available[0] or "") if available else "")
