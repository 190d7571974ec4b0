"""From generated text to a `CitedAnswer`: citations by attribution, not by the model's obedience.

Small local models forget their ``[n]`` markers, put them in the wrong place or cite the wrong
number, so the markers a model writes are only a hint. After generation every sentence of the answer
is aligned to the passage sentences that support it:

* each passage (`Chunk.text`) is split into sentences that keep their character offsets; a window
  of two neighbouring sentences is scored too (its vector is the normalised sum of theirs);
* each (answer sentence, passage sentence) pair is scored by ``max(cosine, (cosine + containment) / 2)``
  where containment is the share of the answer sentence's content words found in the passage
  sentence; a (near-)verbatim copy, containment at least `VERBATIM_CONTAINMENT`, scores at least its
  containment, so a copy always counts as supported;
* a number or a proper name in the sentence that the passage does not contain (nor the question)
  makes the sentence unsupported by that passage, however similar the rest is;
* the model's marker is kept where its passage supports the sentence about as well as the best one
  (within `AGREE_MARGIN`), corrected where another passage is the one that supports it, and added
  where it is missing; the text is rewritten so each sentence ends with its final markers.

The answer is withheld (replaced by the refusal, the draft kept in `CitedAnswer.withheld`) only when
no sentence reaches even `WITHHOLD_BELOW`: a correct answer hidden from its reader is worse than a
flagged sentence shown. All texts of one answer are embedded in one call.

The parts: `sentences` cuts drafts and passages into sentences and words, `attribution` scores and
chooses the markers, `records` holds the answer's dataclasses; `cite` here ties them together.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from indexer.types import Hit
from rag.citations.attribution import (
    AGREE_MARGIN,
    SUPPORT_THRESHOLD,
    VERBATIM_CONTAINMENT,
    WITHHOLD_BELOW,
    EmbedFn,
    Match,
    attribute,
    check_answer,
    combine,
    containment,
)
from rag.citations.judge import JudgeFn, judge_of
from rag.citations.records import CitedAnswer, Evidence, SentenceCheck
from rag.citations.sentences import (
    MARKER,
    AnswerSentence,
    PassageSentence,
    content_words,
    is_refusal,
    markers,
    names,
    numbers,
    passage_sentences,
    specifics,
    split_answer,
    strip_invalid_markers,
)
from rag.citations.verdicts import CONTRADICTED, NOT_STATED, SUPPORTED, Conflict, conflict
from rag.prompt import NO_ANSWER

__all__ = [
    "AGREE_MARGIN",
    "CONTRADICTED",
    "NOT_STATED",
    "NO_ANSWER",
    "SUPPORTED",
    "SUPPORT_THRESHOLD",
    "VERBATIM_CONTAINMENT",
    "WITHHOLD_BELOW",
    "AnswerSentence",
    "CitedAnswer",
    "Conflict",
    "EmbedFn",
    "Evidence",
    "JudgeFn",
    "Match",
    "PassageSentence",
    "SentenceCheck",
    "attribute",
    "check_answer",
    "cite",
    "combine",
    "conflict",
    "containment",
    "content_words",
    "is_refusal",
    "judge_of",
    "markers",
    "names",
    "numbers",
    "passage_sentences",
    "specifics",
    "split_answer",
    "strip_invalid_markers",
]

_LINK_CITATION = re.compile(r"\[([^\[\]\n]{3,}?)\]\((\d{1,3})\)")


def _normalise_markers(text: str) -> str:
    """Citations written the other ways small models write them, as ``[n]``: a Markdown link whose
    target is a source number (``[the claim.](1)``) becomes ``the claim. [1]``."""
    return _LINK_CITATION.sub(lambda m: f"{m.group(1)} [{m.group(2)}]", text)


def _has_words(text: str) -> bool:
    """True when a text holds at least two words of two letters or more."""
    return len(re.findall(r"[^\W\d_]{2,}", text)) >= 2


def cite(
    question: str,
    raw_answer: str,
    passages: Sequence[Hit],
    embed: EmbedFn,
    model: str = "",
    judge: JudgeFn | None = None,
) -> CitedAnswer:
    """Check a draft over the numbered passages it was written from: every sentence gets a verdict
    (supported, contradicted, not stated) and markers only where it is supported.

    The answer becomes `NO_ANSWER` ("Your files don't say.") when the model refused, wrote no words,
    or when most of its fact sentences are not supported; the draft, with its verdicts in
    `sentences`, stays in `withheld` and the passages stay in `sources` as the closest passages.
    `judge` (`rag.citations.judge.judge_of(generator)`) reads each sentence the words find supported
    against its evidence sentence; without it the check is the words' alone."""
    sources = {n: hit.chunk for n, hit in enumerate(passages, start=1)}
    text, removed = strip_invalid_markers(_normalise_markers(raw_answer.strip()), set(sources))
    text, checks, is_fact = check_answer(question, text, sources, embed, judge)
    facts = [c for c, fact in zip(checks, is_fact, strict=True) if fact]
    refusals = any(is_refusal(c.text) for c, fact in zip(checks, is_fact, strict=True) if not fact)
    withheld, refused = "", False
    supported = sum(c.verdict == SUPPORTED for c in facts)
    if facts and supported * 2 < len(facts):
        # Most of it is not what the sources say.
        withheld, refused = text, True
    elif not facts and refusals:
        refused = True
    elif not facts and not _has_words(MARKER.sub("", text)):
        # Nothing but markers or punctuation ("[1] [1][2]"): the model wrote no answer at all.
        withheld, refused = text, True
    if refused:
        text = NO_ANSWER
        checks = checks if withheld else []
    return CitedAnswer(
        question=question,
        text=text,
        sources=sources,
        cited=markers(text),
        removed_markers=removed,
        sentences=checks,
        refused=refused,
        model=model,
        withheld=withheld,
    )
