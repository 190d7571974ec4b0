"""One definition of a sentence for every layer (issue #20, item 5): the citation check, compression and
the window's preview cut a passage the same way, so the sentence quoted is the sentence checked."""

from __future__ import annotations

from app.core.passages import best_sentence
from indexer.text_units import content_words, sentence_spans, stems
from rag.citations import passage_sentences

PAGE = (
    "5 Warranty\n"
    "The Aurora 3 is covered for three years, e.g. against a broken pump. Keep the\n"
    "receipt. It is needed for any claim, and the dealer (cf. p. 7) keeps a copy."
)
SENTENCES = [
    "5 Warranty",
    "The Aurora 3 is covered for three years, e.g. against a broken pump.",
    "Keep the\nreceipt.",
    "It is needed for any claim, and the dealer (cf. p. 7) keeps a copy.",
]


def test_the_citation_check_and_compression_cut_a_page_into_the_same_sentences() -> None:
    assert [PAGE[a:b] for a, b in sentence_spans(PAGE)] == SENTENCES
    assert [s.text for s in passage_sentences(PAGE)] == SENTENCES  # the heading is not glued to its sentence


def test_the_preview_shows_one_of_those_sentences_never_the_heading() -> None:
    assert best_sentence(PAGE, "How long is the warranty?") == SENTENCES[1]
    assert best_sentence(PAGE, "Who keeps a copy of the receipt?") == SENTENCES[3]


def test_words_and_stems_share_one_stop_list() -> None:
    assert content_words("What does the document say about the warranty of the Aurora 3?") == [
        "warranty",
        "aurora",
        "3",
    ]
    assert stems("Installing builds; three installed builds") == {"instal", "build", "3"}  # six letters
