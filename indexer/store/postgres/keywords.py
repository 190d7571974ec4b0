"""Which words of a question the PostgreSQL keyword lane searches: the rule both backends share
(`indexer.store.keywords.keyword_terms`: the question's rare words, the rarest first, within a budget of
postings), applied to the English stems the tsvector column holds, with each stem's chunk count
estimated cheaply.

``ts_rank`` reads and scores the tsvector of every chunk that holds any word searched, about 3 us a
chunk on 2 cores (counting the same chunks: 0.7 us), so the lane's time grows with those words'
postings. Measured on bench/scale.py's PostgreSQL database (100k chunks of its Zipfian text; 200
questions' first 12 words, k=30, content chunks): every word of a question (up to 16), tens of
thousands of chunks scored: keyword p50/p95 301/429 ms, the question's own sentence in the top 10 for
72.0 %; its rare words within the 10 000 postings: 25/38 ms, 72.5 % (8 questions of common words only
search nothing, and hybrid retrieval keeps the own sentence among its 5 passages for 99.5 %, against
100 %). The budget is the SQLite store's; ``ts_rank`` makes it cost about twice FTS5's time here.

How many chunks hold a stem: for the stems the planner's statistics of the tsvector column list
(``pg_stats.most_common_elems``: ANALYZE's most frequent lexemes in its sample of up to 30 000 chunks,
with the share of chunks holding each), that share of the chunks; counting those through the GIN index
instead costs 10 to 25 ms a stem at 100k chunks. A stem not listed is rarer than the least frequent
listed one (at 100k chunks of the bench's text: in under 0.8 % of the chunks), so it is counted through
the GIN index, up to `count_limit`, for about 1 ms. Statistics and counts are kept per store and read
again once ANALYZE (autovacuum's, after a tenth of the chunks changed, or anyone's) or VACUUM has run
since: until then the chunk count they were taken at stands."""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from indexer.store.keywords import common_from, count_limit

STATE_SQL = """
SELECT array(SELECT lexeme FROM unnest(to_tsvector('english', %s)) ORDER BY positions[1]),
       c.reltuples, pg_stat_get_last_analyze_time(c.oid), pg_stat_get_last_autoanalyze_time(c.oid)
FROM pg_class c WHERE c.oid = 'footnotes_chunks'::regclass
"""
"""The question's stems in its order (stop words gone), and the chunks table's size as of its last
ANALYZE or VACUUM (``reltuples``, -1 before the first) with the times of its last ANALYZEs: one round trip."""

_STATS_SQL = """
SELECT s.most_common_elems::text::text[], s.most_common_elem_freqs
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname
WHERE c.oid = 'footnotes_chunks'::regclass AND s.attname = 'tsv'
"""
"""The listed stems and the share of chunks holding each (the listed shares are followed by their
minimum and maximum, which zip leaves out)."""

_COUNT_SQL = """
SELECT (SELECT count(*) FROM (SELECT 1 FROM footnotes_chunks c WHERE c.tsv @@ u.q::tsquery LIMIT %s) s)
FROM unnest(%s::text[]) WITH ORDINALITY u(q, i) ORDER BY u.i
"""
"""How many chunks hold each stem, up to a limit, through the GIN index (a bitmap scan each)."""


def searches_every_word(chunks: float) -> bool:
    """True for a library searched as before the budget: one of unknown size (never analyzed or vacuumed),
    or one under some 30 000 chunks (3 x `MAX_POSTINGS`), where `count_limit` is the common threshold
    and no word is left out for its postings; there every word of the question is searched (its 16
    longest), stop words aside, and no count is needed."""
    return chunks < 0 or count_limit(int(chunks)) == common_from(int(chunks))


def tsquery_term(lexeme: str) -> str:
    """A lexeme as a quoted tsquery operand, matched as it is (not stemmed again)."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


@dataclass
class LexemeCounts:
    """In how many chunks stems are, as of one ANALYZE (`stamp`) of a library of `chunks` chunks: the
    listed stems' shares from its statistics, the others counted once each, when first asked. Shared by
    the keyword searches of every thread, each on its own connection: the store guards it with a lock
    (`PgReads._counts_lock`), not this class."""

    stamp: tuple
    chunks: int
    shares: dict[str, float]
    counted: dict[str, int] = field(default_factory=dict)

    @classmethod
    def read(cls, conn: psycopg.Connection, stamp: tuple, chunks: float) -> LexemeCounts:
        """The statistics of the chunks' tsvector column (none before an ANALYZE: every stem is counted)."""
        row = conn.execute(_STATS_SQL).fetchone()
        shares = dict(zip(row[0], row[1], strict=False)) if row and row[0] and row[1] else {}
        return cls(stamp, int(chunks), shares)

    def count_unlisted(self, conn: psycopg.Connection, lexemes: list[str]) -> None:
        """Count, in one statement, the stems of `lexemes` neither listed nor counted before."""
        todo = [lex for lex in dict.fromkeys(lexemes) if lex not in self.shares and lex not in self.counted]
        if todo:
            rows = conn.execute(_COUNT_SQL, (count_limit(self.chunks), [tsquery_term(t) for t in todo])).fetchall()
            self.counted.update(zip(todo, (int(r[0]) for r in rows), strict=True))

    def of(self, lexeme: str) -> int:
        """In how many chunks `lexeme` is: its share of the chunks when listed (at least one), else its
        count (`count_unlisted` first)."""
        share = self.shares.get(lexeme)
        if share is not None:
            return max(1, round(share * self.chunks))
        return self.counted[lexeme]
