"""From generated text to a `CitedAnswer`: markers resolved to passages, stray markers removed,
and each sentence checked for support by the passages it cites."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from indexer.types import Chunk, Hit
from rag.prompt import REFUSAL

SUPPORT_THRESHOLD = 0.40
"""Cosine similarity between a sentence and its best cited passage below which the sentence is
flagged as weakly supported (calibrated on the Debian FAQ by bench/calibrate.py)."""

WITHHOLD_BELOW = 0.25
"""When no sentence of an answer reaches this similarity to the passages it cites, the answer is
an invention (measured: the 0.5B model answers questions its sources cannot): it is withheld and
replaced by the refusal, the draft kept in `CitedAnswer.withheld`."""

_MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)(?:\s*\[\d{1,3}(?:\s*,\s*\d{1,3})*\])*", re.MULTILINE)
_REFUSALS = ("i don't know", "i do not know", "sources do not say", "sources do not contain", "not in the sources")


@dataclass(frozen=True)
class SentenceCheck:
    """One sentence of the answer, the sources it cites, and how well they support it."""

    text: str
    cites: list[int]
    support: float
    supported: bool
    reason: str


@dataclass
class CitedAnswer:
    """An answer whose every marker ``[n]`` resolves to a passage (file, page, span)."""

    question: str
    text: str
    sources: dict[int, Chunk]
    cited: list[int]
    removed_markers: list[int] = field(default_factory=list)
    sentences: list[SentenceCheck] = field(default_factory=list)
    refused: bool = False
    model: str = ""
    timing: dict[str, float] = field(default_factory=dict)
    withheld: str = ""

    def to_dict(self) -> dict:
        """A JSON-ready form."""
        data = asdict(self)
        data["sources"] = {str(n): asdict(chunk) for n, chunk in self.sources.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict) -> CitedAnswer:
        """The inverse of `to_dict`."""
        fields = dict(data)
        fields["sources"] = {int(n): Chunk(**chunk) for n, chunk in data["sources"].items()}
        fields["sentences"] = [SentenceCheck(**s) for s in data.get("sentences", [])]
        return cls(**fields)

    @property
    def weak_sentences(self) -> list[SentenceCheck]:
        """Sentences flagged as weakly supported or uncited."""
        return [s for s in self.sentences if not s.supported]


def is_refusal(text: str) -> bool:
    """True when the answer says the sources do not hold the answer."""
    lowered = text.lower().replace("’", "'")
    return any(phrase in lowered for phrase in _REFUSALS)


def strip_invalid_markers(text: str, valid: set[int]) -> tuple[str, list[int]]:
    """Remove citation numbers that point at no passage; returns the text and the removed numbers."""
    removed: list[int] = []

    def keep(match: re.Match[str]) -> str:
        numbers = [int(n) for n in re.split(r"\s*,\s*", match.group(1))]
        good = [n for n in numbers if n in valid]
        removed.extend(n for n in numbers if n not in valid)
        return "".join(f"[{n}]" for n in good)

    cleaned = _MARKER.sub(keep, text)
    cleaned = re.sub(r"[ \t]+([.,;:!?])", r"\1", cleaned)
    return re.sub(r"[ \t]{2,}", " ", cleaned).strip(), removed


def markers(text: str) -> list[int]:
    """Citation numbers in order of first appearance."""
    seen: dict[int, None] = {}
    for match in _MARKER.finditer(text):
        for number in re.split(r"\s*,\s*", match.group(1)):
            seen.setdefault(int(number), None)
    return list(seen)


def check_sentences(
    text: str,
    sources: dict[int, Chunk],
    embed: Callable[[Sequence[str]], np.ndarray],
    threshold: float = SUPPORT_THRESHOLD,
) -> list[SentenceCheck]:
    """Each sentence's support: the best cosine similarity to a passage it cites (or, uncited, to the
    passages of the next citation after it)."""
    sentences = [m.group().strip() for m in _SENTENCE.finditer(text) if len(m.group().strip()) > 2]
    if not sentences:
        return []
    plain = [_MARKER.sub("", s).strip() for s in sentences]
    cited_numbers = sorted({n for s in sentences for n in markers(s) if n in sources})
    vectors = embed(plain + [sources[n].text for n in cited_numbers])
    sentence_vectors, passage_vectors = (
        vectors[: len(plain)],
        dict(zip(cited_numbers, vectors[len(plain) :], strict=True)),
    )
    own = [[n for n in markers(sentence) if n in sources] for sentence in sentences]
    checks = []
    for index, (sentence, vector) in enumerate(zip(sentences, sentence_vectors, strict=True)):
        cites = own[index] or _following_citations(own, index)
        if not cites:
            checks.append(SentenceCheck(sentence, [], 0.0, is_refusal(sentence), "cites no source"))
            continue
        support = max(float(np.dot(vector, passage_vectors[n])) for n in cites)
        ok = support >= threshold
        reason = "" if ok else f"the cited passage barely matches it (similarity {support:.2f})"
        checks.append(SentenceCheck(sentence, own[index], support, ok, reason))
    return checks


def _following_citations(own: list[list[int]], index: int) -> list[int]:
    """Models often cite once at the end of a run of sentences: an uncited sentence is checked
    against the next citation that follows it."""
    return next((cites for cites in own[index + 1 :] if cites), [])


def cite(
    question: str,
    raw_answer: str,
    passages: Sequence[Hit],
    embed: Callable[[Sequence[str]], np.ndarray],
    model: str = "",
) -> CitedAnswer:
    """Build the `CitedAnswer` of a generated text over the numbered passages it was given."""
    sources = {n: hit.chunk for n, hit in enumerate(passages, start=1)}
    text, removed = strip_invalid_markers(raw_answer.strip(), set(sources))
    refused = is_refusal(text) and not markers(text)
    checks = [] if refused else check_sentences(text, sources, embed)
    withheld = ""
    if checks and max(c.support for c in checks) < WITHHOLD_BELOW:
        withheld, refused, checks = text, True, []
    if refused:
        text = REFUSAL
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
