"""Hybrid retrieval: dense (FAISS) and keyword (FTS5 BM25) candidates fused by a weighted sum of their
scores (or by reciprocal rank), capped per document, adjacent chunks of one page merged, optionally
reranked by a cross-encoder.

Score fusion, with the Porter-stemmed keyword index, beats reciprocal rank on questions worded unlike
the text (Debian FAQ, page-strict hit@1, issue #9: paraphrase set 59 % -> 78 %, public set 93 %
unchanged): rank fusion throws away how far apart two candidates are, so a chunk the embedding clearly
prefers loses to one ranked a little higher by a keyword list that matched only common words.

Only content chunks are candidates for an answer: tables of contents, indexes, reference lists and
lists of figures (marked at indexing by `indexer.pagekind`) hold every keyword of a book but answer
nothing. `footnotes search` may still show them, after the content passages."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from indexer.location import describe
from indexer.pagekind import CONTENT
from indexer.store import LibraryStore
from indexer.types import Chunk, Hit
from rag.scope import Scope

EmbedFn = Callable[[Sequence[str]], np.ndarray]
CONTENT_ONLY = frozenset({CONTENT})
_KEYWORD_LANE = ThreadPoolExecutor(max_workers=2, thread_name_prefix="keyword-lane")
"""Shared by every retriever (one is made per question): a thread per keyword search at a time, two for
two windows or an MCP client asking at once. Each thread reads on its own connection (SQLite or PostgreSQL)."""


@dataclass(frozen=True)
class RetrievalSettings:
    """How many passages are fetched and kept."""

    top_k: int = 5
    candidates: int = 30
    per_document: int = 4
    rrf_k: int = 60
    merge_gap_chars: int = 40
    mode: str = "hybrid"
    """``hybrid``, ``dense`` or ``keyword``."""
    fusion: str = "score"
    """``score`` (weighted sum, see `score_fusion`) or ``rrf`` (reciprocal rank, `rrf_k`)."""
    dense_weight: float = 0.75
    """Share of the cosine similarity in a hybrid score; the keyword share is BM25 over the query's best
    BM25. Measured on the Debian FAQ: 0.7 to 0.8 is a plateau, 0.65 and 0.85 fall off."""
    resident_bonus: float = 0.05
    """Added to the score of a passage kept from an earlier turn (score fusion), so a follow-up question
    stays with the passages under discussion when they are about as good as new ones."""
    concurrent_lanes: bool = True
    """In hybrid mode, search keywords on a worker thread while the query is embedded and the vector
    index searched (SQLite, FAISS and the embedder release the GIL); False runs the lanes one after the
    other, as before issue #13 (bench/scale.py's "main" rows)."""


def reciprocal_rank_fusion(rankings: Sequence[Sequence[Hit]], k: int = 60) -> list[Hit]:
    """Fuse ranked lists: each chunk scores the sum of 1 / (k + rank) over the lists it appears in."""
    scores: dict[int, float] = {}
    chunks: dict[int, Chunk] = {}
    for ranking in rankings:
        for rank, hit in enumerate(ranking, start=1):
            key = _key(hit.chunk)
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
            chunks.setdefault(key, hit.chunk)
    order = sorted(scores, key=lambda key: scores[key], reverse=True)
    return [Hit(chunks[key], scores[key]) for key in order]


def score_fusion(
    dense: Sequence[Hit],
    keyword: Sequence[Hit],
    dense_weight: float,
    similarity: Mapping[int, float] | None = None,
) -> list[Hit]:
    """Fuse by score: each candidate scores ``w * cosine + (1 - w) * bm25 / best bm25``.

    `dense` hits carry their cosine similarity and `keyword` hits their BM25 (higher is better); a
    keyword-only candidate takes its cosine from `similarity` (chunk id -> cosine), 0 when absent. A
    chunk missing from the keyword list has no keyword share. Best first."""
    similarity = dict(similarity or {})
    best_bm25 = max((h.score for h in keyword), default=0.0)
    cosine: dict[int, float] = {}
    bm25: dict[int, float] = {}
    chunks: dict[int, Chunk] = {}
    for hit in dense:
        key = _key(hit.chunk)
        cosine[key] = hit.score
        chunks.setdefault(key, hit.chunk)
    for hit in keyword:
        key = _key(hit.chunk)
        bm25[key] = hit.score / best_bm25 if best_bm25 > 0 else 0.0
        chunks.setdefault(key, hit.chunk)
    scores = {
        key: dense_weight * cosine.get(key, similarity.get(key, 0.0)) + (1.0 - dense_weight) * bm25.get(key, 0.0)
        for key in chunks
    }
    order = sorted(scores, key=lambda key: scores[key], reverse=True)
    return [Hit(chunks[key], scores[key]) for key in order]


def _key(chunk: Chunk) -> int:
    return chunk.id if chunk.id is not None else id(chunk)


KeywordLane = Callable[[], list[Hit]]
"""Collects a keyword search's hits: waits for the worker thread's, or searches there and then."""


