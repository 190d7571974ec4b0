"""Hybrid retrieval: fusion, per-document cap, merging of adjacent chunks, optional reranking."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from indexer.embedder import Embedder, default_model_path
from indexer.indexer import Indexer
from indexer.store import Store
from indexer.types import Chunk, Hit
from rag.retriever import CrossEncoderReranker, RetrievalSettings, Retriever, reciprocal_rank_fusion, score_fusion


def _hit(chunk_id: int, doc_id: int = 1, score: float = 0.0) -> Hit:
    return Hit(
        Chunk(
            doc_id=doc_id,
            page=1,
            char_start=chunk_id * 10,
            char_end=chunk_id * 10 + 5,
            text=f"c{chunk_id}",
            id=chunk_id,
        ),
        score,
    )


def test_rank_fusion_rewards_agreement() -> None:
    dense = [_hit(1), _hit(2), _hit(3)]
    keyword = [_hit(3), _hit(4), _hit(1)]
    fused = [h.chunk.id for h in reciprocal_rank_fusion([dense, keyword], k=60)]
    assert fused[:2] == [1, 3] and set(fused) == {1, 2, 3, 4}


def test_score_fusion_keeps_the_margin_that_rank_fusion_drops() -> None:
    # The embedding clearly prefers chunk 1; chunk 2 is only a little better by BM25 (common words).
    dense = [_hit(1, score=0.70), _hit(2, score=0.30)]
    keyword = [_hit(2, score=10.0), _hit(1, score=9.0)]
    first, second = reciprocal_rank_fusion([dense, keyword])
    assert first.score == pytest.approx(second.score)  # a tie: ranks carry no margin
    fused = score_fusion(dense, keyword, dense_weight=0.75)
    assert [h.chunk.id for h in fused] == [1, 2]
    assert all(0.0 <= h.score <= 1.0 for h in fused)
    assert fused[0].score - fused[1].score > 0.2  # the embedding's clear preference survives fusion


def test_score_fusion_takes_a_keyword_only_candidates_cosine_from_similarity() -> None:
    fused = score_fusion([_hit(1, score=0.5)], [_hit(3, score=4.0)], 0.75, similarity={3: 0.4})
    assert [(h.chunk.id, round(h.score, 4)) for h in fused] == [(3, 0.55), (1, 0.375)]
    alone = score_fusion([], [_hit(3, score=4.0), _hit(4, score=2.0)], 0.0)
    assert [(h.chunk.id, h.score) for h in alone] == [(3, 1.0), (4, 0.5)]


def test_resident_passages_join_the_candidates_with_a_bonus(faq_library: Store, embedder: Embedder) -> None:
    retriever = Retriever(faq_library, embedder.embed, RetrievalSettings(top_k=30, per_document=30))
    question = "How does one pronounce Debian?"
    plain = retriever.candidates(question)
    resident = plain[3]
    fused = retriever._fused(question, embedder.embed([question])[0], [resident], {"content"})
    ranks = [h.chunk.id for h in fused]
    assert ranks.index(resident.chunk.id) < 3  # a passage already in the conversation moves up
    scores = {h.chunk.id: h.score for h in fused}
    assert scores[resident.chunk.id] > resident.score
    assert {h.chunk.id: h.score for h in plain if h.chunk.id != resident.chunk.id}.items() <= scores.items()


def test_keyword_index_of_an_older_library_is_restemmed(tmp_path: Path, embedder: Embedder) -> None:
    note = tmp_path / "apt.md"
    note.write_text("The installer installed every package.\n\nNothing else happened on that day.")
    store = Store(tmp_path / "lib")
    Indexer(store, embedder).run([note])
    conn = store._conn  # make it a schema 2 catalogue: a keyword index without stemming
    conn.execute("DROP TABLE chunks_fts")
    conn.execute(
        "CREATE VIRTUAL TABLE chunks_fts USING fts5(text, content='chunks', content_rowid='id',"
        " tokenize='unicode61 remove_diacritics 2')"
    )
    conn.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('rebuild')")
    conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    assert store.search_keyword("installing", 5) == []
    store.close()
    reopened = Store(tmp_path / "lib")
    assert [h.chunk.page for h in reopened.search_keyword("installing", 5)] == [1]
    assert reopened.check() == []
    Indexer(reopened, embedder).run([note])  # the triggers still keep the index in step
    assert reopened.check() == []


def test_adjacent_chunks_of_a_page_merge_into_one_exact_passage(tmp_path: Path, embedder: Embedder) -> None:
    note = tmp_path / "walks.md"
    note.write_text(" ".join(f"On day {i} the hikers walked along the glacier lake trail." for i in range(60)))
    store = Store(tmp_path / "lib")
    Indexer(store, embedder).run([note])
    retriever = Retriever(store, embedder.embed, RetrievalSettings(top_k=6, per_document=6))
    hits = retriever.retrieve("hikers glacier lake trail")
    page = store.page_text(hits[0].chunk.doc_id, 1)
    assert len(hits) < 6  # overlapping neighbours were merged
    for hit in hits:
        assert hit.chunk.text == page[hit.chunk.char_start : hit.chunk.char_end]
    spans = sorted((h.chunk.char_start, h.chunk.char_end) for h in hits)
    assert all(a_end < b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))


def test_per_document_cap(tmp_path: Path, embedder: Embedder) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("a", "b"):
        (folder / f"{name}.md").write_text(
            "\f".join(f"Page {p}: the owl hunts at night in {name} forest." for p in range(6))
        )
    store = Store(tmp_path / "lib")
    Indexer(store, embedder).run([folder])
    hits = Retriever(store, embedder.embed, RetrievalSettings(top_k=4, per_document=2)).retrieve("owl hunts")
    assert sorted(Path(h.chunk.path).name for h in hits) == ["a.md", "a.md", "b.md", "b.md"]
    alone = Retriever(store, embedder.embed, RetrievalSettings(top_k=4, per_document=2)).retrieve("owl in a forest")
    assert len(alone) == 4  # over the cap is still better than fewer passages


def test_cross_encoder_reranker_orders_by_its_own_scores(faq_library: Store, embedder: Embedder) -> None:
    import torch

    # No reranker model is bundled; MiniLM loaded as a cross-encoder (its head untrained, seeded here so
    # runs agree) exercises the code path.
    torch.manual_seed(0)
    reranker = CrossEncoderReranker(default_model_path(), device="cpu")
    question = "How does one pronounce Debian?"
    candidates = Retriever(faq_library, embedder.embed).dense(question, 10)
    reranked = reranker.rerank(question, candidates)
    assert {h.chunk.id for h in reranked} == {h.chunk.id for h in candidates}
    alone = {h.chunk.id: reranker.rerank(question, [h])[0].score for h in candidates}  # each scored on its own
    assert [h.score for h in reranked] == pytest.approx([alone[h.chunk.id] for h in reranked], abs=1e-4)
    assert [h.score for h in reranked] == sorted((h.score for h in reranked), reverse=True)
    settings = RetrievalSettings(top_k=5, per_document=5, merge_gap_chars=-1_000_000)  # no merging: compare spans
    hits = Retriever(faq_library, embedder.embed, settings, reranker).retrieve(question)
    fused = Retriever(faq_library, embedder.embed).candidates(question)  # content only, as for an answer
    assert [h.chunk.id for h in hits] == [h.chunk.id for h in reranker.rerank(question, fused[:30])][:5]
