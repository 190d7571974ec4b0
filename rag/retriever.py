"""Hybrid retrieval: dense (FAISS) and keyword (FTS5 BM25) candidates fused by reciprocal rank,
capped per document, adjacent chunks of one page merged, optionally reranked by a cross-encoder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from indexer.store import Store
from indexer.types import Chunk, Hit

EmbedFn = Callable[[Sequence[str]], np.ndarray]


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

    def dense(self, query: str, k: int) -> list[Hit]:
        """Nearest chunks by embedding."""
        return self.store.search_dense(self.embed([query])[0], k)

    def keyword(self, query: str, k: int) -> list[Hit]:
        """Best chunks by BM25."""
        return self.store.search_keyword(query, k)

    def retrieve(self, query: str, resident: Sequence[Hit] = ()) -> list[Hit]:
        """The top passages for a query; `resident` passages (kept from earlier turns) join the fusion."""
        s = self.settings
        rankings: list[Sequence[Hit]] = []
        if s.mode in ("hybrid", "dense"):
            rankings.append(self.dense(query, s.candidates))
        if s.mode in ("hybrid", "keyword"):
            rankings.append(self.keyword(query, s.candidates))
        if resident:
            rankings.append(resident)
        fused = reciprocal_rank_fusion(rankings, s.rrf_k)
        if self.reranker is not None:
            fused = self.reranker.rerank(query, fused[: s.candidates])
        capped = _cap_per_document(fused, s.per_document)
        return self._merge_adjacent(capped[: s.top_k])

    def _merge_adjacent(self, hits: list[Hit]) -> list[Hit]:
        """Join hits of one page whose spans overlap or nearly touch into one passage, kept at the
        better rank, with the page's exact text between the outer ends."""
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
        (a.doc_id, a.page) == (b.doc_id, b.page)
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
