"""Passages as the front ends show them: the numbered previews an answer will cite, shown before its
first token with the sentence that best matches the question, and the records a search returns."""

from __future__ import annotations

from dataclasses import dataclass

from indexer.attachments import display_name
from indexer.text_units import content_words, sentence_spans
from indexer.types import Chunk, Hit
from rag.answer import Prepared

MAX_PREVIEW = 260
"""Characters of a preview's sentence; a longer one is cut with an ellipsis."""


@dataclass(frozen=True)
class Preview:
    """One passage the answer will use, as shown before the first token: its number in the answer,
    the passage, and its sentence that shares the most words with the question."""

    number: int
    chunk: Chunk
    sentence: str


@dataclass(frozen=True)
class Passage:
    """One passage found by `search`: where it is (file, page, location, character span in the page's
    stored text), what kind of page it comes from (``content``, ``toc``, …), its score and its text."""

    file: str
    path: str
    page: int
    location: str
    char_start: int
    char_end: int
    kind: str
    score: float
    text: str


def passage(hit: Hit) -> Passage:
    """A search hit as a record: what `footnotes search --json` prints and the MCP `search` tool returns."""
    chunk = hit.chunk
    return Passage(
        file=display_name(chunk.path),
        path=chunk.path,
        page=chunk.page,
        location=chunk.where,
        char_start=chunk.char_start,
        char_end=chunk.char_end,
        kind=chunk.kind or "content",
        score=round(float(hit.score), 6),
        text=chunk.text,
    )


def _words(text: str) -> set[str]:
    return set(content_words(text))


def best_sentence(text: str, question: str) -> str:
    """The sentence of `text` (`indexer.text_units.sentence_spans`, headings left out) sharing the most
    (non-stop) words with `question`; the first on a tie.

    Cheap on purpose (no model call): it only picks what to show while the model starts writing."""
    sentences = [" ".join(text[a:b].split()) for a, b in sentence_spans(text)]
    prose = [s for s in sentences if not _is_heading(s)] or sentences or [" ".join(text.split())]
    if not prose[0]:
        return ""
    asked = _words(question)
    best = max(prose, key=lambda s: (len(asked & _words(s)), -prose.index(s)))
    return best if len(best) <= MAX_PREVIEW else best[: MAX_PREVIEW - 1].rstrip() + "…"


def _is_heading(sentence: str) -> bool:
    """A Markdown ``#`` line, or a short line with no closing punctuation ("5 Warranty")."""
    return sentence.startswith("#") or (
        len(sentence.split()) <= 6 and not sentence.endswith((".", ",", ";", ":", "!", "?", "…"))
    )


def previews(prepared: Prepared) -> list[Preview]:
    """The passages a prepared question will be answered from, numbered as the answer cites them."""
    return _numbered_previews(prepared.evidence, prepared.question)


def previews_of(hits: list[Hit], question: str) -> list[Preview]:
    """Numbered previews of passages: each with the sentence that shares most words with the question."""
    return _numbered_previews(dict(enumerate(hits, 1)), question)


def _numbered_previews(hits: dict[int, Hit], question: str) -> list[Preview]:
    return [Preview(number, hit.chunk, best_sentence(hit.chunk.text, question)) for number, hit in hits.items()]
