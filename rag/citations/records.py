"""What a checked answer is made of: the answer, its sentences' verdicts and their evidence."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from indexer.types import Chunk


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
    verdict: str = ""
    """``supported`` (a source sentence states it), ``contradicted`` (a source sentence states the
    opposite or another value: `contradiction`), ``not_stated`` (no source says it); empty for text
    that states no fact (a refusal, "In short:")."""
    contradiction: Evidence | None = None
    """The source sentence that says otherwise, when the verdict is ``contradicted``."""

    @classmethod
    def from_dict(cls, data: dict) -> SentenceCheck:
        """Rebuild from `asdict` output; older dicts without evidence or verdicts are accepted."""
        known = _known(cls, data)
        known["evidence"] = [Evidence(**_known(Evidence, e)) for e in data.get("evidence", [])]
        if known.get("contradiction"):
            known["contradiction"] = Evidence(**_known(Evidence, known["contradiction"]))
        if "verdict" not in known:
            known["verdict"] = "supported" if known.get("supported") and known.get("cites") else ""
        return cls(**known)

    def note(self) -> str:
        """One line for a flagged sentence, as the CLI and the exports print it; empty otherwise."""
        if self.verdict == "contradicted" and self.contradiction is not None:
            said = " ".join(self.contradiction.text.split())
            return f"Contradicted: “{self.text}” ({self.reason}; it says: “{said}”)"
        if not self.supported:
            return f"Not stated: “{self.text}” ({self.reason})"
        return ""

    @property
    def flagged(self) -> bool:
        """A sentence stating a fact that its sources do not back (contradicted or not stated)."""
        return not self.supported  # a contradicted sentence is never supported


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
        """Sentences flagged as not supported by any passage (contradicted or not stated)."""
        return [s for s in self.sentences if not s.supported]

    @property
    def contradicted(self) -> list[SentenceCheck]:
        """Sentences a source contradicts."""
        return [s for s in self.sentences if s.verdict == "contradicted"]

    @property
    def notes(self) -> list[str]:
        """A line per flagged sentence (of the draft, when it was withheld)."""
        return [s.note() for s in self.sentences if s.note()]

    def evidence_for(self, number: int) -> Evidence | None:
        """The best evidence for marker ``[number]`` over all sentences (what the viewer highlights)."""
        found = [e for s in self.sentences for e in s.evidence if e.number == number]
        return max(found, key=lambda e: e.score, default=None)


def _known(cls: type, data: dict) -> dict:
    """The entries of `data` that are fields of dataclass `cls` (unknown keys are ignored)."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}
