"""A library on PostgreSQL outlives its server dropping the connections (a restart, a failover, an idle
timeout on the way): the next read, search or write opens a new connection and goes on, instead of
failing until the app is restarted. Real server; the drop is `pg_terminate_backend`, as a restart does."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest
from conftest import new_database

from indexer.store import FileFacts, StoreError
from indexer.store.postgres import PgStore
from indexer.types import Chunk, Page


def _write(store: PgStore, path: str, text: str) -> None:
    vector = np.array([[1.0, 0.0, 0.0, 0.0]], dtype=np.float32)
    facts = FileFacts(path, path, len(text), 0.0)
    store.write_document(facts, "text", [Page(1, text)], [Chunk(0, 1, 0, len(text), text)], vector)


def _drop_connections(url: str) -> int:
    """End every other connection to the library's database, as the server does when it restarts."""
    with psycopg.connect(url, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


def test_reads_searches_and_writes_go_on_after_the_server_dropped_the_connections(pg_server: object) -> None:
    url = new_database(pg_server)
    with PgStore(url) as store:
        store.bind_embedder("test", 4)
        _write(store, "/docs/a.txt", "The lighthouse keeper winds the clockwork at dusk.")
        assert store.search_keyword("lighthouse", 5)  # the keyword lane's own connection is open too
        assert _drop_connections(url) == 2  # the store's and the keyword lane's
        assert [d.path for d in store.documents()] == ["/docs/a.txt"]  # a read reconnects
        assert [h.chunk.path for h in store.search_keyword("lighthouse keeper", 5)] == ["/docs/a.txt"]
        assert _drop_connections(url) == 2
        query = np.array([1.0, 0.0, 0.0, 0.0], dtype=np.float32)
        assert [h.chunk.path for h in store.search_dense(query, 1)] == ["/docs/a.txt"]
        _drop_connections(url)
        _write(store, "/docs/b.txt", "The harbour master keeps the ledger.")  # a write reconnects
        assert [d.path for d in store.documents()] == ["/docs/a.txt", "/docs/b.txt"]
        assert store.check() == []
    with pytest.raises(StoreError, match="is closed"):
        store.documents()  # closed on purpose: no new connection


def test_a_write_whose_connection_is_dropped_midway_is_lost_whole_and_the_next_goes_on(pg_server: object) -> None:
    """Dropped inside a write's transaction, the connection is not replaced there (the rest of the write
    would run outside the transaction): the write fails as a whole, saying nothing was lost, and the next
    write opens a new connection."""
    url = new_database(pg_server)
    with PgStore(url) as store:
        store.bind_embedder("test", 4)
        with pytest.raises(StoreError, match="nothing was lost"), store._lock, store._change():
            store._conn.execute("DELETE FROM footnotes_meta WHERE key = 'embedder_name'")
            _drop_connections(url)
            store.documents()  # a read inside the write: fails with it, on no new connection
        assert store.embedder == ("test", 4)  # the delete went with the transaction
        _write(store, "/docs/a.txt", "The lighthouse keeper winds the clockwork at dusk.")
        assert [d.path for d in store.documents()] == ["/docs/a.txt"]
