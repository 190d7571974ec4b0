"""Question-focused compression: each retrieved passage is cut to the sentences that bear on the question.

Prompt processing dominates the time to the first token on a small CPU, and most of a retrieved
passage does not answer the question. Each passage is split into sentences (PDF-aware: hard line
wraps, bullets, code lines, abbreviations, URLs), every sentence is scored against the question
(embedding similarity, all sentences of all passages in one batch, plus a keyword overlap), and the
passage is cut to ONE contiguous window of its sentences: the best sentence (with what follows it
when it is a heading or a question: the answer comes after), its neighbours, then grown towards the
more relevant side while that still helps and fits the passage's token budget. A passage that ends
on its best sentence may run on a little into the page text after it.

The window is a contiguous slice of the page text the passage came from, so the span stays exact:
``page_text[chunk.char_start:chunk.char_end] == chunk.text`` still holds, and the citation window
highlights exactly what the model saw.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from indexer.text_units import Span, content_words, ends_block, sentence_spans
from indexer.types import Chunk, Hit
from rag.context import PassageBudget

EmbedFn = Callable[[Sequence[str]], np.ndarray]
CountFn = Callable[[str], int]
PageTextFn = Callable[[int, int], "str | None"]

LEXICAL_WEIGHT = 0.3
"""Weight of the keyword overlap (0..1) added to the embedding similarity of a sentence."""
GROW_FLOOR = 0.5
"""Past the best sentence and its neighbours, a window grows only into sentences scoring at least this
share of the best sentence's score: irrelevant text is not paid for even when it would fit."""
FOLLOW_CHARS = 400
"""How far past its end a passage's window may run on into its page (see `compress_hits`)."""
EMBED_LIMIT: int | None = None
"""Embed at most this many sentences per question (the best by keyword overlap); None embeds all."""


@dataclass(frozen=True)
class _Passage:
    """One hit to compress: the page text it may be cut from (its own text, perhaps followed by a
    little more of its page), the sentences of that text, and how many of them start in the hit."""

    hit: Hit
    text: str
    sentences: list[Span]
    own: int


def lexical_scores(question: str, sentences: Sequence[str]) -> np.ndarray:
    """Share (0..1) of the question's content words found in each sentence, each word weighted by its
    inverse frequency over these sentences, so rare words count more (a BM25-like overlap)."""
    terms = set(content_words(question))
    if not terms or not sentences:
        return np.zeros(len(sentences), dtype=np.float32)
    bags = [set(content_words(s)) for s in sentences]
    n = len(bags)
    weight = {t: math.log(1 + n / (1 + sum(t in bag for bag in bags))) for t in terms}
    total = sum(weight.values())
    return np.array([sum(weight[t] for t in terms & bag) / total for bag in bags], dtype=np.float32)