class CrossEncoderReranker:
    """Reorders passages by a local sentence-transformers cross-encoder's relevance score."""

    def __init__(self, model_path: Path, device: str | None = None) -> None:
        from sentence_transformers import CrossEncoder

        self.model = CrossEncoder(str(model_path), device=device, local_files_only=True)

    def rerank(self, query: str, hits: Sequence[Hit]) -> list[Hit]:
        """Hits sorted by the cross-encoder's score for (query, passage), best first."""
        if not hits:
            return []
        scores = self.model.predict([(query, h.chunk.text) for h in hits], show_progress_bar=False)
        ranked = sorted(zip(hits, scores, strict=True), key=lambda pair: float(pair[1]), reverse=True)
        return [Hit(hit.chunk, float(score)) for hit, score in ranked]


class Retriever:
    """Finds the passages of a library that best answer a query."""

    def __init__(
        self,
        store: LibraryStore,
        embed: EmbedFn,
        settings: RetrievalSettings | None = None,
        reranker: CrossEncoderReranker | None = None,
    ) -> None:
        self.store = store
        self.embed = embed
        self.settings = settings or RetrievalSettings()
        self.reranker = reranker

    def dense(self, query: str, k: int, kinds: Collection[str] | None = None) -> list[Hit]:
        """Nearest chunks by embedding (of `kinds` only, when given)."""
        return self.store.search_dense(self.embed([query])[0], k, kinds)

    def keyword(self, query: str, k: int, kinds: Collection[str] | None = None) -> list[Hit]:
        """Best chunks by BM25 (of `kinds` only, when given)."""
        return self.store.search_keyword(query, k, kinds)

    def retrieve(
        self,
        query: str,
        resident: Sequence[Hit] = (),
        include_noncontent: bool = False,
        scope: Scope | None = None,
        vector: np.ndarray | None = None,
    ) -> list[Hit]:
        """The top passages for a query (`vector`: its embedding, when the caller has it already);
        `resident` passages (kept from earlier turns) join the fusion.

        Only content passages are returned while the library has any. With `include_noncontent` (for
        `footnotes search`), the navigation passages (``hit.chunk.kind``: toc, index, bibliography,
        lists) that rank among the top passages of all kinds follow the content ones, demoted. With a
        `scope`, every candidate (resident ones too) comes from the documents in it, none from others."""
        documents = scope.document_ids(self.store) if scope is not None else None
        if documents is not None and not documents:
            return []
        keyword = self._start_keyword(query, CONTENT_ONLY, documents)  # searches while the query is embedded
        if self.settings.mode not in ("hybrid", "dense"):
            vector = None
        elif vector is None:
            vector = self.embed([query])[0]
        hits = self._ranked(query, vector, resident, CONTENT_ONLY, documents=documents, keyword=keyword)
        if not hits and not self.store.has_kind(CONTENT):  # nothing but navigation pages: better than none
            return self._ranked(query, vector, resident, None, documents=documents)
        if include_noncontent:
            others = self._ranked(query, vector, resident, None, rerank=False, documents=documents)
            hits += [h for h in others if h.chunk.kind != CONTENT]
        return hits

    def _ranked(
        self,
        query: str,
        vector: np.ndarray | None,
        resident: Sequence[Hit],
        kinds: Collection[str] | None,
        rerank: bool = True,
        documents: Collection[int] | None = None,
        keyword: KeywordLane | None = None,
    ) -> list[Hit]:
        """Fuse, rerank, cap and merge the candidates of `kinds` (all kinds when None) and `documents`
        (all when None); the filters apply to every candidate list, before fusion and the top_k cut.
        `keyword`: the keyword lane of these kinds and documents when it was started already."""
        s = self.settings
        fused = self._fused(query, vector, resident, kinds, documents, keyword)
        if rerank and self.reranker is not None:
            fused = self.reranker.rerank(query, fused[: s.candidates])
        capped = _cap_per_document(fused, s.per_document)
        return self._merge_adjacent(capped[: s.top_k])

    def candidates(self, query: str, kinds: Collection[str] | None = CONTENT_ONLY) -> list[Hit]:
        """Every fused candidate of a query, best first, before reranking, capping and merging."""
        vector = self.embed([query])[0] if self.settings.mode in ("hybrid", "dense") else None
        return self._fused(query, vector, (), kinds)

    def _fused(
        self,
        query: str,
        vector: np.ndarray | None,
        resident: Sequence[Hit],
        kinds: Collection[str] | None,
        documents: Collection[int] | None = None,
        lane: KeywordLane | None = None,
    ) -> list[Hit]:
        """The dense and keyword candidates (and the `resident` ones) of `kinds` and `documents` fused; the
        keyword lane (`lane` when started before) searches on a worker thread while the dense one runs."""
        s = self.settings
        lane = lane or self._start_keyword(query, kinds, documents)
        dense = self.store.search_dense(vector, s.candidates, kinds, documents) if vector is not None else []
        keyword = lane()
        kept = [
            h
            for h in resident
            if (kinds is None or h.chunk.kind in kinds) and (documents is None or h.chunk.doc_id in documents)
        ]
        if s.fusion == "rrf":
            return reciprocal_rank_fusion([ranking for ranking in (dense, keyword, kept) if ranking], s.rrf_k)
        weight = s.dense_weight if vector is not None and s.mode == "hybrid" else (1.0 if vector is not None else 0.0)
        similarity = self._cosines(vector, [*keyword, *kept], dense)
        fused = score_fusion(dense, keyword, weight, similarity)
        if not kept:
            return fused
        return self._with_residents(fused, kept, weight, similarity)

    def _start_keyword(
        self, query: str, kinds: Collection[str] | None, documents: Collection[int] | None
    ) -> KeywordLane:
        """The keyword candidates of `kinds` and `documents`, to be collected by calling the result: in
        hybrid mode with `concurrent_lanes` they are being searched on a worker thread already; else they
        are searched when called (none outside the hybrid and keyword modes)."""
        s = self.settings
        if s.mode not in ("hybrid", "keyword"):
            return list

        def search() -> list[Hit]:
            return self.store.search_keyword(query, s.candidates, kinds, documents)

        if s.mode == "hybrid" and s.concurrent_lanes:
            return _KEYWORD_LANE.submit(search).result
        return search

    def _cosines(self, vector: np.ndarray | None, hits: Sequence[Hit], known: Sequence[Hit]) -> dict[int, float]:
        """Cosine similarity to the query of the chunks of `hits` that `known` (dense hits) lacks."""
        if vector is None:
            return {}
        seen = {h.chunk.id for h in known}
        ids = list(dict.fromkeys(h.chunk.id for h in hits if h.chunk.id is not None and h.chunk.id not in seen))
        return {i: float(np.dot(v, vector)) for i, v in self.store.chunk_vectors(ids).items()}

    def _with_residents(
        self, fused: list[Hit], kept: Sequence[Hit], weight: float, similarity: Mapping[int, float]
    ) -> list[Hit]:
        """`fused` with the resident passages in it, each scored as a candidate plus `resident_bonus`; a
        resident that is no dense or keyword candidate scores its cosine from `similarity`."""
        scores = {_key(h.chunk): h.score for h in fused}
        chunks = {_key(h.chunk): h.chunk for h in fused}
        for hit in kept:
            key = _key(hit.chunk)
            base = scores.get(key, weight * similarity.get(key, 0.0))
            scores[key] = base + self.settings.resident_bonus
            chunks.setdefault(key, hit.chunk)
        order = sorted(scores, key=lambda key: scores[key], reverse=True)
        return [Hit(chunks[key], scores[key]) for key in order]

    def _merge_adjacent(self, hits: list[Hit]) -> list[Hit]:
        """Join hits of one page and kind whose spans overlap or nearly touch into one passage, kept at
        the better rank (and kind), with the page's exact text between the outer ends and its location."""
        merged: list[Hit] = []
        for hit in hits:
            partner = next(
                (i for i, m in enumerate(merged) if _adjacent(m.chunk, hit.chunk, self.settings.merge_gap_chars)), None
            )
            if partner is None:
                merged.append(hit)
                continue
            first = merged[partner].chunk
            start, end = min(first.char_start, hit.chunk.char_start), max(first.char_end, hit.chunk.char_end)
            page = self.store.page(first.doc_id, first.page)
            if page is None:
                merged.append(hit)
                continue
            joined = replace(
                first, char_start=start, char_end=end, text=page.text[start:end], location=describe(page, start, end)
            )
            merged[partner] = Hit(joined, merged[partner].score)
        return merged


