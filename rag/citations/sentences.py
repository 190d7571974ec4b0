"""Text units of the citation check: the sentences of a draft and of a passage, their content words,
numbers and names, and the ``[n]`` markers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from indexer.text_units import ABBREVIATIONS, NUMBER_WORDS, flat_text, sentence_spans, stems, words

MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_MARKER_RUN = r"(?:\s*\[\d{1,3}(?:\s*,\s*\d{1,3})*\])*"
_ANSWER_END = re.compile(r"[.!?…]+[\"'”’)]*" + _MARKER_RUN + r"(?=\s|$)")
_BULLET = re.compile(r"^\s*(?:[-*•▪●◦]|\d{1,2}[.)])\s+")
_TERMINAL = re.compile(r"\s*([.!?…]+[\"'”’)]*)?\s*$")
_REFUSALS = (
    "i don't know",
    "i do not know",
    "sources do not say",
    "sources do not contain",
    "not in the sources",
    "files don't say",
)
_BUT = re.compile(r"\b(?:but|however|although|though|still)\b[,:]?\s*", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:[.,\u00a0\u202f ]\d{3})*(?:\.\d+)?")
_NAME = re.compile(r"(?<=[a-z0-9,;)] )[A-Z][a-z]{3,}\b")


_SILENT_SOURCES = re.compile(
    r"\b(?:not|never)\s+(?:\w+\s+)?(?:mentioned|stated|specified|given|provided|found|covered|listed|"
    r"discussed|included|addressed|described)\s+(?:in|by)\s+(?:the|these|your|any(?:\s+of\s+the)?)\s+"
    r"(?:provided\s+)?(?:sources|documents|files|passages|context|texts)(?=\s*(?:\[[\d,\s]+\]\s*)*(?:[.,;:!]|$))"
    r"|\b(?:the|these|your)\s+(?:provided\s+)?(?:sources|documents|files|passages|texts)\s+(?:do|did)\s*(?:not|n't)\s+"
    r"(?:mention|state|specify|give|provide|include|cover|discuss|address|describe|say|contain)\b"
)
"""The other ways a model says its sources are silent ("The price … is not mentioned in the sources"):
seen checked as a fact, and footnoted to a page that says "free as in freedom, not price"."""


def is_refusal(text: str) -> bool:
    """True when the text says the sources do not hold the answer."""
    lowered = text.lower().replace("’", "'")
    return any(phrase in lowered for phrase in _REFUSALS) or _SILENT_SOURCES.search(lowered) is not None


def strip_invalid_markers(text: str, valid: set[int]) -> tuple[str, list[int]]:
    """Remove citation numbers that point at no passage; returns the text and the removed numbers."""
    removed: list[int] = []

    def keep(match: re.Match[str]) -> str:
        numbers = [int(n) for n in re.split(r"\s*,\s*", match.group(1))]
        good = [n for n in numbers if n in valid]
        removed.extend(n for n in numbers if n not in valid)
        return "".join(f"[{n}]" for n in good)

    cleaned = MARKER.sub(keep, text)
    cleaned = re.sub(r"[ \t]+([.,;:!?])(?=\s|$)", r"\1", cleaned)
    return re.sub(r"[ \t]{2,}", " ", cleaned).strip(), removed


def markers(text: str) -> list[int]:
    """Citation numbers in order of first appearance."""
    seen: dict[int, None] = {}
    for match in MARKER.finditer(text):
        for number in re.split(r"\s*,\s*", match.group(1)):
            seen.setdefault(int(number), None)
    return list(seen)


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
    plain = MARKER.sub("", piece).rstrip()
    if not re.search(r"[A-Za-z]", plain):
        return not markers(piece) and bool(plain)
    word = re.search(r"([A-Za-z.]+)\.$", plain)
    return bool(word) and word.group(1).lower() in ABBREVIATIONS


def _answer_sentence(start: int, end: int, text: str) -> AnswerSentence | None:
    """One sentence of `text[start:end]`, or None when it holds only markers."""
    raw = text[start:end]
    body = re.sub(r"[ \t]+([.,;:!?…])(?=\s|$)", r"\1", MARKER.sub("", raw))
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
    words = stems(sentence)
    if len(words) < 2 and not numbers(sentence):
        return ""  # connective text ("Yes.", "In short:")
    if sentence.rstrip().endswith(":") and len(words) <= 4:
        return ""  # an introduction ("Here is what the sources say:")
    return sentence.strip()


def passage_sentences(text: str) -> list[PassageSentence]:
    """A passage's sentences (`indexer.text_units.sentence_spans`) of two words or more, with their spans."""
    return [PassageSentence(a, b, text[a:b]) for a, b in sentence_spans(text) if len(words(text[a:b])) >= 2]


def numbers(text: str) -> set[str]:
    """Numbers in a text, normalised (59,100 and 59 100 are 59100; "seven" is 7)."""
    found = {re.sub(r"[,\u00a0\u202f ]", "", m.group()) for m in _NUMBER.finditer(text)}
    found |= {NUMBER_WORDS[w] for w in words(text) if w in NUMBER_WORDS}
    return found


def names(text: str) -> set[str]:
    """Lower-cased proper names: capitalised words of four letters or more inside a sentence (not
    its first word, nor the first after a colon)."""
    return {w.lower() for w in _NAME.findall(flat_text(text))}


def specifics(text: str) -> set[str]:
    """What a claim must not invent: its numbers and names."""
    return numbers(text) | names(text)
