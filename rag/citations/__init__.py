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
from rag.citations.checking import Checker, Checking, cite
from rag.citations.judge import JudgeFn, judge_of
from rag.citations.records import CitedAnswer, Evidence, SentenceCheck
from rag.citations.sentences import (
    AnswerSentence,
    PassageSentence,
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
    "Checker",
    "Checking",
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
