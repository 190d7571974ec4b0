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
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from indexer.types import Chunk, Hit
from rag.prompt import REFUSAL

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

_MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_MARKER_RUN = r"(?:\s*\[\d{1,3}(?:\s*,\s*\d{1,3})*\])*"
_ANSWER_END = re.compile(r"[.!?…]+[\"'”’)]*" + _MARKER_RUN + r"(?=\s|$)")
_PASSAGE_END = re.compile(
    r"(?<![\s.])[.!?…][\"'”’)\]]*(?=\s+[A-Z0-9\"“(•▪●◦]|\s*$)|\n\s*\n|(?=[•▪●◦])|\n(?=\s*(?:[-*]|\d{1,2}[.)])\s)"
)
_BULLET = re.compile(r"^\s*(?:[-*•▪●◦]|\d{1,2}[.)])\s+")
_TERMINAL = re.compile(r"\s*([.!?…]+[\"'”’)]*)?\s*$")
_ABBREVIATIONS = {"e.g", "i.e", "etc", "vs", "cf", "dr", "mr", "mrs", "ms", "no", "fig", "approx", "st"}
_REFUSALS = ("i don't know", "i do not know", "sources do not say", "sources do not contain", "not in the sources")
_BUT = re.compile(r"\b(?:but|however|although|though|still)\b[,:]?\s*", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+")
_NUMBER = re.compile(r"\d+(?:[.,\u00a0\u202f ]\d{3})*(?:\.\d+)?")
_NAME = re.compile(r"(?<=[a-z0-9,;)] )[A-Z][a-z]{3,}\b")
_HYPHEN_BREAK = re.compile(r"(\w)-\s*\n\s*(\w)")
_NUMBER_WORDS = dict(
    zip(
        "zero one two three four five six seven eight nine ten eleven twelve".split(),
        (str(n) for n in range(13)),
        strict=True,
    )
)
_STOPWORDS = frozenset(
    """a about above after again all also am an and any are as at be been before being below between both by
    can could did do does doing done down during each either else etc for from further had has have having
    here how however i if in into is it its itself just may me might more most much must my neither nor of
    off on once only or other our out over own per same shall she should so some such than that the their
    them then there these they this those through to too under until up upon us very via was we were what
    when where whether which while who whom whose why will with within would yes you your
    sources source say says said state states stated according know exactly sure mention mentions answer
    passage passages document documents text""".split()
)


@dataclass(frozen=True)
class Evidence:
    """The passage sentence that supports a sentence under marker ``[number]``; its span is in page
    coordinates: ``page_text[char_start:char_end] == text``."""

    number: int
    char_start: int
    char_end: int
    text: str
    score: float


@dataclass(frozen=True)
class SentenceCheck:
    """One sentence of the answer (as written in `CitedAnswer.text`), the sources it finally cites,
    the markers the model gave it, how well it is supported and by which passage sentences."""

    text: str
    cites: list[int]
    support: float
    supported: bool
    reason: str
    evidence: list[Evidence] = field(default_factory=list)
    model_cites: list[int] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict) -> SentenceCheck:
        """Rebuild from `asdict` output; older dicts without evidence are accepted."""
        known = _known(cls, data)
        known["evidence"] = [Evidence(**_known(Evidence, e)) for e in data.get("evidence", [])]
        return cls(**known)


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
        """The inverse of `to_dict`; dicts written before evidence existed load too."""
        known = _known(cls, data)
        known["sources"] = {int(n): Chunk(**chunk) for n, chunk in data.get("sources", {}).items()}
        known["sentences"] = [SentenceCheck.from_dict(s) for s in data.get("sentences", [])]
        return cls(**known)

    @property
    def weak_sentences(self) -> list[SentenceCheck]:
        """Sentences flagged as not supported by any passage."""
        return [s for s in self.sentences if not s.supported]

    def evidence_for(self, number: int) -> Evidence | None:
        """The best evidence for marker ``[number]`` over all sentences (what the viewer highlights)."""
        found = [e for s in self.sentences for e in s.evidence if e.number == number]
        return max(found, key=lambda e: e.score, default=None)


