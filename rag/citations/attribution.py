"""Attribution: which passage sentence supports each sentence of a draft, how well, and the markers
the sentence ends with once checked."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer.text_units import stems
from indexer.types import Chunk
from rag.citations.judge import JudgeFn
from rag.citations.records import Evidence, SentenceCheck
from rag.citations.replies import Reply, particle, source_reply
from rag.citations.sentences import (
    AnswerSentence,
    PassageSentence,
    flat_text,
    passage_sentences,
    split_answer,
)
from rag.citations.verdicts import (
    CONTRADICTED,
    NOT_STATED,
    SUPPORTED,
    Conflict,
    all_specifics,
    conflict,
    missing_specifics,
    stated_in,
)

# Calibrated by bench/calibrate.py on 60 Debian FAQ questions, 689 labelled sentences over 4 passages
# each. At 0.50: verbatim 0.0 % and rule-made paraphrases 0.0 % flagged, other-page sentences 83.8 %
# and invented ones 89.1 % flagged (at 0.55: 0.3 %, 93.7 %, 91.2 %). The lower value is taken for a
# margin: a model's own paraphrases share fewer words with the passage than rule-made ones (a
# hand-written "warranty lasts three years from the day you bought it" scores 0.46).
SUPPORT_THRESHOLD = 0.50
"""Attribution score under which a sentence is flagged as unsupported (``supported=False``)."""

WITHHOLD_BELOW = 0.40
"""When no sentence of an answer reaches this score the draft is an invention: it is withheld and
replaced by the refusal (kept in `CitedAnswer.withheld`). Measured: no verbatim or paraphrased
sentence scores below it; 44 % of other-page and 16 % of invented sentences do (the rest is flagged)."""

AGREE_MARGIN = 0.05
"""A model's marker stands when its passage scores within this margin of the best passage."""

VERBATIM_CONTAINMENT = 0.9
"""Share of a sentence's content words found in one passage sentence from which it is a copy."""

EmbedFn = Callable[[Sequence[str]], np.ndarray]


def containment(claim: set[str], passage: set[str]) -> float:
    """Share of the claim's content words found in the passage words."""
    return len(claim & passage) / len(claim) if claim else 0.0


def combine(cosine: float, contained: float) -> float:
    """The support score of a pair: embedding cosine, raised by word overlap; a near-verbatim copy
    scores at least its containment."""
    score = max(cosine, (cosine + contained) / 2)
    return max(score, contained) if contained >= VERBATIM_CONTAINMENT else score


@dataclass(frozen=True)
class Match:
    """The best passage sentence of one passage for one claim, and why it scores what it scores."""

    number: int
    unit: PassageSentence
    score: float
    cosine: float
    contained: float
    missing: tuple[str, ...]

    @property
    def supports(self) -> bool:
        """Scores above the flag threshold and states every number and name of the claim."""
        return self.score >= SUPPORT_THRESHOLD and not self.missing


def attribute(
    claims: Sequence[str], sources: dict[int, Chunk], embed: EmbedFn, question: str = ""
) -> list[dict[int, Match]]:
    """For each claim, the best-matching sentence (or two-sentence window) of every passage.
    All claims and passage sentences are embedded in one call."""
    units = {n: passage_sentences(chunk.text) for n, chunk in sources.items()}
    texts = list(dict.fromkeys([*claims, *(flat_text(u.text) for us in units.values() for u in us)]))
    if not claims or not texts:
        return [{} for _ in claims]
    vectors = dict(zip(texts, embed(texts), strict=True))
    passages = {n: _Passage.of(units[n], vectors, sources[n]) for n in sources}
    excused = _excused(question, [p.text for p in passages.values()])
    results = []
    for claim in claims:
        words = stems(claim)
        matches = {}
        for n, passage in passages.items():
            best = passage.best(vectors[claim], words)
            if best is not None:
                missing = tuple(sorted(missing_specifics(claim, passage.text, excused)))
                matches[n] = Match(n, *best, missing)
        results.append(matches)
    return results


