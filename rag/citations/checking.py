"""The check of one answer, run as often as its draft grows: while the answer streams, each sentence
gets the words' verdict as soon as it is complete; once the model has finished writing, the judge
reads the sentences the words find supported, one at a time, and every verdict is shown as it comes.
`cite` is the whole check in one call."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from indexer.types import Hit
from rag.citations.attribution import EmbedFn, check_answer
from rag.citations.judge import JudgeFn
from rag.citations.records import CitedAnswer
from rag.citations.replies import particle
from rag.citations.sentences import MARKER, is_refusal, markers, split_answer, strip_invalid_markers
from rag.citations.verdicts import CONTRADICTED, SUPPORTED
from rag.prompt import NO_ANSWER

_LINK_CITATION = re.compile(r"\[([^\[\]\n]{3,}?)\]\((\d{1,3})\)")


@dataclass(frozen=True)
class Checking:
    """The verdicts so far on an answer still being written or checked.

    `answer` is the checked text of the draft's first `covered` characters (never replaced by a
    refusal: that is decided once, on the whole answer); `waiting` counts the sentences the words find
    supported that the judge has yet to read (it reads them once the draft is `written`)."""

    answer: CitedAnswer
    covered: int
    waiting: int
    written: bool = False


class Checker:
    """Checks drafts of one answer over its numbered passages. Vectors and the judge's verdicts are
    remembered, so a sentence checked while the answer streams is neither embedded nor judged again
    by the final check, and the final check is `cite`'s."""

    def __init__(
        self,
        question: str,
        passages: Sequence[Hit] | Mapping[int, Hit],
        embed: EmbedFn,
        model: str = "",
        judge: JudgeFn | None = None,
    ) -> None:
        """`passages` numbered from 1 in order, or by the numbers a mapping gives them (a follow-up's)."""
        self.question, self.model = question, model
        numbered = passages if isinstance(passages, Mapping) else dict(enumerate(passages, start=1))
        self.sources = {n: hit.chunk for n, hit in numbered.items()}
        self._embed, self._judge = embed, judge
        self._vectors: dict[str, np.ndarray] = {}
        self._verdicts: dict[tuple[str, str], str | None] = {}
        self._waiting: list[tuple[str, str]] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of `texts`, embedding only those not seen before (in one call)."""
        new = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if new:
            self._vectors.update(zip(new, self._embed(new), strict=True))
        return np.stack([self._vectors[t] for t in texts]) if texts else np.zeros((0, 0), dtype=np.float32)

    def _judged(self, claim: str, evidence: str) -> str | None:
        """The judge's verdict, asked once per pair."""
        if (claim, evidence) not in self._verdicts:
            self._verdicts[(claim, evidence)] = self._judge(claim, evidence) if self._judge else None
        return self._verdicts[(claim, evidence)]

    def _so_far(self, claim: str, evidence: str) -> str | None:
        """The judge's verdict where it was read already; else none yet (the words' verdict stands) and
        the pair waits for `judge_next`."""
        if (claim, evidence) in self._verdicts:
            return self._verdicts[(claim, evidence)]
        self._waiting.append((claim, evidence))
        return None

    def progress(self, draft: str, complete: bool = False) -> Checking:
        """The verdicts on `draft` so far: its complete sentences (all of them when `complete`) with the
        words' verdicts and those the judge has given; nothing is judged here."""
        covered = len(draft) if complete else _complete_prefix(draft)
        self._waiting = []
        judge = self._so_far if self._judge is not None else None
        answer = self._answer(draft[:covered], judge, final=False)
        return Checking(answer, covered, len(dict.fromkeys(self._waiting)), complete)

    def judge_next(self) -> bool:
        """Let the judge read one sentence that `progress` left waiting; False when none was left."""
        if not self._waiting:
            return False
        self._judged(*self._waiting.pop(0))
        return True

    def cite(self, draft: str, judge_more: bool = True) -> CitedAnswer:
        """The checked answer (see `cite`). Without `judge_more` (the user pressed Stop), the judge is not
        asked again: the verdicts it gave stand, and the words' verdicts for the sentences it had not read."""
        if self._judge is None:
            return self._answer(draft, None, final=True)
        return self._answer(draft, self._judged if judge_more else self._verdicts_given, final=True)

    def _verdicts_given(self, claim: str, evidence: str) -> str | None:
        return self._verdicts.get((claim, evidence))

    def _answer(self, draft: str, judge: JudgeFn | None, final: bool) -> CitedAnswer:
        sources = self.sources
        text, removed = strip_invalid_markers(_normalise_markers(draft.strip()), set(sources))
        text, checks, is_fact = check_answer(self.question, text, sources, self.embed, judge)
        facts = [c for c, fact in zip(checks, is_fact, strict=True) if fact]
        refusals = any(is_refusal(c.text) for c, fact in zip(checks, is_fact, strict=True) if not fact)
        withheld, refused = "", False
        supported = sum(c.verdict == SUPPORTED for c in facts)
        if not final:
            pass  # whether the answer stands is decided once, on all of it
        elif facts and supported * 2 < len(facts):
            # Most of it is not what the sources say.
            withheld, refused = text, True
        elif facts and facts[0].verdict == CONTRADICTED and particle(facts[0].text):
            # Its yes or no is the other way round from the source's: whatever follows, the answer is wrong.
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
            question=self.question,
            text=text,
            sources=sources,
            cited=markers(text),
            removed_markers=removed,
            sentences=checks,
            refused=refused,
            model=self.model,
            withheld=withheld,
        )


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
    against its evidence sentence; without it the check is the words' alone. (`Checker` gives the
    same check sentence by sentence, while an answer streams.)"""
    return Checker(question, passages, embed, model, judge).cite(raw_answer)


def _complete_prefix(draft: str) -> int:
    """How much of a draft still being written is whole sentences: up to where its last sentence,
    which may yet grow, begins (a sentence's markers come after its full stop, so a sentence counts as
    complete once the next one has begun)."""
    sentences = split_answer(draft)
    return sentences[-1].start if sentences else 0


def _normalise_markers(text: str) -> str:
    """Citations written the other ways small models write them, as ``[n]``: a Markdown link whose
    target is a source number (``[the claim.](1)``) becomes ``the claim. [1]``."""
    return _LINK_CITATION.sub(lambda m: f"{m.group(1)} [{m.group(2)}]", text)


def _has_words(text: str) -> bool:
    """True when a text holds at least two words of two letters or more."""
    return len(re.findall(r"[^\W\d_]{2,}", text)) >= 2