def _known(cls: type, data: dict) -> dict:
    """The entries of `data` that are fields of dataclass `cls` (unknown keys are ignored)."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def is_refusal(text: str) -> bool:
    """True when the text says the sources do not hold the answer."""
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


# --- text units ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence of a draft: its span in the draft, its words without markers, the markers the
    model gave it, and the part of it that states facts (empty for refusals and connective text)."""

    start: int
    end: int
    core: str
    punct: str
    model_cites: list[int]
    claim: str

    @property
    def kind(self) -> str:
        """``fact`` (needs support), ``refusal`` or ``connective`` (needs no marker)."""
        if self.claim:
            return "fact"
        return "refusal" if is_refusal(self.core) else "connective"

    def written(self, cites: Sequence[int]) -> str:
        """The sentence as it appears in the final text: words, then markers, then its punctuation."""
        marks = "".join(f"[{n}]" for n in cites)
        return f"{self.core} {marks}{self.punct}" if marks else f"{self.core}{self.punct}"


@dataclass(frozen=True)
class PassageSentence:
    """A sentence (or two neighbouring sentences) of a passage, with its span inside `Chunk.text`."""

    start: int
    end: int
    text: str


def split_answer(text: str) -> list[AnswerSentence]:
    """The sentences of a draft, line by line; a list bullet stays outside its sentence and markers
    standing alone after a sentence belong to it."""
    sentences: list[AnswerSentence] = []
    for line in re.finditer(r"[^\n]+", text):
        start = line.start() + len(_BULLET.match(line.group()).group()) if _BULLET.match(line.group()) else line.start()
        for end in [line.start() + m.end() for m in _ANSWER_END.finditer(line.group())] + [line.end()]:
            if end <= start or _is_abbreviation(text[start:end]):
                continue
            piece = text[start:end]
            sentence = _answer_sentence(start + len(piece) - len(piece.lstrip()), start + len(piece.rstrip()), text)
            if sentence is None and sentences:  # markers alone: they belong to the sentence before
                previous = sentences[-1]
                cites = previous.model_cites + [n for n in markers(piece) if n not in previous.model_cites]
                sentences[-1] = AnswerSentence(
                    previous.start, end, previous.core, previous.punct, cites, previous.claim
                )
            elif sentence is not None:
                sentences.append(sentence)
            start = end
    return sentences


def _is_abbreviation(piece: str) -> bool:
    """True when the piece ends at an abbreviation's period or is only a list number, not a sentence."""
    plain = _MARKER.sub("", piece).rstrip()
    if not re.search(r"[A-Za-z]", plain):
        return not markers(piece) and bool(plain)
    word = re.search(r"([A-Za-z.]+)\.$", plain)
    return bool(word) and word.group(1).lower() in _ABBREVIATIONS


def _answer_sentence(start: int, end: int, text: str) -> AnswerSentence | None:
    """One sentence of `text[start:end]`, or None when it holds only markers."""
    raw = text[start:end]
    body = re.sub(r"[ \t]+([.,;:!?…])", r"\1", _MARKER.sub("", raw))
    body = re.sub(r"[ \t]{2,}", " ", body).strip()
    if not re.search(r"\w", body):
        return None
    terminal = _TERMINAL.search(body)
    punct = terminal.group(1) or ""
    core = body[: terminal.start()].rstrip()
    return AnswerSentence(start, end, core, punct, markers(raw), _claim(core + punct))


def _claim(sentence: str) -> str:
    """The part of a sentence that states facts: all of it, the part after "but" in a refusal that
    goes on to say something ("I don't know exactly, but the sources say X"), or nothing."""
    if is_refusal(sentence):
        parts = _BUT.split(sentence, maxsplit=1)
        sentence = parts[1] if len(parts) == 2 and not is_refusal(parts[1]) else ""
    words = content_words(sentence)
    if len(words) < 2 and not numbers(sentence):
        return ""  # connective text ("Yes.", "In short:")
    if sentence.rstrip().endswith(":") and len(words) <= 4:
        return ""  # an introduction ("Here is what the sources say:")
    return sentence.strip()