def compress_hits(
    question: str,
    hits: Sequence[Hit],
    embed: EmbedFn,
    count_tokens: CountFn,
    budget: PassageBudget,
    page_text: PageTextFn | None = None,
) -> list[Hit]:
    """Each hit cut to its most relevant contiguous window of sentences, within `budget`; ranks, scores
    and order are kept. A passage that already fits its share is kept whole; one left no room is dropped.

    The shares are handed out in rank order: each passage may take an equal share of what is left
    (at most `budget.per_passage`), so what a short passage leaves unused goes to the next ones. With
    `page_text` (doc_id, page -> text), a window may run on past its passage's end into the sentences
    that follow on the page: a passage often ends on the heading or question whose answer comes next.
    """
    if not hits:
        return []
    costs = [count_tokens(h.chunk.text) for h in hits]
    floor = min(budget.per_passage, budget.total // len(hits))
    passages = [
        _passage(h, page_text) if cost > floor else _Passage(h, h.chunk.text, [], 0)
        for h, cost in zip(hits, costs, strict=True)
    ]
    scores = _score_sentences(question, passages, embed)
    result: list[Hit] = []
    spent = 0
    for index, (passage, cost, sentence_scores) in enumerate(zip(passages, costs, scores, strict=True)):
        share = budget.share(spent, len(hits) - index)
        if cost <= share:
            hit = passage.hit
        elif passage.own:
            hit = _window_hit(passage, sentence_scores, share, count_tokens)
        else:
            hit = _clip(passage, (0, len(passage.hit.chunk.text)), share, count_tokens)
        spent += cost if hit is passage.hit else count_tokens(hit.chunk.text)
        if hit.chunk.text:  # a passage left no tokens at all is not worth a source number
            result.append(hit)
    return result


def _passage(hit: Hit, page_text: PageTextFn | None) -> _Passage:
    """A hit with its sentences, its text run on by up to FOLLOW_CHARS of its page when the page is
    known (the last, probably cut, sentence of that run-on left out unless the page ends there)."""
    chunk = hit.chunk
    page = page_text(chunk.doc_id, chunk.page) if page_text else None
    own = sentence_spans(chunk.text)
    if not page or page[chunk.char_start : chunk.char_end] != chunk.text or chunk.char_end >= len(page):
        return _Passage(hit, chunk.text, own, len(own))
    end = min(len(page), chunk.char_end + FOLLOW_CHARS)
    text = page[chunk.char_start : end]
    sentences = sentence_spans(text)
    mine = sum(1 for a, _ in sentences if a < len(chunk.text))
    if end < len(page) and len(sentences) > mine and sentences[-1][1] == len(text.rstrip()):
        sentences = sentences[:-1]
    if mine == 0:
        return _Passage(hit, chunk.text, own, len(own))
    return _Passage(hit, text, sentences, mine)


def _score_sentences(question: str, passages: Sequence[_Passage], embed: EmbedFn) -> list[np.ndarray]:
    """Relevance of every sentence to the question, per passage: embedding similarity (one batch for
    all passages) plus LEXICAL_WEIGHT times the keyword overlap."""
    texts = [p.text[a:b] for p in passages for a, b in p.sentences]
    if not texts:
        return [np.zeros(0, dtype=np.float32) for _ in passages]
    lexical = lexical_scores(question, texts)
    similarity = np.zeros(len(texts), dtype=np.float32)
    chosen = np.arange(len(texts)) if EMBED_LIMIT is None else np.argsort(-lexical, kind="stable")[:EMBED_LIMIT]
    if EMBED_LIMIT != 0:
        vectors = embed([question, *(texts[i] for i in chosen)])
        similarity[chosen] = vectors[1:] @ vectors[0]
    combined = similarity + LEXICAL_WEIGHT * lexical
    scores: list[np.ndarray] = []
    offset = 0
    for passage in passages:
        scores.append(combined[offset : offset + len(passage.sentences)])
        offset += len(passage.sentences)
    return scores


def _window_hit(passage: _Passage, scores: np.ndarray, share: int, count_tokens: CountFn) -> Hit:
    """The hit cut to the best window of its sentences that fits `share` tokens; the best sentence is
    one of the hit's own, the window may run on into the page text after it."""
    sentences, text = passage.sentences, passage.text
    best = int(np.argmax(scores[: passage.own]))

    def cost(lo: int, hi: int) -> int:
        return count_tokens(text[sentences[lo][0] : sentences[hi][1]])

    lo = hi = best
    while hi + 1 < len(sentences) and hi < best + 3 and _introduces(text[sentences[hi][0] : sentences[hi][1]]):
        hi += 1  # a heading, question or "as follows:" is only worth its answer: take what follows too
    if cost(lo, hi) > share:
        return _clip(passage, (sentences[lo][0], sentences[hi][1]), share, count_tokens)
    for step in (1, -1):  # then the neighbours, the following one first
        neighbour = (hi if step > 0 else lo) + step
        if 0 <= neighbour < len(sentences) and cost(min(lo, neighbour), max(hi, neighbour)) <= share:
            lo, hi = min(lo, neighbour), max(hi, neighbour)
    threshold = GROW_FLOOR * float(scores[best])
    while True:
        leads_on = hi + 1 < len(sentences) and _introduces(text[sentences[hi][0] : sentences[hi][1]])
        options = [i for i in (hi + 1, lo - 1) if 0 <= i < len(sentences) and scores[i] >= threshold]
        options = sorted(options, key=lambda i: -scores[i])
        options = [hi + 1] * leads_on + options  # what a heading or question leads on to, first
        options = [i for i in options if cost(min(lo, i), max(hi, i)) <= share]
        if not options:
            break
        lo, hi = min(lo, options[0]), max(hi, options[0])
    return _cut(passage, sentences[lo][0], sentences[hi][1])


def _introduces(sentence: str) -> bool:
    """True for a sentence that leads into the next one: a question, a heading, a line ending in a colon."""
    return sentence.endswith(("?", ":")) or ends_block(sentence)


def _clip(passage: _Passage, span: Span, share: int, count_tokens: CountFn) -> Hit:
    """The longest start of `span` that fits `share` tokens, ending at a space where one is near."""
    text = passage.text
    start, end = span
    low, high = start, end
    while low < high:  # the largest end with count <= share
        middle = (low + high + 1) // 2
        if count_tokens(text[start:middle]) <= share:
            low = middle
        else:
            high = middle - 1
    space = text.rfind(" ", start, low + 1) if low < end else -1
    stop = space if space > start + (low - start) // 2 else low
    return _cut(passage, start, max(stop, start))


def _cut(passage: _Passage, start: int, end: int) -> Hit:
    """The hit narrowed (or run on) to ``passage.text[start:end]``, its page span moved with it."""
    hit = passage.hit
    chunk: Chunk = hit.chunk
    if passage.text[start:end] == chunk.text and start == 0:
        return hit
    moved = replace(
        chunk, char_start=chunk.char_start + start, char_end=chunk.char_start + end, text=passage.text[start:end]
    )
    return Hit(moved, hit.score)
