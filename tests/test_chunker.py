"""The chunker with the embedder's real tokenizer: exact spans, token limits, headings, overlap."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import pytest
from conftest import FAQ_PDF, faq_file
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.chunker import Chunker, ChunkSettings
from indexer.embedder import Embedder
from indexer.loaders import load
from indexer.types import Page

Spans = Callable[[str], Sequence[tuple[int, int]]]


@pytest.fixture(scope="module")
def token_spans(embedder: Embedder) -> Spans:
    return embedder.token_spans_factory()


def _tokens(spans: Spans, text: str) -> int:
    return len(spans(text))


def test_faq_chunks_are_exact_page_spans_within_the_token_limit(token_spans: Spans) -> None:
    pages = load(faq_file(FAQ_PDF)).pages
    chunker = Chunker(token_spans, ChunkSettings(max_tokens=200, overlap_tokens=32))
    chunks = chunker.chunk_pages(7, pages)
    assert len(chunks) > len(pages)
    by_number = {p.number: p.text for p in pages}
    for chunk in chunks:
        assert chunk.doc_id == 7
        assert chunk.text == by_number[chunk.page][chunk.char_start : chunk.char_end]
        assert chunk.text == chunk.text.strip()
        assert _tokens(token_spans, chunk.text) <= 200
    assert {c.page for c in chunks} == {p.number for p in pages if p.text.strip()}


def test_headings_stay_with_the_text_under_them(token_spans: Spans) -> None:
    sections = [
        f"## Section {i}\n" + " ".join([f"Sentence {i}.{j} tells one small fact." for j in range(9)]) for i in range(8)
    ]
    page = Page(1, "\n\n".join(sections))
    chunks = Chunker(token_spans, ChunkSettings(max_tokens=60, overlap_tokens=0)).chunk_page(1, page)
    assert len(chunks) >= 8
    for chunk in chunks:
        last_line = chunk.text.splitlines()[-1]
        assert not last_line.startswith("## "), chunk.text
    for i in range(8):
        assert any(f"## Section {i}\nSentence {i}.0" in c.text for c in chunks)
    assert sum(c.text.startswith("## Section") for c in chunks) >= 4  # sections start chunks when they can


def test_chunks_end_at_sentences_and_overlap_the_previous_one(token_spans: Spans) -> None:
    text = " ".join(f"Fact number {i} is that the river runs east." for i in range(60))
    chunks = Chunker(token_spans, ChunkSettings(max_tokens=64, overlap_tokens=16)).chunk_page(1, Page(1, text))
    assert len(chunks) > 3
    for first, second in itertools.pairwise(chunks):
        assert first.text.endswith(".")
        assert second.char_start < first.char_end  # overlap
        overlap = text[second.char_start : first.char_end]
        assert _tokens(token_spans, overlap) <= 16


def test_a_sentence_longer_than_a_chunk_is_split(token_spans: Spans) -> None:
    text = "word " * 700
    chunks = Chunker(token_spans, ChunkSettings(max_tokens=100, overlap_tokens=10)).chunk_page(3, Page(3, text))
    assert len(chunks) >= 7
    assert all(_tokens(token_spans, c.text) <= 100 and c.page == 3 for c in chunks)


_text = st.lists(
    st.one_of(
        st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=80),
        st.sampled_from(["\n", "\n\n", ". ", "# Title\n", "    ", "1.2 Heading\n", "?!", "…"]),
    ),
    max_size=60,
).map("".join)


@settings(max_examples=60, deadline=None)
@given(text=_text, size=st.integers(16, 120), overlap_share=st.floats(0, 0.45))
def test_any_text_is_covered_by_exact_spans(token_spans: Spans, text: str, size: int, overlap_share: float) -> None:
    chunk_settings = ChunkSettings(max_tokens=size, overlap_tokens=int(size * overlap_share) // 1)
    chunks = Chunker(token_spans, chunk_settings).chunk_page(1, Page(1, text))
    covered = [False] * len(text)
    for chunk in chunks:
        assert chunk.text == text[chunk.char_start : chunk.char_end]
        assert _tokens(token_spans, chunk.text) <= size
        for i in range(chunk.char_start, chunk.char_end):
            covered[i] = True
    assert all(covered[i] for i, ch in enumerate(text) if not ch.isspace())
