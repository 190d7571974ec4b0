"""Hybrid retrieval: dense (FAISS) and keyword (FTS5 BM25) candidates fused by reciprocal rank,
capped per document, adjacent chunks of one page merged, optionally reranked by a cross-encoder.

Only content chunks are candidates for an answer: tables of contents, indexes, reference lists and
lists of figures (marked at indexing by `indexer.pagekind`) hold every keyword of a book but answer
nothing. `footnotes search` may still show them, after the content passages."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from indexer.pagekind import CONTENT
from indexer.store import Store
from indexer.types import Chunk, Hit

EmbedFn = Callable[[Sequence[str]], np.ndarray]
CONTENT_ONLY = frozenset({CONTENT})


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


def reciprocal_rank_fusion(rankings: Sequence[Sequence[Hit]], k: int = 60) -> list[Hit]:
    """Fuse ranked lists: each chunk scores the sum of 1 / (k + rank) over the lists it appears in."""
    scores: dict[int, float] = {}
    chunks: dict[int, Chunk] = {}
    for ranking in rankings:
        for rank, hit in enumerate(ranking, start=1):
            key = hit.chunk.id if hit.chunk.id is not None else id(hit.chunk)
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
            chunks.setdefault(key, hit.chunk)
    order = sorted(scores, key=lambda key: scores[key], reverse=True)
    return [Hit(chunks[key], scores[key]) for key in order]


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
        store: Store,
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

    def retrieve(self, query: str, resident: Sequence[Hit] = (), include_noncontent: bool = False) -> list[Hit]:
        """The top passages for a query; `resident` passages (kept from earlier turns) join the fusion.

        Only content passages are returned while the library has any. With `include_noncontent` (for
        `footnotes search`), the navigation passages (``hit.chunk.kind``: toc, index, bibliography,
        lists) that rank among the top passages of all kinds follow the content ones, demoted."""
        vector = self.embed([query])[0] if self.settings.mode in ("hybrid", "dense") else None
        hits = self._ranked(query, vector, resident, CONTENT_ONLY)
        if not hits and not self.store.has_kind(CONTENT):
            return self._ranked(query, vector, resident, None)  # nothing but navigation pages: better than none
        if include_noncontent:
            hits += [h for h in self._ranked(query, vector, resident, None, rerank=False) if h.chunk.kind != CONTENT]
        return hits

    def _ranked(
        self,
        query: str,
        vector: np.ndarray | None,
        resident: Sequence[Hit],
        kinds: Collection[str] | None,
        rerank: bool = True,
    ) -> list[Hit]:
        """Fuse, rerank, cap and merge the candidates of `kinds` (all kinds when None); the filter
        applies to every candidate list, before fusion and the top_k cut."""
        s = self.settings
        rankings: list[Sequence[Hit]] = []
        if vector is not None:
            rankings.append(self.store.search_dense(vector, s.candidates, kinds))
        if s.mode in ("hybrid", "keyword"):
            rankings.append(self.store.search_keyword(query, s.candidates, kinds))
        kept = [h for h in resident if kinds is None or h.chunk.kind in kinds]
        if kept:
            rankings.append(kept)
        fused = reciprocal_rank_fusion(rankings, s.rrf_k)
        if rerank and self.reranker is not None:
            fused = self.reranker.rerank(query, fused[: s.candidates])
        capped = _cap_per_document(fused, s.per_document)
        return self._merge_adjacent(capped[: s.top_k])

    def _merge_adjacent(self, hits: list[Hit]) -> list[Hit]:
        """Join hits of one page and kind whose spans overlap or nearly touch into one passage, kept at
        the better rank (and kind), with the page's exact text between the outer ends."""
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
            page = self.store.page_text(first.doc_id, first.page)
            if page is None:
                merged.append(hit)
                continue
            merged[partner] = Hit(
                replace(first, char_start=start, char_end=end, text=page[start:end]), merged[partner].score
            )
        return merged


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
