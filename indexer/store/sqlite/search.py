"""Search of a SQLite store's chunks: dense (the vector cache's index) and keyword (the FTS5 index, BM25).

The keyword lane reads on connections of its own (`Search._reader`, one a thread) and splits a large
search across threads (`Search._top_rows`): the state for both is this part's, opened on first use and
closed with the store."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from indexer.store.keywords import count_limit, keyword_terms, query_words
from indexer.store.reads import chunk_of, chunks_query
from indexer.store.sqlite.base import SQLITE, StoreBase
from indexer.store.sqlite.parallel_sqlite import PARALLEL
from indexer.store.sqlite.schema import CATALOGUE
from indexer.store.sqlite.vector_cache import VectorCache
from indexer.types import Hit


class Search:
    """Dense and keyword search of one store's catalogue, optionally limited to chunk kinds and documents."""

    def __init__(self, catalogue: StoreBase, vectors: VectorCache) -> None:
        self._catalogue = catalogue
        self._vectors = vectors
        self._readers = threading.local()
        """Each thread's read connection (`_reader`), for searches that run beside the store's lock."""
        self._reader_conns: list[sqlite3.Connection] = []
        """Every read connection opened, to be closed with the store."""
        self.keyword_pool: ThreadPoolExecutor | None = None
        """The threads that search parts of a split keyword search (`_top_rows`), once needed."""
        self._counted: WordCounts | None = None
        """How common the words searched for are in the current generation (`WordCounts`)."""

    def search_dense(
        self,
        query_vector: np.ndarray,
        k: int,
        kinds: Collection[str] | None = None,
        documents: Collection[int] | None = None,
    ) -> list[Hit]:
        """Nearest chunks to a query vector by inner product (cosine on unit vectors); only chunks of
        `kinds` when given, asking the vector index for more until k of them are found or none is left;
        only chunks of the `documents` (ids) when given, searched among exactly their chunk ids."""
        index = self._vectors.index()
        chunks_by_id = self._catalogue.chunks_by_id
        if documents is not None:
            found = index.search(query_vector, k, among=self._chunk_ids_of(documents, kinds))
            chunks = chunks_by_id([i for i, _ in found])
            return [Hit(chunks[i], score) for i, score in found if i in chunks]
        fetch = k if kinds is None else min(len(index), 2 * k)
        while True:
            found = index.search(query_vector, fetch)
            chunks = chunks_by_id([i for i, _ in found])
            hits = [
                Hit(chunks[i], score)
                for i, score in found
                if i in chunks and (kinds is None or chunks[i].kind in kinds)
            ]
            if len(hits) >= k or fetch >= len(index) or kinds is None:
                return hits[:k]
            fetch = min(len(index), fetch * 4)

    def _chunk_ids_of(self, documents: Collection[int], kinds: Collection[str] | None) -> np.ndarray:
        """The ids of the chunks of these documents (of `kinds` when given)."""
        sql = "SELECT id FROM chunks WHERE doc_id IN (SELECT value FROM json_each(?))"
        params: list[object] = [json.dumps(sorted(documents))]
        if kinds is not None:
            sql += " AND kind IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(sorted(kinds)))
        rows = self._catalogue._rows(sql, params)
        return np.array([r[0] for r in rows], dtype=np.int64)

    def search_keyword(
        self, query: str, k: int, kinds: Collection[str] | None = None, documents: Collection[int] | None = None
    ) -> list[Hit]:
        """Chunks matching any searched word of the query (`keywords.keyword_terms`: not the words common in
        this library; by its Porter stem: "installing" matches "installed"), ranked by FTS5's BM25 (score =
        -bm25, higher is better); only chunks of `kinds` and of the `documents` (ids) when given (filtered
        before the limit).

        Runs on this thread's own read connection (`_reader`), so it neither waits for nor holds up the
        store's lock: the dense lane can search at the same time, and a writer's open transaction stays
        unseen."""
        words = query_words(query)
        if not words or k <= 0:
            return []
        conn = self._reader()
        counted = self._word_counts(conn)
        terms = keyword_terms(words, lambda word: counted.count(conn, word), counted.chunks)
        if not terms:
            return []  # no word of the query is in any chunk
        match = " OR ".join(f'"{t}"' for t in terms)
        if documents is not None:
            return _hits(conn, _scoped_rows(conn, match, k, kinds, documents), kinds)[:k]
        # Ids and scores only, no join: looking up each match's kind in the chunks table costs more than
        # its BM25 score. Most chunks are content, so 2k unfiltered candidates nearly always hold k of
        # `kinds`; when they do not, the filtered query (main's) finds them.
        fetch = k if kinds is None else 2 * k
        postings = sum(counted.count(conn, t) for t in terms)  # counted above: no new query
        rows = self._top_rows(conn, counted, match, fetch, postings)
        hits = _hits(conn, rows, kinds)
        if len(hits) < k and len(rows) == fetch:
            hits = _hits(conn, _scoped_rows(conn, match, k, kinds, None), kinds)
        return hits[:k]

    def _top_rows(
        self, conn: sqlite3.Connection, counted: WordCounts, match: str, fetch: int, postings: int
    ) -> list[tuple[int, float]]:
        """The best `fetch` matches (id, bm25), best first. A search that scores many chunks is split into
        ranges of chunk ids searched at once, one per core (`SPLIT_POSTINGS`): each range's best `fetch`
        holds every chunk of the overall best that lies in it, and FTS5's BM25 weighs each word by its
        count in the whole table whatever range is searched, so the merged list is the one query's."""
        parts = min(MAX_PARTS, os.cpu_count() or 1, postings // SPLIT_POSTINGS) if PARALLEL else 1
        if parts < 2 or counted.last_id <= counted.first_id:
            return conn.execute(_TOP_SQL, (match, fetch)).fetchall()
        span = counted.last_id + 1 - counted.first_id
        bounds = [counted.first_id + span * i // parts for i in range(parts + 1)]
        bounds[0], bounds[-1] = -(2**63), 2**63 - 1  # open ends: chunks committed since the counts are in too

        def part(i: int) -> list[tuple[int, float]]:
            reader = conn if i == 0 else self._reader()  # a pool thread's own connection
            return reader.execute(_PART_SQL, (match, bounds[i], bounds[i + 1], fetch)).fetchall()

        pool = self._keyword_pool_started()
        others = [pool.submit(part, i) for i in range(1, parts)]
        rows = part(0)  # this thread searches the first range meanwhile
        for future in others:
            rows += future.result()
        return sorted(rows, key=lambda row: row[1])[:fetch]

    def _keyword_pool_started(self) -> ThreadPoolExecutor:
        """The threads that search the other ranges of a split keyword search (started on first use,
        shut down with the store)."""
        with _POOL_LOCK:  # not the store's lock, which a long write may hold
            if self.keyword_pool is None:
                self.keyword_pool = ThreadPoolExecutor(MAX_PARTS - 1, thread_name_prefix="footnotes-keyword")
            return self.keyword_pool

    def _word_counts(self, conn: sqlite3.Connection) -> WordCounts:
        """The word counts of the catalogue's current generation (`conn` reads it), new when it changed."""
        row = conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        generation = int(row[0]) if row else 0
        counted = self._counted
        if counted is None or counted.generation != generation:
            # a commit between these two reads only shifts the threshold of a common word a little
            chunks = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
            first, last = (conn.execute(f"SELECT {end}(id) FROM chunks").fetchone()[0] or 0 for end in ("min", "max"))
            counted = self._counted = WordCounts(generation, chunks, first, last)
        return counted

    def _reader(self) -> sqlite3.Connection:
        """This thread's read-only connection to the catalogue, opened on first use and closed with the
        store. WAL lets it read while another connection writes; it sees committed documents only."""
        conn = getattr(self._readers, "conn", None)
        if conn is None:
            folder = self._catalogue.folder
            conn = sqlite3.connect(folder / CATALOGUE, check_same_thread=False, isolation_level=None, timeout=30)
            conn.execute("PRAGMA query_only = ON")
            self._readers.conn = conn
            self._reader_conns.append(conn)  # atomic; not under the store's lock, which a writer may hold
        return conn

    def close(self) -> None:
        """Stop the split searches' threads, then close every thread's read connection."""
        pool, self.keyword_pool = self.keyword_pool, None
        if pool is not None:
            pool.shutdown(wait=True)  # before the connections its threads search on are closed
        with self._catalogue._lock:
            for reader in self._reader_conns:
                reader.close()
            self._reader_conns.clear()


_TOP_SQL = "SELECT rowid, bm25(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts) LIMIT ?"
"""The best k matches, ids and scores only. (``ORDER BY rank`` was measured slower here than naming
bm25, and FTS5 scores every match either way: it has no early exit for a LIMIT.)"""
_PART_SQL = (
    "SELECT rowid, bm25(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH ? AND rowid >= ? AND rowid < ?"
    " ORDER BY bm25(chunks_fts) LIMIT ?"
)
"""The best k matches among a range of chunk ids (FTS5 seeks to the range in each word's postings)."""
SPLIT_POSTINGS = 1_500
"""A keyword search that scores at least twice this many chunks (the searched words' counts summed) is
split into ranges of chunk ids, one per this many, searched at once on as many threads (up to MAX_PARTS
and the cores). FTS5 spends about a microsecond a chunk scoring and sorting, and a split search scores
each chunk once, in parallel only because SQLite's allocation mutex is off (`parallel_sqlite`). Measured
at 100k chunks of bench/scale.py's text on 2 cores, the keyword lane alone: p50/p95 7.3/12.0 ms split
at 1 500, 9.2/15.0 unsplit (at 1 000, 2 000, 3 000 and 5 000 alike within noise); hybrid retrieval, whose
dense lane wants one of the two cores meanwhile, neither gains nor loses there (more cores than
lanes should let it gain; not measured here)."""
MAX_PARTS = 4
"""The most ranges (and threads) one keyword search is split into."""
_POOL_LOCK = threading.Lock()


@dataclass
class WordCounts:
    """In how many chunks of one generation of the catalogue words are, counted once each (up to
    `keywords.count_limit`): a library's common words recur in question after question."""

    generation: int
    chunks: int
    first_id: int = 0
    last_id: int = 0
    """The lowest and highest chunk id: the span a split keyword search divides."""
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, conn: sqlite3.Connection, word: str) -> int:
        """In how many chunks `word` (its stem) is, up to `keywords.count_limit`: walking its postings
        without scoring them costs a small part of what scoring them would."""
        if word not in self.counts:
            sql = "SELECT count(*) FROM (SELECT 1 FROM chunks_fts WHERE chunks_fts MATCH ? LIMIT ?)"
            self.counts[word] = conn.execute(sql, (f'"{word}"', count_limit(self.chunks))).fetchone()[0]
        return self.counts[word]


def _scoped_rows(
    conn: sqlite3.Connection, match: str, k: int, kinds: Collection[str] | None, documents: Collection[int] | None
) -> list[tuple[int, float]]:
    """The best k matches among the chunks of `kinds` and `documents` (each when given): (id, bm25)."""
    sql = "SELECT chunks_fts.rowid, bm25(chunks_fts) FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid"
    params: list[object] = []
    if kinds is not None:
        wanted = sorted(set(kinds))
        sql += f" AND c.kind IN ({','.join('?' * len(wanted))})"
        params += wanted
    if documents is not None:
        sql += " AND c.doc_id IN (SELECT value FROM json_each(?))"
        params.append(json.dumps(sorted(documents)))
    sql += " WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts) LIMIT ?"
    return conn.execute(sql, [*params, match, k]).fetchall()


def _hits(conn: sqlite3.Connection, rows: list[tuple[int, float]], kinds: Collection[str] | None) -> list[Hit]:
    """The rows' chunks (of `kinds` when given) as hits scored -bm25, in the rows' order; one query."""
    ids = [r[0] for r in rows]
    chunks = {row[0]: chunk_of(row) for row in conn.execute(*chunks_query(SQLITE, ids))} if ids else {}
    return [Hit(chunks[i], -score) for i, score in rows if i in chunks and (kinds is None or chunks[i].kind in kinds)]
