"""Yes or no, as a question-and-answer document gives it.

A draft that opens "Yes, you have to keep the downloaded .deb files." only restates the question with a
yes in front, so the words alone cannot check it (it is an echo). But an FAQ often asks that question
itself and answers it at once: "Do I have to keep all those .deb archive files on my disk? No." There the
source's yes or no is the evidence: the same answer supports the sentence, the other one contradicts it.

Only where the reading is safe: the source's question shares at least `MIN_SHARED` content words with
the sentence and at least half of its own; both ask with the same kind of verb (may/can, must/have to,
or neither: "can I keep them?" yes and "must I keep them?" no are both true); and neither says "not" or
"without" where the other does not, but for a no that says its no again ("No, you do not have to").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from indexer.text_units import sentence_spans, stems
from indexer.types import Chunk
from rag.citations.records import Evidence

MIN_SHARED = 3
_PARTICLE = re.compile(r"^\s*(yes|no)\b", re.IGNORECASE)
_ABLE = re.compile(r"\b(?:can|could|may|might|able|possible|allowed)\b", re.IGNORECASE)
_OBLIGED = re.compile(r"\b(?:must|have to|has to|need|needs|required|should|ought)\b", re.IGNORECASE)
_SECTION = re.compile(r"^\s*\d+(?:\.\d+)*\.?\s+")
"""A section number before an FAQ's question ("9.3 Do I have to …?")."""
_DENIAL = re.compile(r"\b(?:not|no|never|without|cannot|\w+n't|nothing|none)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Reply:
    """A source's own yes or no to the question a sentence answers: the source's number, its reply
    sentence in page coordinates, and whether it agrees with the sentence."""

    number: int
    evidence: Evidence
    agrees: bool
    said: str
    """``yes`` or ``no``, as the source says it."""


def particle(sentence: str) -> str | None:
    """``yes`` or ``no`` when the sentence opens with one."""
    found = _PARTICLE.match(sentence)
    return found.group(1).lower() if found else None


def source_reply(claim: str, sources: dict[int, Chunk]) -> Reply | None:
    """Where a source asks the question a yes-or-no sentence answers and answers it at once (see the
    module); the closest such question's reply, or None."""
    said = particle(claim)
    if said is None:
        return None
    rest = _PARTICLE.sub("", claim)
    words = stems(rest)
    best: tuple[float, Reply] | None = None
    for number, chunk in sources.items():
        spans = sentence_spans(chunk.text)
        for (a, b), (c, d) in pairwise(spans):
            question, answer = _SECTION.sub("", chunk.text[a:b]), chunk.text[c:d]
            theirs = particle(answer)
            if theirs is None or not question.rstrip().endswith("?") or not _alike(rest, question, said):
                continue
            asked = stems(question)
            shared = len(words & asked)
            if shared < MIN_SHARED or shared * 2 < len(asked):
                continue
            score = shared / len(words | asked)
            evidence = Evidence(number, chunk.char_start + c, chunk.char_start + d, answer, score)
            if best is None or score > best[0]:
                best = (score, Reply(number, evidence, theirs == said, theirs))
    return best[1] if best else None


def _alike(claim: str, question: str, said: str) -> bool:
    """Same kind of verb (may/can, must/have to, neither) and the same denials on both sides, but for a
    no that says its no again ("No, you do not have to keep them")."""

    def kind(text: str) -> tuple[bool, bool]:
        return bool(_ABLE.search(text)), bool(_OBLIGED.search(text))

    denied, asked_denied = bool(_DENIAL.search(claim)), bool(_DENIAL.search(question))
    return kind(claim) == kind(question) and (denied == asked_denied or (said == "no" and denied))
