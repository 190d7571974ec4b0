"""The keyword lane on a real store and a real FTS5 index: it searches a question's rare words, not the
words common in the library (stop words), still cites the page they are on, keeps the kind filter when
the best matches are navigation pages, and reads on its own connection, so a writer holding the store's
lock does not hold it up."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from indexer.store import FileFacts, Store
from indexer.store.keywords import (
    COMMON_FLOOR,
    MAX_POSTINGS,
    MAX_TERMS,
    common_from,
    count_limit,
    keyword_terms,
    query_words,
)
from indexer.types import Chunk, Page

THINGS = ["cat", "key", "map", "pen", "hat", "cup"]
FILLER = [f"Where is it that the {THINGS[n % 6]} {n} went? It is in the hall, as it was." for n in range(3000)]
GUIDE = [*FILLER[:3], "The lighthouse keeper winds the Fresnel clockwork every evening at dusk.", *FILLER[3:]]
"""3 001 pages: 3 000 of everyday words, each of them in more than a third of the chunks (and in more than
`COMMON_FLOOR`), and one of rare words."""


def _write(store: Store, path: str, pages: list[str], kind: str = "content") -> None:
    """One document, a chunk per page (of `kind`), with arbitrary unit vectors: only keywords matter here."""
    chunks = [Chunk(0, n, 0, len(text), text, kind=kind) for n, text in enumerate(pages, start=1)]
    vectors = np.random.default_rng(len(path)).normal(size=(len(pages), 4)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    facts = FileFacts(path, path, sum(map(len, pages)), 0.0)
    store.write_document(facts, "text", [Page(n, t) for n, t in enumerate(pages, start=1)], chunks, vectors)


def _library(folder: Path) -> Store:
    store = Store(folder)
    store.bind_embedder("test", 4)
    _write(store, "/docs/guide.txt", GUIDE)
    return store


def test_terms_leave_out_the_librarys_common_words_and_keep_the_rarest() -> None:
    counts = {"where": 6000, "is": 9000, "it": 9000, "the": 9000, "lighthouse": 1, "keeper": 2, "winds": 40}
    words = query_words("Where is it that the lighthouse keeper winds the clockwork?")
    assert words == ["where", "is", "it", "that", "the", "lighthouse", "keeper", "winds", "clockwork"]
    terms = keyword_terms(words, lambda w: counts.get(w, 0), chunks=9000)  # common: in 3001 chunks or more
    assert terms == ["lighthouse", "keeper", "winds"]  # "that" and "clockwork" are in no chunk
    assert keyword_terms(["zyzzyva"], lambda w: counts.get(w, 0), chunks=9000) == []  # no word in any chunk: no search
    all_common = keyword_terms(["where", "is"], counts.__getitem__, chunks=9000)
    assert all_common == ["where"]  # all common in a small library: searched, the rarest first, within the budget
    assert keyword_terms(["where", "it"], {"where": 3500, "it": 4000}.get, chunks=9000) == ["where", "it"]
    small = {"lamp": 6, "lens": 5, "clean": 1}  # a library of 6 chunks: under COMMON_FLOOR nothing is common
    assert COMMON_FLOOR > 6 and keyword_terms(["clean", "lamp", "lens"], small.get, chunks=6) == [
        "clean",
        "lamp",
        "lens",
    ]
    many = [f"word{n}" for n in range(MAX_TERMS + 4)]
    rarest = keyword_terms(many, lambda w: int(w[4:]) + 1, chunks=1000)
    assert rarest == many[:MAX_TERMS]  # the rarest, in the query's order
    assert keyword_terms(["big", "huge", "vast"], lambda w: MAX_POSTINGS // 2 + len(w), 10**7) == ["big"]
    assert keyword_terms(["vast", "big"], lambda w: MAX_POSTINGS + len(w), 10**7) == []  # each over the budget
    assert keyword_terms(["vast"], lambda w: 2 * MAX_POSTINGS, 10**7) == []  # a large library: none searched
    assert keyword_terms(["vast"], lambda w: 2 * MAX_POSTINGS, 2 * MAX_POSTINGS) == ["vast"]  # all common, small
    assert count_limit(10**7) == MAX_POSTINGS + 1 and count_limit(9000) == common_from(9000)
    assert query_words("An ox eats hay, an ox", limit=2) == ["eats", "hay"]  # the longest, in the query's order


def test_keyword_search_ignores_stop_words_and_finds_the_rare_words_page(tmp_path: Path) -> None:
    with _library(tmp_path / "library") as store:
        hits = store.search_keyword("Where is it that the lighthouse keeper winds the clockwork?", 10)
        assert [(h.chunk.path, h.chunk.page) for h in hits] == [("/docs/guide.txt", 4)]  # not the six others
        assert hits[0].chunk.text == GUIDE[3] and hits[0].score > 0
        assert store.search_keyword("keepers winding", 10)[0].chunk.page == 4  # stems still match
        assert store.search_keyword("zyzzyva", 10) == []
        only_common_words = store.search_keyword("Where is it?", 10)
        assert len(only_common_words) == 10 and 4 not in {h.chunk.page for h in only_common_words}


def test_the_kind_filter_holds_when_navigation_pages_rank_first(tmp_path: Path) -> None:
    with _library(tmp_path / "library") as store:
        index_pages = [f"gearbox {n}, gearbox oil, gearbox seals" for n in range(12)]
        _write(store, "/docs/index.txt", index_pages, kind="index")
        _write(store, "/docs/manual.txt", ["Drain the gearbox before the winter, " + "then store it dry. " * 20])
        unfiltered = store.search_keyword("gearbox", 2)
        assert [h.chunk.kind for h in unfiltered] == ["index", "index"]
        content = store.search_keyword("gearbox", 2, kinds={"content"})  # 12 index pages outrank it
        assert [(h.chunk.path, h.chunk.page, h.chunk.kind) for h in content] == [("/docs/manual.txt", 1, "content")]
        manual = next(d.id for d in store.documents() if d.path == "/docs/manual.txt")
        assert [h.chunk.path for h in store.search_keyword("gearbox", 5, documents={manual})] == ["/docs/manual.txt"]


def test_keyword_search_reads_beside_a_writer_holding_the_lock(tmp_path: Path) -> None:
    with _library(tmp_path / "library") as store, ThreadPoolExecutor(1) as other:
        with store._lock:  # as a long write would
            hits = other.submit(store.search_keyword, "lighthouse clockwork", 5).result(timeout=10)
        assert [h.chunk.page for h in hits] == [4]


def test_a_keyword_search_split_across_threads_finds_what_one_search_finds(tmp_path: Path, monkeypatch) -> None:
    """A search over many postings is split into ranges of chunk ids searched at once (`SPLIT_POSTINGS`);
    the merged list must be the one search's: same chunks, same BM25 scores, same order."""
    from indexer.store.sqlite import search

    # each chunk a different length, so no two share a score: "lantern" 1-3 times, "beacon" in every fifth
    pages = [
        " ".join(["lantern"] * (1 + n % 3) + ["beacon"] * (n % 5 == 0) + [f"pad{n}w{j}" for j in range(n % 97)])
        for n in range(600)
    ]
    query = "lantern beacon"
    with Store(tmp_path / "library") as store:
        store.bind_embedder("test", 4)
        _write(store, "/docs/lamps.txt", pages)
        monkeypatch.setattr(search, "SPLIT_POSTINGS", 10**9)
        one = store.search_keyword(query, 40)
        one_content = store.search_keyword(query, 7, kinds={"content"})
        assert store._keyword_pool is None  # not split
        monkeypatch.setattr(search, "SPLIT_POSTINGS", 100)  # 720 postings: split in as many ranges as cores
        monkeypatch.setattr(search.os, "cpu_count", lambda: 4)
        with store._lock, ThreadPoolExecutor(1) as other:  # as a long write would: the split waits for no lock
            split = other.submit(store.search_keyword, query, 40).result(timeout=10)
        assert store._keyword_pool is not None  # split it was
        assert [(h.chunk.id, h.score) for h in split] == [(h.chunk.id, h.score) for h in one]
        assert split[0].chunk.text == "lantern beacon"  # the shortest chunk with both words
        assert [h.chunk.id for h in store.search_keyword(query, 7, kinds={"content"})] == [
            h.chunk.id for h in one_content
        ]


def test_threads_search_sqlite_side_by_side_and_open_libraries_are_left_alone(tmp_path: Path) -> None:
    """SQLite's memory statistics (one mutex every allocation of every thread takes) are off once the store
    is imported, so a split search's threads run at once; turning them off again while a library is
    open must not shut SQLite down under it."""
    from indexer.store.sqlite import parallel_sqlite

    lib = parallel_sqlite._library()
    assert lib is not None and parallel_sqlite.PARALLEL  # Debian's and python.org's Linux builds
    assert not parallel_sqlite.counts_allocations(lib)
    with _library(tmp_path / "library") as store:
        assert parallel_sqlite.allow_parallel_searches()  # off already: nothing shut down
        assert [h.chunk.page for h in store.search_keyword("lighthouse clockwork", 5)] == [4]
