"""Reads and searches of a library on PostgreSQL: catalogue rows (the reads both backends share, in
PostgreSQL's dialect), pgvector nearest neighbours and full-text (tsvector) keyword search. Each read is one
statement, so it sees whole documents only.

The keyword search runs on a read connection of its thread's own (`PgReads._reader`), not on the store's
connection behind its lock: the retriever's keyword lane then searches while the dense lane does, and
neither a writer holding the lock holds it up nor its open transaction shows through (as the SQLite
store's keyword lane, `indexer.store.sqlite.search`)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np
import psycopg

from indexer.pgurl import redacted
from indexer.store.errors import StoreError, database_todo
from indexer.store.keywords import MAX_TERMS, keyword_terms, query_words
from indexer.store.postgres.keywords import STATE_SQL, LexemeCounts, searches_every_word, tsquery_term
from indexer.store.reads import CHUNK_COLUMNS, CatalogueReads, Dialect, chunk_of
from indexer.types import Hit

T = TypeVar("T")

_MAX_EF_SEARCH = 1000
"""pgvector's ceiling for ``hnsw.ef_search``."""
EF_SEARCH = 350
"""The fewest candidates an HNSW search keeps (``hnsw.ef_search``; 4 k when more): the smallest measured
that finds 95 % of the exact 10 nearest chunks. Measured on 100k chunks (the bench's synthetic vectors
around real MiniLM embeddings; pgvector 0.6.2, HNSW m=16, ef_construction=64; 200 queries, k=10, 2 shared
cores, p95 within about 2 ms from run to run), ef_search: recall@10, dense p95: 40 (pgvector's default,
this store's before): 0.792, 3.0 ms; 64: 0.847, 3.9 ms; 100: 0.883, 4.8 ms; 200: 0.941, 6.6 ms; 300: 0.946,
8.7 ms; 350: 0.954, 10.5 ms; 400: 0.961, 12.8 ms; 600: 0.978, 17.2 ms; 1000: 0.987, 26 ms. Recall at a
given ef_search falls as a library grows, so a much larger one may need more."""


def connect(url: str) -> psycopg.Connection:
    """A connection to the library database in autocommit (each statement sees the documents committed
    when it starts); one that cannot be made is a `StoreError` that names the database, not its password."""
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise StoreError(
            f"cannot reach the library database at {redacted(url)}: {exc}", database_todo(redacted(url))
        ) from exc


def vector_literal(vector: np.ndarray) -> str:
    """A vector as pgvector's text form; float32 values printed as float64 read back exactly."""
    return "[" + ",".join(map(str, np.asarray(vector, dtype=np.float32).tolist())) + "]"


def parse_vector(text: str) -> np.ndarray:
    """pgvector's text form back to a float32 array."""
    return np.array(text[1:-1].split(","), dtype=np.float32) if len(text) > 2 else np.zeros(0, np.float32)


class PostgresDialect(Dialect):
    """The catalogue's SQL in PostgreSQL: ``%s`` placeholders, ``footnotes_`` tables, pgvector's text form."""

    mark = "%s"
    prefix = "footnotes_"
    path_order = 'd.path COLLATE "C"'
    vector_column = "embedding::text"
    skip_duplicates = ("", " ON CONFLICT DO NOTHING")
    returning_id = " RETURNING id"

    def inserted_id(self, cursor: psycopg.Cursor) -> int:
        """The id the statement returned."""
        return int(cursor.fetchone()[0])

    def ids_in(self, column: str, ids: list[int]) -> tuple[str, list[Any]]:
        """``column = ANY(%s)``: the ids as one array parameter."""
        return f"{column} = ANY(%s)", [list(ids)]

    def starts_with(self, column: str, prefix: str) -> tuple[str, list[Any]]:
        """``starts_with``, which compares bytes, whatever the database's collation."""
        return f"starts_with({column}, %s)", [prefix]

    def vector(self, value: str) -> np.ndarray:
        """pgvector's text form as a float32 array."""
        return parse_vector(value)


POSTGRES = PostgresDialect()


