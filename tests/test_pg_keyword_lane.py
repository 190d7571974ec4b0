"""The PostgreSQL keyword lane on a real server: in a large library it searches a question's rare stems
within the postings budget (`indexer.store.keywords.keyword_terms`, as the SQLite store), with counts
from the planner's statistics of the tsvector column, read again after an ANALYZE; a library never
analyzed, or a small one, has every word searched, as before. It reads on a connection of its thread's
own, so a writer holding the store's lock neither holds it up nor shows it an uncommitted document, and
those connections close with the store. Autovacuum is off for these tables, so the statistics change
only when a test runs ANALYZE."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import psycopg
import pytest
from conftest import new_database

from indexer.store import FileFacts, StoreError, keywords
from indexer.store.postgres import PgStore
from indexer.types import Chunk, Page

THINGS = ["cat", "key", "map", "pen", "hat", "cup", "jar", "box", "mug", "fan", "rug", "bag"]
FILLER = [f"Where is it that the {THINGS[n % 12]} {n} went? It is in the hall, as it was." for n in range(3000)]
GUIDE = [*FILLER[:3], "The lighthouse keeper winds the Fresnel clockwork every evening at dusk.", *FILLER[3:]]
"""3 001 chunks: "hall" and "went" in 3 000 of them, each thing in 250, and one (page 4) of rare words."""
BUDGET = 500
"""A postings budget small enough for 3 001 chunks to be a large library (as 30 000 are with the real
one): words in 501 chunks or more are not searched, and the rarest ones within 500 postings are."""
QUESTION = "What went on in the hall with the keeper?"


def _write(store: PgStore, path: str, pages: list[str]) -> None:
    """One document, a chunk per page, with arbitrary unit vectors: only keywords matter here."""
    chunks = [Chunk(0, n, 0, len(text), text) for n, text in enumerate(pages, start=1)]
    vectors = np.random.default_rng(len(path)).normal(size=(len(pages), 4)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    facts = FileFacts(path, path, sum(map(len, pages)), 0.0)
    store.write_document(facts, "text", [Page(n, t) for n, t in enumerate(pages, start=1)], chunks, vectors)


def _analyze(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE footnotes_chunks")


@pytest.fixture
def library(pg_server: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[PgStore, str]]:
    """The guide in a new database, autovacuum off for its chunks, and the small budget; (store, url)."""
    monkeypatch.setattr(keywords, "MAX_POSTINGS", BUDGET)
    url = new_database(pg_server)
    with PgStore(url) as store:
        store._conn.execute("ALTER TABLE footnotes_chunks SET (autovacuum_enabled = false)")
        store.bind_embedder("test", 4)
        _write(store, "/docs/guide.txt", GUIDE)
        yield store, url


def _pages(hits: list) -> list[int]:
    return [h.chunk.page for h in hits]


def test_a_library_never_analyzed_has_every_word_searched(library: tuple[PgStore, str]) -> None:
    store, _ = library
    hits = store.search_keyword(QUESTION, 5)  # its size unknown: "went" and "hall" are searched too
    assert len(hits) == 5 and 4 not in _pages(hits)  # pages holding both outrank the one holding "keeper"
    assert len(store.search_keyword("the hall", 5)) == 5


def test_a_large_library_searches_only_the_questions_rare_words(library: tuple[PgStore, str]) -> None:
    store, url = library
    _analyze(url)
    # "went" and "hall" are in 3 000 chunks, past the budget: only "keeper" is searched
    assert _pages(store.search_keyword(QUESTION, 5)) == [4]
    assert store.search_keyword("the hall", 5) == []  # every word common: none searched (the dense lane answers)
    assert len(store.search_keyword("Where is the cat?", 5)) == 5  # in 250 chunks: within the budget
    assert _pages(store.search_keyword("lighthouse keepers", 5)) == [4]  # stemmed: "keepers" finds "keeper"


def test_counts_are_read_again_after_an_analyze(library: tuple[PgStore, str]) -> None:
    store, url = library
    _analyze(url)
    assert _pages(store.search_keyword("keeper", 5)) == [4]
    _write(store, "/docs/rota.txt", [f"The keeper {n} sleeps." for n in range(600)])
    assert len(store.search_keyword("keeper", 5)) == 5  # its count is the one taken before the new chunks
    _analyze(url)
    assert store.search_keyword("keeper", 5) == []  # now in 601 of 3 601 chunks: common


def test_a_small_library_has_every_word_searched(pg_server: object) -> None:
    with PgStore(new_database(pg_server)) as store:
        store._conn.execute("ALTER TABLE footnotes_chunks SET (autovacuum_enabled = false)")
        store.bind_embedder("test", 4)
        _write(store, "/docs/guide.txt", GUIDE)
        _analyze(store.url)
        # 3 001 chunks under the real budget: a small library, searched as before
        assert keywords.MAX_POSTINGS * 3 > 3001 and len(store.search_keyword(QUESTION, 5)) == 5


def test_keyword_search_reads_beside_a_writer_holding_the_lock(library: tuple[PgStore, str]) -> None:
    store, url = library
    _analyze(url)  # a large library: the stems' counts are read on the search's connection too
    with ThreadPoolExecutor(1) as other:
        with store._lock, store._change():  # a write under way, its transaction open
            _write(store, "/docs/draft.txt", ["The lighthouse keeper's draft log, not saved yet."])
            hits = other.submit(store.search_keyword, "lighthouse keeper", 5).result(timeout=10)
            assert [(h.chunk.path, h.chunk.page) for h in hits] == [("/docs/guide.txt", 4)]  # not the draft
        after = other.submit(store.search_keyword, "lighthouse keeper", 5).result(timeout=10)
    assert {h.chunk.path for h in after} == {"/docs/guide.txt", "/docs/draft.txt"}  # committed: seen


def test_read_connections_are_one_a_thread_and_close_with_the_store(pg_server: object) -> None:
    store = PgStore(new_database(pg_server))
    store.bind_embedder("test", 4)
    _write(store, "/docs/guide.txt", GUIDE)

    def search() -> None:
        assert _pages(store.search_keyword("lighthouse", 5)) == [4]

    search()
    search()
    for _ in range(2):  # one thread after another: the second's opening closes the ended first's
        worker = threading.Thread(target=search)
        worker.start()
        worker.join(timeout=10)
        assert not worker.is_alive()
    readers = [conn for conn, _ in store._readers.values()]
    assert len(readers) == 2 and not any(conn.closed for conn in readers)  # this thread's and the last worker's
    store.close()
    assert all(conn.closed for conn in readers) and store._conn.closed
    with pytest.raises(StoreError, match="is closed"):
        store.search_keyword("lighthouse", 5)
    store.close()  # twice is fine


def test_a_read_connection_that_cannot_be_made_is_a_store_error(library: tuple[PgStore, str]) -> None:
    store, _ = library
    store.url = "postgresql://reader:s3cret@/nowhere?host=/nonexistent-socket-dir"  # as if the server went away
    with pytest.raises(StoreError, match="cannot reach the library database") as raised:
        store.search_keyword("lighthouse", 5)
    assert "s3cret" not in str(raised.value)