def relocated(store: LibraryStore, hits: Sequence[Hit]) -> list[Hit]:
    """The hits with each located chunk's location named anew from its stored page: a passage narrowed
    or run on (`rag.compress`) spans other lines than the chunk it was cut from."""
    result = []
    for hit in hits:
        page = store.page(hit.chunk.doc_id, hit.chunk.page) if hit.chunk.location else None
        if page is not None:
            location = describe(page, hit.chunk.char_start, hit.chunk.char_end)
            hit = Hit(replace(hit.chunk, location=location), hit.score)
        result.append(hit)
    return result


def _adjacent(a: Chunk, b: Chunk, gap: int) -> bool:
    return (
        (a.doc_id, a.page, a.kind) == (b.doc_id, b.page, b.kind)
        and a.char_start <= b.char_end + gap
        and b.char_start <= a.char_end + gap
    )


def _cap_per_document(hits: Sequence[Hit], limit: int) -> list[Hit]:
    """At most `limit` hits per document first, so one long file cannot crowd out the others;
    the hits over the cap follow, for when too few other documents have anything to offer."""
    counts: dict[int, int] = {}
    kept, over = [], []
    for hit in hits:
        counts[hit.chunk.doc_id] = counts.get(hit.chunk.doc_id, 0) + 1
        (kept if counts[hit.chunk.doc_id] <= limit else over).append(hit)
    return kept + over