class PgReads(CatalogueReads):
    """Catalogue reads (`indexer.store.reads`, in PostgreSQL's dialect) and dense search over the store's
    connection, under its lock; keyword search on each thread's own read connection."""

    dialect = POSTGRES

    url: str
    _conn: psycopg.Connection
    _lock: threading.RLock
    _readers: dict[threading.Thread, tuple[psycopg.Connection, threading.Lock]]
    """Each thread's read connection for keyword search, with the lock held while it is used (`_reader`)."""
    _readers_lock: threading.Lock
    """Guards `_readers` and `_readers_closed`; never held while a statement runs."""
    _readers_closed: bool
    """True once the store is closed: no read connection is opened after."""
    _counts_lock: threading.Lock
    """Guards `_lexeme_counts`, which keyword searches on several threads share."""
    _lexeme_counts: LexemeCounts | None = None
    """The keyword lane's chunk counts of stems, as of the library's last ANALYZE."""
    _changing: bool = False
    """True while a write's transaction is open on the store's connection (`PgStore._change`): a read in
    it must not go on on a new connection, outside the transaction."""

    @contextmanager
    def _reader(self) -> Iterator[psycopg.Connection]:
        """This thread's read connection (autocommit: it sees committed documents only, never a writer's
        open transaction), opened on first use, again after it broke, and closed with the store (or when
        another thread opens one after its own thread ended). Held while the caller reads, so that
        `_close_readers` waits for the statement to end rather than close the connection under it."""
        thread = threading.current_thread()
        with self._readers_lock:
            reader = self._readers.get(thread)
        if reader is None or reader[0].closed:
            reader = self._open_reader(thread)
        conn, lock = reader
        with lock:
            if conn.closed:  # closed with the store since it was looked up
                raise self._closed_error()
            yield conn

    def _open_reader(self, thread: threading.Thread) -> tuple[psycopg.Connection, threading.Lock]:
        """A new read connection for `thread`, replacing its broken one; those of ended threads are closed."""
        if self._readers_closed:
            raise self._closed_error()
        reader = (connect(self.url), threading.Lock())
        with self._readers_lock:
            closed = self._readers_closed
            stale = []
            if not closed:
                stale = [self._readers.pop(t) for t in list(self._readers) if t is thread or not t.is_alive()]
                self._readers[thread] = reader
        if closed:  # the store was closed while this one was connecting
            reader[0].close()
            raise self._closed_error()
        for conn, _ in stale:
            conn.close()  # no thread reads on them: theirs ended, or it broke
        return reader

    def _closed_error(self) -> StoreError:
        """What a read on a closed store raises."""
        return StoreError(f"the library at {redacted(self.url)} is closed", database_todo(redacted(self.url)))

    def _close_readers(self) -> None:
        """Close every thread's read connection, each once its statement ends; none is opened after."""
        with self._readers_lock:
            self._readers_closed = True
            readers = list(self._readers.values())
            self._readers.clear()
        for conn, lock in readers:
            with lock:
                conn.close()

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Every row of one statement on the store's connection (`_read`)."""
        return self._read(lambda conn: conn.execute(sql, params).fetchall())

    def _row(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        """The first row of one statement on the store's connection (`_read`), or None."""
        return self._read(lambda conn: conn.execute(sql, params).fetchone())

    def _read(self, read: Callable[[psycopg.Connection], T]) -> T:
        """`read` run on the store's connection, under its lock. A connection the server dropped since it
        was last used (a restart, a failover, an idle timeout) shows only when used: `read` then runs once
        more on a new one (a read changes nothing, so running it again is safe)."""
        with self._lock:
            try:
                return read(self._conn)
            except psycopg.OperationalError:
                if self._changing or not self._conn.broken:  # in a write: the transaction is lost, and says so
                    if self._readers_closed:
                        raise self._closed_error() from None
                    raise
                self._reconnect()
                return read(self._conn)

    def _reconnect(self) -> None:
        """Replace the store's broken connection (the caller holds the lock); never once the store is closed."""
        if self._readers_closed:
            raise self._closed_error()
        self._conn.close()
        self._conn = connect(self.url)

    @property
    def embedder(self) -> tuple[str, int] | None:
        """(name, dimension) of the model that built the library, if any."""
        rows = dict(self._rows("SELECT key, value FROM footnotes_meta WHERE key IN ('embedder_name', 'embedder_dim')"))
        name, dim = rows.get("embedder_name"), rows.get("embedder_dim")
        return (name, int(dim)) if name and dim else None

    # -- search ---------------------------------------------------------------------------------
    def search_dense(
        self,
        query_vector: np.ndarray,
        k: int,
        kinds: Collection[str] | None = None,
        documents: Collection[int] | None = None,
    ) -> list[Hit]:
        """Nearest chunks by cosine similarity (the HNSW index), of `kinds` and `documents` only when given.

        Within `documents` the search is exact (index scans off): an approximate graph walk filtered
        afterwards can come back short of k; with `kinds` alone, the walk looks at more candidates."""
        if k <= 0:
            return []
        where, params = _filters(kinds, documents)
        literal = vector_literal(query_vector)
        sql = (
            f"SELECT {CHUNK_COLUMNS}, 1 - (c.embedding <=> %s::vector) FROM footnotes_chunks c"
            f" JOIN footnotes_documents d ON d.id = c.doc_id {where} ORDER BY c.embedding <=> %s::vector LIMIT %s"
        )
        setting = (
            "enable_indexscan = off"
            if documents is not None
            else f"hnsw.ef_search = {min(_MAX_EF_SEARCH, max(EF_SEARCH, 4 * k))}"
        )

        def search(conn: psycopg.Connection) -> list[tuple]:
            with conn.transaction():
                conn.execute(f"SET LOCAL {setting}")
                return conn.execute(sql, [literal, *params, literal, k]).fetchall()

        return [Hit(chunk_of(r), float(r[9])) for r in self._read(search)]

    def search_keyword(
        self, query: str, k: int, kinds: Collection[str] | None = None, documents: Collection[int] | None = None
    ) -> list[Hit]:
        """Chunks matching any searched word of the query by its English stem ("installing" matches
        "installed"), ranked by ``ts_rank`` (higher is better); only chunks of `kinds` and `documents` when
        given. The words searched: in a library of some 30 000 chunks or more, its rare ones within a
        budget of postings (`keyword_terms`, as the SQLite store; counts from `indexer.store.postgres.keywords`);
        in a smaller one, or one not yet analyzed, every word (its 16 longest), stop words aside.

        Runs on this thread's own read connection (`_reader`), so it neither waits for nor holds up the
        store's lock: the dense lane can search at the same time, and a writer's open transaction stays
        unseen."""
        try:
            return self._search_keyword(query, k, kinds, documents)
        except psycopg.OperationalError:
            with self._readers_lock:
                reader = self._readers.get(threading.current_thread())
            if reader is None or not reader[0].broken:
                raise
            # the server dropped this thread's read connection since its last search: `_reader` opens a new one
            return self._search_keyword(query, k, kinds, documents)

    def _search_keyword(
        self, query: str, k: int, kinds: Collection[str] | None, documents: Collection[int] | None
    ) -> list[Hit]:
        words = query_words(query)
        if not words or k <= 0:
            return []
        where, params = _filters(kinds, documents)
        where = f"{where} AND" if where else "WHERE"
        with self._reader() as conn:
            lexemes, *state = conn.execute(STATE_SQL, (" ".join(words),)).fetchone()
            if searches_every_word(state[0]):
                # words only, quoted: the query can hold no tsquery operator; the English configuration
                # drops the stop words
                text = " | ".join("'" + t.replace("'", "") + "'" for t in query_words(query, MAX_TERMS))
                tsquery = "to_tsquery('english', %s)"
            else:
                with self._counts_lock:  # one thread reads the statistics or counts a stem, the others wait
                    counts = self._lexeme_counts
                    if counts is None or counts.stamp != tuple(state):
                        counts = self._lexeme_counts = LexemeCounts.read(conn, tuple(state), state[0])
                    counts.count_unlisted(conn, lexemes)
                    terms = keyword_terms(lexemes, counts.of, counts.chunks)
                if not terms:
                    return []  # no stem of the question is in any chunk, or each is in too many
                text = " | ".join(map(tsquery_term, terms))
                tsquery = "CAST(%s AS tsquery)"
            # the best k first, from the chunks alone, then their documents: joined before the LIMIT, the
            # planner could walk every chunk in document order (a merge join) to rank a few thousand
            sql = (
                f"SELECT {CHUNK_COLUMNS}, r.rank FROM (SELECT c.id, ts_rank(c.tsv, q) AS rank"
                f" FROM footnotes_chunks c, {tsquery} q {where} c.tsv @@ q ORDER BY rank DESC, c.id LIMIT %s) r"
                " JOIN footnotes_chunks c ON c.id = r.id JOIN footnotes_documents d ON d.id = c.doc_id"
                " ORDER BY r.rank DESC, c.id"
            )
            rows = conn.execute(sql, [text, *params, k]).fetchall()
        return [Hit(chunk_of(r), float(r[9])) for r in rows]


def _filters(kinds: Collection[str] | None, documents: Collection[int] | None) -> tuple[str, list[Any]]:
    """A WHERE clause (and its parameters) limiting chunks to kinds and documents."""
    clauses, params = [], []
    if kinds is not None:
        clauses.append("c.kind = ANY(%s)")
        params.append(sorted(set(kinds)))
    if documents is not None:
        clauses.append("c.doc_id = ANY(%s)")
        params.append(sorted(set(documents)))
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), params
