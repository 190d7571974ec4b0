"""Passage compression with the real embedder, the real 0.5B model's tokenizer and real page texts: the
answer sentence survives, the span still maps to its page, and the passage gets shorter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FAQ_PDF, FAQ_QUESTIONS, faq_file, make_pdf
from pypdf import PdfReader, PdfWriter

from indexer.embedder import Embedder
from indexer.indexer import Indexer
from indexer.store import Store
from indexer.text_units import sentence_spans
from indexer.types import Chunk, Hit
from llm.base import Generator
from rag.compress import compress_hits
from rag.context import PassageBudget
from rag.retriever import Retriever

FAQ_SUBSET_PAGES = [11, 12, 13, 17, 40, 50, 51]
"""Pages of the Debian FAQ PDF (1-based) that hold the answers to FAQ_CASES, and some that do not."""
FAQ_CASES = {
    "debian_faq_en-004": "The Debian system builds on the ideals of free software",
    "debian_faq_en-006": "Currently there are three versions of Debian GNU/Linux",
    "debian_faq_en-018": "Sometimes, a package might not be installable through package management tools.",
    "debian_faq_en-090": "it is useful to use apt-cacher",
}
"""FAQ question id -> the start of the sentence that answers it."""

WARRANTY_PAGE = (
    "Thank you for choosing the Aurora 3 espresso machine. This manual explains how to install, use and "
    "look after the machine; please read it completely before the first use and keep it for later reference. "
    "The machine is designed for household use only and must not be used outdoors. Always place it on a flat, "
    "stable surface away from the edge of the worktop, and never immerse the base in water. Before the first "
    "use, rinse the water tank and the drip tray with warm water and a little washing-up liquid. Fill the tank "
    "with fresh cold water up to the MAX mark and run two empty cycles to flush the system. "
    "The Aurora 3 is covered by a warranty of three years from the date of purchase, provided the machine was "
    "descaled at least every two months. Keep your receipt as proof of purchase. Descale the machine with the "
    "Aurora descaling solution; other products may damage the seals and are not covered. To descale, empty the "
    "drip tray, pour the solution into the tank and start the rinse program, which takes about twenty minutes. "
    "Clean the steam wand after every use with a damp cloth, and purge it for two seconds to clear any milk "
    "residue. The grounds container should be emptied daily, and the brewing unit rinsed under the tap once a "
    "week. If the machine shows a blinking red light, the water tank is empty or not inserted correctly."
)


def _norm(text: str) -> str:
    return " ".join(text.replace("\xa0", " ").split())


def faq_subset_store(folder: Path, embedder: Embedder) -> tuple[Store, dict[int, int]]:
    """A library of a few pages of the Debian FAQ PDF (indexing all of it takes minutes on 2 cores), and
    the map from original page numbers to the subset's."""
    writer = PdfWriter()
    reader = PdfReader(str(faq_file(FAQ_PDF)))
    for number in FAQ_SUBSET_PAGES:
        writer.add_page(reader.pages[number - 1])
    path = folder / "debian-faq-subset.pdf"
    with open(path, "wb") as handle:
        writer.write(handle)
    store = Store(folder / "library")
    report = Indexer(store, embedder).run([path])
    assert not report.failed
    return store, {number: i for i, number in enumerate(FAQ_SUBSET_PAGES, start=1)}


def faq_questions() -> dict[str, dict]:
    """The Debian FAQ evaluation questions by id."""
    rows = [json.loads(line) for line in faq_file(FAQ_QUESTIONS).read_text().splitlines() if line.strip()]
    return {row["id"]: row for row in rows}