def _excused(question: str, passages: Sequence[str]) -> set[str]:
    """The question's specifics that some passage states: an answer may repeat them although its own
    evidence sentence says "it" (a name the question brings that no passage knows is not excused:
    the library does not speak of it)."""
    asked = all_specifics(question)
    return {token.lower() for token, shape in asked.items() if any(stated_in(token, shape, t) for t in passages)}


@dataclass(frozen=True)
class _Passage:
    """A passage ready to score claims against: its sentences, their vectors, words and numbers."""

    units: list[PassageSentence]
    vectors: list[np.ndarray]
    words: list[set[str]]
    text: str
    """The passage as a reader writes it, after its file's name: what a claim's specifics must be
    found in (an answer may name the document's subject, "Debian" from debian-faq.pdf)."""

    @classmethod
    def of(cls, units: list[PassageSentence], vectors: dict[str, np.ndarray], chunk: Chunk) -> _Passage:
        """Index one passage's sentences with vectors already computed."""
        return cls(
            units,
            [vectors[flat_text(u.text)] for u in units],
            [stems(u.text) for u in units],
            stated_text(chunk),
        )

    def windows(self) -> list[tuple[PassageSentence, np.ndarray, set[str], float]]:
        """Each sentence, then each pair of neighbouring sentences (normalised sum of their vectors)
        with a small handicap so a single sentence wins a near tie."""
        found = [(u, v, w, 0.0) for u, v, w in zip(self.units, self.vectors, self.words, strict=True)]
        for i in range(len(self.units) - 1):
            summed = self.vectors[i] + self.vectors[i + 1]
            pair = PassageSentence(self.units[i].start, self.units[i + 1].end, "")
            found.append(
                (pair, summed / max(float(np.linalg.norm(summed)), 1e-9), self.words[i] | self.words[i + 1], 0.02)
            )
        return found

    def best(self, claim_vector: np.ndarray, words: set[str]) -> tuple[PassageSentence, float, float, float] | None:
        """The window that best supports a claim: (window, score, cosine, containment)."""
        best, best_rank = None, -np.inf
        for unit, vector, unit_words, handicap in self.windows():
            cosine = float(np.dot(claim_vector, vector))
            contained = containment(words, unit_words)
            score = combine(cosine, contained)
            if score - handicap > best_rank:
                best, best_rank = (unit, score, cosine, contained), score - handicap
        return best


def stated_text(chunk: Chunk) -> str:
    """What a passage states, for a claim's specifics: its file's name as words (an answer may name the
    document's subject, "Debian" of debian-faq.en.pdf), then its text as a reader writes it."""
    name = " ".join(re.findall(r"[^\W_]+", Path(chunk.path).stem))
    return f"{name}. {flat_text(chunk.text)}"


def _evidence(match: Match, chunk: Chunk) -> Evidence:
    """A match in page coordinates."""
    start, end = match.unit.start, match.unit.end
    return Evidence(match.number, chunk.char_start + start, chunk.char_start + end, chunk.text[start:end], match.score)


def _final_cites(sentence: AnswerSentence, matches: dict[int, Match]) -> list[int]:
    """The model's markers where their passage supports the sentence about as well as the best one,
    else the best supporting passage, else none: a marker is only ever put on a supported sentence."""
    supporting = [m for m in matches.values() if m.supports]
    if not supporting:
        return []
    top = max(m.score for m in supporting)
    kept = [
        n
        for n in sentence.model_cites
        if n in matches and matches[n].supports and matches[n].score >= top - AGREE_MARGIN
    ]
    return kept or [max(supporting, key=_states_best).number]


def _states_best(match: Match) -> float:
    """How well a supporting passage states a claim, to choose the one a marker points to: meaning and
    words weigh alike. (The support score itself lets meaning alone carry a sentence, so "Mowing the
    lawn is more fun in summer" would outrank "In summer, mow the lawn once a week" for "mow once a
    week in summer": close in meaning, but it lacks the claim's point.)"""
    return (match.cosine + match.contained) / 2


