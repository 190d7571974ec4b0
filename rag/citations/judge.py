"""The bundled model as a judge of one (evidence sentence, claim) pair: it reads the pair and the
probability of its first answer token says supported (A), contradicted (B) or not stated (C). No
text is generated; the fixed instructions come first so llama.cpp keeps them between pairs and
processes only the pair itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from llm.base import Generator, Message
from rag.citations.sentences import flat_text
from rag.citations.verdicts import CONTRADICTED, NOT_STATED, SUPPORTED

_INSTRUCTIONS = (
    "Decide whether a text supports a claim. Reply with one letter: A if the text states the claim, "
    "B if the text states something different or the opposite of the claim, C if the text does not say.\n\n"
)
_LETTERS = {"A": SUPPORTED, "B": CONTRADICTED, "C": NOT_STATED}
JUDGE_MIN_PARAMETERS = 1_000_000_000
"""Measured on bench/eval/claims.jsonl: the bundled 0.5B model judges near chance (13 of 56 faithful
paraphrases called contradicted, 13 of 30 negations caught), the 1.5B model well (README); a model
under a billion weights is not asked."""

JudgeFn = Callable[[str, str], str | None]
"""(claim, evidence sentence) -> supported, contradicted, not_stated, or None (no judgement)."""


@dataclass(frozen=True)
class Judgement:
    """The judge's verdict on one pair and its probability for each verdict."""

    verdict: str
    probabilities: dict[str, float]


def judge(generator: Generator, claim: str, evidence: str) -> Judgement | None:
    """The model's verdict on whether `evidence` states `claim`; None where the backend cannot tell
    its next-token scores (a model server)."""
    text = f"{_INSTRUCTIONS}Text: {flat_text(evidence)}\nClaim: {flat_text(claim)}"
    prompt = generator.render([Message("user", text)])
    found = generator.choice_probabilities(prompt, list(_LETTERS))
    if found is None:
        return None
    probabilities = {_LETTERS[letter]: p for letter, p in found.items()}
    return Judgement(max(probabilities, key=probabilities.__getitem__), probabilities)


def judge_of(generator: Generator | None) -> JudgeFn | None:
    """The judge function of a loaded model, or None where it would not help: a model server (no
    next-token scores) or a model too small to judge (`JUDGE_MIN_PARAMETERS`)."""
    if generator is None or (generator.parameters() or 0) < JUDGE_MIN_PARAMETERS:
        return None

    def run(claim: str, evidence: str) -> str | None:
        found = judge(generator, claim, evidence)
        return found.verdict if found else None

    return run


def answers(generator: Generator, question: str, sentence: str) -> float | None:
    """The model's probability that a document sentence gives what a question needs (None where the
    backend cannot tell). Tried on the sample guide: 0.86 for the sentence that answers, at most 0.76
    for its neighbours and for a question the guide does not answer."""
    text = (
        f"Question: {flat_text(question)}\nSentence from a document: {flat_text(sentence)}\n\n"
        "Does this sentence give the information needed to answer the question? Answer yes or no."
    )
    found = generator.choice_probabilities(generator.render([Message("user", text)]), ["yes", "no"])
    return None if found is None else found["yes"]
