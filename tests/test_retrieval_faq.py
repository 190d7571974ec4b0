"""Dense search on the real Debian FAQ PDF finds the gold page for the 120 evaluation questions."""

from __future__ import annotations

import json

from conftest import FAQ_QUESTIONS

from indexer.embedder import Embedder
from indexer.store import Store


def test_gold_page_in_top_5_for_at_least_90_percent(faq_library: Store, embedder: Embedder) -> None:
    questions = [json.loads(line) for line in FAQ_QUESTIONS.read_text().splitlines() if line.strip()]
    assert len(questions) == 120
    vectors = embedder.embed([q["question"] for q in questions])
    found = sum(
        q["gold_page_1based"] in {hit.chunk.page for hit in faq_library.search_dense(vector, 5)}
        for q, vector in zip(questions, vectors, strict=True)
    )
    share = found / len(questions)
    print(f"Debian FAQ dense hit@5: {share:.1%} ({found}/{len(questions)})")
    assert share >= 0.90
    assert faq_library.check() == []