def _any_complete(matches: dict[int, Match]) -> bool:
    return any(not m.missing for m in matches.values())


def _check(
    sentence: AnswerSentence,
    matches: dict[int, Match],
    sources: dict[int, Chunk],
    excused: set[str],
    judge: JudgeFn | None = None,
) -> SentenceCheck:
    """The verdict on one sentence: supported (with its final markers), contradicted (with the source
    sentence that says otherwise) or not stated (with why)."""
    if sentence.kind != "fact":
        return SentenceCheck(sentence.written([]), [], 0.0, True, "", [], sentence.model_cites)
    cites = _final_cites(sentence, matches)
    closest = max(matches.values(), key=lambda m: m.score, default=None)
    judged = [matches[n] for n in cites] or ([closest] if closest and closest.score >= WITHHOLD_BELOW else [])
    for match in judged:
        found = conflict(sentence.claim, _unit_text(match, sources), excused)
        if found is not None:
            return _contradicted(sentence, match, found, sources)
    if cites and judge is not None:
        # Close in meaning and no conflict the words show: the model reads the pair (measured: it
        # catches negations and swaps the rules miss, and calls no faithful paraphrase otherwise).
        best = max((matches[n] for n in cites), key=lambda m: m.score)
        verdict = judge(sentence.claim, _unit_text(best, sources))
        if verdict == CONTRADICTED:
            return _contradicted(
                sentence, best, Conflict("meaning", sentence.claim, _unit_text(best, sources)), sources
            )
        if verdict == NOT_STATED:
            reason = f"the model reads [{best.number}] as not saying this"
            return SentenceCheck(
                sentence.written([]), [], best.score, False, reason, [], sentence.model_cites, NOT_STATED
            )
    if cites:
        evidence = [_evidence(matches[n], sources[n]) for n in cites]
        support = max(matches[n].score for n in cites)
        return SentenceCheck(
            sentence.written(cites), cites, support, True, "", evidence, sentence.model_cites, SUPPORTED
        )
    support = closest.score if closest else 0.0
    return SentenceCheck(
        sentence.written([]), [], support, False, _reason(matches), [], sentence.model_cites, NOT_STATED
    )


def _unit_text(match: Match, sources: dict[int, Chunk]) -> str:
    return sources[match.number].text[match.unit.start : match.unit.end]


def _contradicted(sentence: AnswerSentence, match: Match, found: Conflict, sources: dict[int, Chunk]) -> SentenceCheck:
    """A sentence a source says otherwise of: no marker, the contradicting sentence kept."""
    source = sources[match.number]
    reason = f"[{match.number}] {Path(source.path).name}, {source.where}: {found.describe()}"
    return SentenceCheck(
        sentence.written([]),
        [],
        match.score,
        False,
        reason,
        [],
        sentence.model_cites,
        CONTRADICTED,
        _evidence(match, source),
    )


def _reason(matches: dict[int, Match]) -> str:
    """Why no passage supports a sentence, in words for the reader."""
    if not matches:
        return "no source was given to support it"
    closest = max(matches.values(), key=lambda m: m.score)
    if closest.missing and closest.score >= SUPPORT_THRESHOLD:
        return f"source [{closest.number}] does not mention {', '.join(closest.missing)}"
    return f"no source states this (closest: [{closest.number}], score {closest.score:.2f})"


def _rewrite(text: str, sentences: Sequence[AnswerSentence], checks: Sequence[SentenceCheck]) -> str:
    """The draft with each sentence replaced by its checked form; text between sentences is kept."""
    pieces, position = [], 0
    for sentence, check in zip(sentences, checks, strict=True):
        pieces += [text[position : sentence.start], check.text]
        position = sentence.end
    pieces.append(text[position:])
    return re.sub(r"[ \t]{2,}", " ", "".join(pieces)).strip()