@pytest.fixture(scope="module")
def faq(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> tuple[Store, dict[int, int]]:
    return faq_subset_store(tmp_path_factory.mktemp("faq-subset"), embedder)


@pytest.fixture(scope="module")
def warranty_store(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Store:
    folder = tmp_path_factory.mktemp("warranty")
    make_pdf(folder / "aurora-manual.pdf", ["Aurora 3 espresso machine", WARRANTY_PAGE])
    store = Store(folder / "library")
    Indexer(store, embedder).run([folder / "aurora-manual.pdf"])
    return store


def _assert_spans_map(store: Store, hits: list[Hit]) -> None:
    for hit in hits:
        c = hit.chunk
        assert store.page_text(c.doc_id, c.page)[c.char_start : c.char_end] == c.text


def test_sentences_of_pdf_text_keep_urls_abbreviations_bullets_and_code_apart_correctly() -> None:
    text = (
        "Richard Stallman founded the FSF (see www.fsf.org for details). Free tools, e.g. gcc and make, are\n"
        "part of it, i.e. the whole toolchain. The next sentence is wrapped over\n"
        "two lines of the page.\n"
        "Install it with:\n"
        "apt-get install foo\n"
        "• first item of a list\n"
        "• second item, long enough for the page to wrap it onto\n"
        "a second line\n"
        "\n"
        "1.6 How does it compare?\n"
        "It compares well."
    )
    pieces = [text[a:b] for a, b in sentence_spans(text)]
    assert pieces == [
        "Richard Stallman founded the FSF (see www.fsf.org for details).",
        "Free tools, e.g. gcc and make, are\npart of it, i.e. the whole toolchain.",
        "The next sentence is wrapped over\ntwo lines of the page.",
        "Install it with:",
        "apt-get install foo",
        "• first item of a list",
        "• second item, long enough for the page to wrap it onto\na second line",
        "1.6 How does it compare?",
        "It compares well.",
    ]


def test_the_answer_sentence_in_the_middle_of_a_long_page_survives(
    warranty_store: Store, embedder: Embedder, generator: Generator
) -> None:
    question = "How long is the warranty of the Aurora 3?"
    hits = Retriever(warranty_store, embedder.embed).retrieve(question)
    page = [h for h in hits if h.chunk.page == 2]
    assert page, hits
    budget = PassageBudget(total=200, per_passage=70)
    compressed = compress_hits(question, hits, embedder.embed, generator.count_tokens, budget, warranty_store.page_text)
    on_page = [h for h in compressed if h.chunk.page == 2]
    assert any("warranty of three years" in h.chunk.text for h in on_page), [h.chunk.text for h in compressed]
    _assert_spans_map(warranty_store, compressed)
    assert sum(len(h.chunk.text) for h in on_page) < sum(len(h.chunk.text) for h in page)
    assert all(generator.count_tokens(h.chunk.text) <= budget.per_passage for h in compressed)
    assert sum(generator.count_tokens(h.chunk.text) for h in compressed) <= budget.total


def test_faq_answer_sentences_survive_and_map_to_their_page(
    faq: tuple[Store, dict[int, int]], embedder: Embedder, generator: Generator
) -> None:
    store, page_of = faq
    questions = faq_questions()
    retriever = Retriever(store, embedder.embed)
    budget = PassageBudget()
    for question_id, answer in FAQ_CASES.items():
        row = questions[question_id]
        hits = retriever.retrieve(row["question"])
        compressed = compress_hits(
            row["question"], hits, embedder.embed, generator.count_tokens, budget, store.page_text
        )
        gold = page_of[row["gold_page_1based"]]
        assert any(_norm(answer) in _norm(h.chunk.text) for h in compressed if h.chunk.page == gold), (
            row["question"],
            [h.chunk.text for h in compressed],
        )
        _assert_spans_map(store, compressed)
        before = sum(generator.count_tokens(h.chunk.text) for h in hits)
        after = sum(generator.count_tokens(h.chunk.text) for h in compressed)
        assert after <= budget.total < before
        assert [h.score for h in compressed] == [h.score for h in hits][: len(compressed)]  # rank order kept


def test_a_passage_that_ends_on_its_heading_runs_on_into_the_answer(
    faq: tuple[Store, dict[int, int]], embedder: Embedder, generator: Generator
) -> None:
    store, page_of = faq
    doc_id = store.search_keyword("apt-cacher", 1)[0].chunk.doc_id
    page = page_of[51]
    text = store.page_text(doc_id, page)
    end = text.index("one time?") + len("one time?")
    start = text.rindex("\n", 0, text.index("9.6 I have several machines")) + 1
    start = max(0, start - 700)  # longer than its budget below, so it is compressed
    passage = Hit(Chunk(doc_id, page, start, end, text[start:end], path="debian-faq-subset.pdf"), 1.0)
    question = "I have several machines; how can I download the updates only one time?"
    (compressed,) = compress_hits(
        question, [passage], embedder.embed, generator.count_tokens, PassageBudget(80, 80), store.page_text
    )
    assert "9.6 I have several machines" in compressed.chunk.text
    assert "it is useful to use apt-cacher" in _norm(compressed.chunk.text)
    _assert_spans_map(store, [compressed])


def test_a_short_passage_is_kept_whole(embedder: Embedder, generator: Generator) -> None:
    text = "The Crumbly toaster has a warranty of two years. Its crumb tray slides out from the back."
    hit = Hit(Chunk(doc_id=1, page=1, char_start=10, char_end=10 + len(text), text=text, id=7, path="/t.txt"), 0.5)
    assert compress_hits(
        "What warranty does the toaster have?", [hit], embedder.embed, generator.count_tokens, PassageBudget()
    ) == [hit]
