"""The words of a question that the keyword lane searches for.

A keyword search costs one BM25 score per chunk that holds any of its words, so its time grows with the
postings of the words searched. A word in a large share of the library's chunks has the longest postings
and BM25 weighs it near nil (inverse document frequency log((N - n + 0.5) / (n + 0.5)) is 0.7 at a third
of the chunks, against 5 to 10 for a rare word), so it is left out. What is common is measured in the
library, not taken from a list of English stop words: in a small library "how" and "what" are rare
enough to matter (on the Debian FAQ, 306 chunks, a fixed stop list cost page-strict hit@1: paraphrase
set 77.8 % to 70.4 %, public set 93.3 % to 91.7 %; leaving out the words in a third of its chunks cost
nothing), while in a large one "the" is in every chunk.

Both backends search by this rule, each counting a word's chunks its own way: SQLite in its FTS5 index
(`indexer.store.sqlite.search.WordCounts`), PostgreSQL from its statistics (`indexer.store.postgres.keywords`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

MAX_TERMS = 16
"""The most words one keyword search looks for (the rarest). The Debian FAQ's questions hold 11 to 12
distinct words on average, up to 26: a cap of 8 or 12 cost page-strict hit@1 on the paraphrase set
(71.6 % and 76.5 % against 77.8 %), 16 nothing."""
MAX_WORDS = 32
"""The most words of a question weighed at all (the longest, longer words being the rarer ones)."""
MAX_POSTINGS = 10_000
"""The most chunks one keyword search scores, summed over its words (the rarest first), and the most a
word may be in to be searched at all. FTS5 scores every chunk that holds any word searched, about 1.5
to 2 microseconds each on 2 cores with the OR and the sort (bench/scale.py: 27k postings, 50 ms), and
has no early exit for a LIMIT, so the budget bounds the lane's time: about 15 ms. It bites only in
libraries past some 30 000 chunks, where it leaves out the words that are in many chunks and weigh
little (in 10 000 of 100 000 chunks a word's inverse document frequency is 2.3, against 5 to 10 for a
rare one). Measured at 100k chunks of the bench's Zipfian text (`bench/scale.py --budgets`): a budget
of 100k, 20k, 10k gives keyword p95 145, 39, 26 ms; the query's own sentence stays in the keyword top
10 for 100, 98, 94 % of the queries and in hybrid's 5 passages for 100 % at each budget."""
COMMON_SHARE = 3
"""A word in more than 1/COMMON_SHARE of the chunks is common: left out of the search."""
COMMON_FLOOR = 1_000
"""Nor is a word in fewer chunks than this common, whatever its share: scoring it costs little, and a small
library keeps the ranking it had (a contents page that holds every word of a question still ranks first
by keywords alone, for `indexer.pagekind` to keep it out of answers)."""

_WORD = re.compile(r"\w+")


def query_words(query: str, limit: int = MAX_WORDS) -> list[str]:
    """The distinct lower-case words of `query`, in its order; its `limit` longest when it has more."""
    words = list(dict.fromkeys(_WORD.findall(query.lower())))
    if len(words) <= limit:
        return words
    kept = set(sorted(words, key=len, reverse=True)[:limit])  # a stable sort: earlier words win ties
    return [w for w in words if w in kept]


def common_from(chunks: int) -> int:
    """How many chunks (of a library of `chunks`) a word must be in to be common."""
    return max(chunks // COMMON_SHARE + 1, COMMON_FLOOR)


def count_limit(chunks: int) -> int:
    """How far a word's chunks need counting in a library of `chunks`: to the common threshold, or just
    past the budget, whichever comes first (a word past either is not searched, so its exact count is
    never needed, and counting stops early: in a million chunks "the" is not walked to the end)."""
    return min(common_from(chunks), MAX_POSTINGS + 1)


def keyword_terms(words: list[str], frequency: Callable[[str], int], chunks: int) -> list[str]:
    """The words to search for, in the query's order: those in no chunk left out, and those in
    `count_limit(chunks)` chunks or more (`frequency`: in how many chunks a word is, counted up to that
    limit); then the rarest, at most MAX_TERMS of them and as many as hold MAX_POSTINGS chunks between
    them. When every word is common: in a small library, where the limit is the common threshold, all
    of them (a question of common words still finds something); in a large one, none (each would cost
    more than the budget, and the dense lane answers such a question)."""
    counts: Mapping[str, int] = {w: frequency(w) for w in words}
    present = [w for w in words if counts[w] > 0]  # a word in no chunk changes no score
    limit = count_limit(chunks)
    rare = [w for w in present if counts[w] < limit] or (present if limit == common_from(chunks) else [])
    kept: set[str] = set()
    postings = 0
    for word in sorted(rare, key=lambda w: counts[w])[:MAX_TERMS]:  # a stable sort: earlier words win ties
        if kept and postings + counts[word] > MAX_POSTINGS:
            break
        kept.add(word)
        postings += counts[word]
    return [w for w in rare if w in kept]
