"""Search of the chunks: dense (the vector index) and keyword (the FTS5 index, BM25)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np

from indexer.store.keywords import count_limit, keyword_terms, query_words
from indexer.store.reads import CatalogueReads, read_chunks
from indexer.store.schema import CATALOGUE
from indexer.store.vector_cache import VectorCache
from indexer.types import Hit


class Search(VectorCache, CatalogueReads):
    """Dense and keyword search, optionally limited to chunk kinds and documents."""

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
        index = self.vectors()
        if documents is not None:
            found = index.search(query_vector, k, among=self._chunk_ids_of(documents, kinds))
            chunks = self.chunks_by_id([i for i, _ in found])
            return [Hit(chunks[i], score) for i, score in found if i in chunks]
        fetch = k if kinds is None else min(len(index), 2 * k)
        while True:
            found = index.search(query_vector, fetch)
            chunks = self.chunks_by_id([i for i, _ in found])
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
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
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
        rows = conn.execute(_TOP_SQL, (match, fetch)).fetchall()
        hits = _hits(conn, rows, kinds)
        if len(hits) < k and len(rows) == fetch:
            hits = _hits(conn, _scoped_rows(conn, match, k, kinds, None), kinds)
        return hits[:k]

    def _word_counts(self, conn: sqlite3.Connection) -> WordCounts:
        """The word counts of the catalogue's current generation (`conn` reads it), new when it changed."""
        row = conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        generation = int(row[0]) if row else 0
        counted = self._counted
        if counted is None or counted.generation != generation:
            # a commit between these two reads only shifts the threshold of a common word a little
            counted = self._counted = WordCounts(generation, conn.execute("SELECT count(*) FROM chunks").fetchone()[0])
        return counted

    def _reader(self) -> sqlite3.Connection:
        """This thread's read-only connection to the catalogue, opened on first use and closed with the
        store. WAL lets it read while another connection writes; it sees committed documents only."""
        conn = getattr(self._readers, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.folder / CATALOGUE, check_same_thread=False, isolation_level=None, timeout=30)
            conn.execute("PRAGMA query_only = ON")
            self._readers.conn = conn
            self._reader_conns.append(conn)  # atomic; not under the store's lock, which a writer may hold
        return conn


_TOP_SQL = "SELECT rowid, bm25(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts) LIMIT ?"
"""The best k matches, ids and scores only. (``ORDER BY rank`` was measured slower here than naming
bm25, and FTS5 scores every match either way: it has no early exit for a LIMIT.)"""


@dataclass
class WordCounts:
    """In how many chunks of one generation of the catalogue words are, counted once each (up to
    `keywords.count_limit`): a library's common words recur in question after question."""

    generation: int
    chunks: int
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
    chunks = read_chunks(conn, [r[0] for r in rows])
    return [Hit(chunks[i], -score) for i, score in rows if i in chunks and (kinds is None or chunks[i].kind in kinds)]