def passage_sentences(text: str) -> list[PassageSentence]:
    """A passage's sentences (split at sentence ends, blank lines and list bullets), with their spans."""
    bounds = sorted({0, len(text), *(m.end() for m in _PASSAGE_END.finditer(text))})
    found = []
    for start, end in itertools.pairwise(bounds):
        piece = text[start:end]
        left, right = start + len(piece) - len(piece.lstrip()), start + len(piece.rstrip())
        if len(_WORD.findall(text[left:right].lower())) >= 2:
            found.append(PassageSentence(left, right, text[left:right]))
    return found


def _flat(text: str) -> str:
    """Text as a reader would write it: line-break hyphens joined, whitespace collapsed."""
    return " ".join(_HYPHEN_BREAK.sub(r"\1\2", text).split())


def content_words(text: str) -> set[str]:
    """Lower-cased content words cut to six characters (a crude stem: install, installed, installing)."""
    words = _WORD.findall(_flat(text).lower().replace("’", "'"))
    return {_NUMBER_WORDS.get(w, w)[:6] for w in words if w not in _STOPWORDS and (len(w) > 1 or w.isdigit())}


def numbers(text: str) -> set[str]:
    """Numbers in a text, normalised (59,100 and 59 100 are 59100; "seven" is 7)."""
    found = {re.sub(r"[,\u00a0\u202f ]", "", m.group()) for m in _NUMBER.finditer(text)}
    found |= {_NUMBER_WORDS[w] for w in _WORD.findall(text.lower()) if w in _NUMBER_WORDS}
    return found


def names(text: str) -> set[str]:
    """Lower-cased proper names: capitalised words of four letters or more inside a sentence (not
    its first word, nor the first after a colon)."""
    return {w.lower() for w in _NAME.findall(_flat(text))}


def specifics(text: str) -> set[str]:
    """What a claim must not invent: its numbers and names."""
    return numbers(text) | names(text)


def containment(claim: set[str], passage: set[str]) -> float:
    """Share of the claim's content words found in the passage words."""
    return len(claim & passage) / len(claim) if claim else 0.0


def combine(cosine: float, contained: float) -> float:
    """The support score of a pair: embedding cosine, raised by word overlap; a near-verbatim copy
    scores at least its containment."""
    score = max(cosine, (cosine + contained) / 2)
    return max(score, contained) if contained >= VERBATIM_CONTAINMENT else score


# --- attribution -----------------------------------------------------------------------------------


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
    texts = list(dict.fromkeys([*claims, *(_flat(u.text) for us in units.values() for u in us)]))
    if not claims or not texts:
        return [{} for _ in claims]
    vectors = dict(zip(texts, embed(texts), strict=True))
    passages = {n: _Passage.of(units[n], vectors, sources[n]) for n in sources}
    asked = specifics(question)
    results = []
    for claim in claims:
        words, claimed = content_words(claim), specifics(claim) - asked
        matches = {}
        for n, passage in passages.items():
            best = passage.best(vectors[claim], words)
            if best is not None:
                missing = tuple(sorted(claimed - passage.stated))
                matches[n] = Match(n, *best, missing)
        results.append(matches)
    return results