_PRONOUN_START = re.compile(r"^(?:it|its|this|that|these|those|they|their|them|he|she|his|her)\b", re.IGNORECASE)


def _in_context(claim: str, previous: str) -> str:
    """A claim as attribution reads it: one that opens with a pronoun ("It starts on the date of
    purchase") carries the sentence before it, which says what "it" is."""
    return f"{previous} {claim}" if previous and _PRONOUN_START.match(claim) else claim


def check_answer(
    question: str, text: str, sources: dict[int, Chunk], embed: EmbedFn, judge: JudgeFn | None = None
) -> tuple[str, list[SentenceCheck], list[bool]]:
    """Attribute every sentence of a draft to its passages; returns the rewritten text, the checks
    and, for each check, whether its sentence states facts (refusals and connective text do not)."""
    sentences = split_answer(text)
    facts = [s for s in sentences if s.kind == "fact"]
    claims = [_in_context(s.claim, facts[i - 1].claim if i else "") for i, s in enumerate(facts)]
    found = attribute(claims, sources, embed, question)
    matches = {id(s): m for s, m in zip(facts, found, strict=True)}
    excused = _excused(question, [stated_text(c) for c in sources.values()])
    asked = stems(question)
    checks = [_verdict(s, asked, matches.get(id(s), {}), sources, excused, judge) for s in sentences]
    is_fact = [s.kind == "fact" for s in sentences]
    # An answer that opens with a bare "Yes." or "No." says it of the question itself.
    said = particle(sentences[0].core) if sentences and not is_fact[0] else None
    reply = source_reply(f"{said}, {question}", sources) if said else None
    if reply is not None:
        checks[0], is_fact[0] = _answered(sentences[0], reply, sources), True
    return _rewrite(text, sentences, checks), checks, is_fact


def _repeats(sentence: AnswerSentence, asked: set[str]) -> bool:
    """A fact-shaped sentence all of whose words come from the question ("The minimum disk space for a
    basic installation is [3]."): it restates what was asked and says nothing of its own."""
    words = stems(sentence.claim)
    return sentence.kind == "fact" and len(words) >= 2 and words <= asked


def _verdict(
    sentence: AnswerSentence,
    asked: set[str],
    matches: dict[int, Match],
    sources: dict[int, Chunk],
    excused: set[str],
    judge: JudgeFn | None,
) -> SentenceCheck:
    """A sentence that says yes or no to a question a source asks and answers at once with its own yes
    or no is checked against that reply (`rag.citations.replies`): words alone would read the source's
    question as a statement ("Do I have to keep them?" against "No, you do not have to keep them"). A
    sentence that only restates the question is an echo; any other goes to `_check`."""
    reply = source_reply(sentence.claim, sources) if sentence.kind == "fact" else None
    if reply is not None:
        return _answered(sentence, reply, sources)
    if _repeats(sentence, asked):
        return _echo(sentence)
    return _check(sentence, matches, sources, excused, judge)


def _answered(sentence: AnswerSentence, reply: Reply, sources: dict[int, Chunk]) -> SentenceCheck:
    """The verdict a source's own yes or no gives a sentence: supported by the same, contradicted by the
    other."""
    if reply.agrees:
        cites, score = [reply.number], reply.evidence.score
        evidence = [reply.evidence]
        return SentenceCheck(sentence.written(cites), cites, score, True, "", evidence, sentence.model_cites, SUPPORTED)
    source = sources[reply.number]
    reason = f"[{reply.number}] {Path(source.path).name}, {source.where}: the source answers {reply.said!r}"
    score = reply.evidence.score
    return SentenceCheck(
        sentence.written([]), [], score, False, reason, [], sentence.model_cites, CONTRADICTED, reply.evidence
    )


def _echo(sentence: AnswerSentence) -> SentenceCheck:
    reason = "it only repeats the question"
    return SentenceCheck(sentence.written([]), [], 0.0, False, reason, [], sentence.model_cites, NOT_STATED)