@dataclass(frozen=True)
class _Passage:
    """A passage ready to score claims against: its sentences, their vectors, words and numbers."""

    units: list[PassageSentence]
    vectors: list[np.ndarray]
    words: list[set[str]]
    stated: set[str]
    """The passage's numbers and lower-cased words: what a claim's specifics must be found in."""

    @classmethod
    def of(cls, units: list[PassageSentence], vectors: dict[str, np.ndarray], chunk: Chunk) -> _Passage:
        """Index one passage's sentences with vectors already computed."""
        return cls(
            units,
            [vectors[_flat(u.text)] for u in units],
            [content_words(u.text) for u in units],
            numbers(_flat(chunk.text)) | set(_WORD.findall(_flat(chunk.text).lower())),
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


def _evidence(match: Match, chunk: Chunk) -> Evidence:
    """A match in page coordinates."""
    start, end = match.unit.start, match.unit.end
    return Evidence(match.number, chunk.char_start + start, chunk.char_start + end, chunk.text[start:end], match.score)


def _final_cites(sentence: AnswerSentence, matches: dict[int, Match]) -> list[int]:
    """The model's markers where attribution agrees, else the best supporting passage, else none."""
    if not matches:
        return []
    top = max(m.score for m in matches.values() if not m.missing) if _any_complete(matches) else 0.0
    kept = [
        n
        for n in sentence.model_cites
        if n in matches and not matches[n].missing and matches[n].score >= max(top - AGREE_MARGIN, WITHHOLD_BELOW)
    ]
    if kept:
        return kept
    supporting = [m for m in matches.values() if m.supports]
    return [max(supporting, key=_states_best).number] if supporting else []


def _states_best(match: Match) -> float:
    """How well a supporting passage states a claim, to choose the one a marker points to: meaning and
    words weigh alike. (The support score itself lets meaning alone carry a sentence, so "Mowing the
    lawn is more fun in summer" would outrank "In summer, mow the lawn once a week" for "mow once a
    week in summer": close in meaning, but it lacks the claim's point.)"""
    return (match.cosine + match.contained) / 2


def _any_complete(matches: dict[int, Match]) -> bool:
    return any(not m.missing for m in matches.values())


def _check(sentence: AnswerSentence, matches: dict[int, Match], sources: dict[int, Chunk]) -> SentenceCheck:
    """The verdict on one sentence: its final markers, its support and, when unsupported, why."""
    if sentence.kind != "fact":
        return SentenceCheck(sentence.written([]), [], 0.0, True, "", [], sentence.model_cites)
    cites = _final_cites(sentence, matches)
    evidence = [_evidence(matches[n], sources[n]) for n in cites]
    if cites:
        support = max(matches[n].score for n in cites)
        supported = any(matches[n].supports for n in cites)
    else:
        support = max((m.score for m in matches.values()), default=0.0)
        supported = False
    reason = "" if supported else _reason(matches)
    return SentenceCheck(sentence.written(cites), cites, support, supported, reason, evidence, sentence.model_cites)


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


def check_answer(
    question: str, text: str, sources: dict[int, Chunk], embed: EmbedFn
) -> tuple[str, list[SentenceCheck], list[bool]]:
    """Attribute every sentence of a draft to its passages; returns the rewritten text, the checks
    and, for each check, whether its sentence states facts (refusals and connective text do not)."""
    sentences = split_answer(text)
    facts = [s for s in sentences if s.kind == "fact"]
    found = attribute([s.claim for s in facts], sources, embed, question)
    matches = {id(s): m for s, m in zip(facts, found, strict=True)}
    checks = [_check(s, matches.get(id(s), {}), sources) for s in sentences]
    return _rewrite(text, sentences, checks), checks, [s.kind == "fact" for s in sentences]


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
) -> CitedAnswer:
    """Build the `CitedAnswer` of a generated text over the numbered passages it was given."""
    sources = {n: hit.chunk for n, hit in enumerate(passages, start=1)}
    text, removed = strip_invalid_markers(_normalise_markers(raw_answer.strip()), set(sources))
    text, checks, is_fact = check_answer(question, text, sources, embed)
    facts = [c for c, fact in zip(checks, is_fact, strict=True) if fact]
    refusals = any(is_refusal(c.text) for c, fact in zip(checks, is_fact, strict=True) if not fact)
    withheld, refused = "", False
    if not any(c.supported for c in facts) and facts and max(c.support for c in facts) < WITHHOLD_BELOW:
        withheld, refused = text, True
    elif not facts and refusals:
        refused = True
    elif not facts and not _has_words(_MARKER.sub("", text)):
        # Nothing but markers or punctuation ("[1] [1][2]"): the model wrote no answer at all.
        withheld, refused = text, True
    if refused:
        text, checks = REFUSAL, []
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
