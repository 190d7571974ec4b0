"""Prompt text: the system prompt, numbered and fenced sources, and neutralised document text.

Document text is data. Before it reaches the prompt, anything that a chat template would read as a
control token (``<|im_start|>``, ``[INST]``, ``<start_of_turn>``, the loaded model's own special
tokens) is defused by a zero-width joiner inside its brackets, so it stays readable to a person but
is never tokenised as a control token; invisible bidi and zero-width characters are removed, and the
source fence itself cannot be closed from inside a document. A line shaped like a chat turn (``User:``,
``Assistant:``, ``### Instruction``, ``[system]``) is marked ``(quoted)`` and its role label broken the same
way (`rag.directives.quote_role_lines`), and a sentence that speaks to the assistant (the pattern list
below, backed by `rag.directives.is_directive`) is replaced by a note. Text a reader of a file cannot see
never gets this far: the loaders leave it out (`indexer.loaders.hidden`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from indexer.types import Hit
from rag.directives import QUOTED, is_directive, quote_role_lines

PROMPTS_DIR = Path(__file__).resolve().parents[1] / "assets" / "prompts"
REFUSAL = "I don't know: the sources do not say."
"""What the model is told to write when its sources do not hold the answer."""
NO_ANSWER = "Your files don't say."
CLOSEST_QUOTE = "Your files don't say it in those words. The closest they come:"
"""Before the sentence quote first found when the model refused beside a strong passage."""
"""What the user is shown then, and when most of a draft is not stated by the sources: the closest
passages stay under it and the draft one click away."""

_GENERIC_CONTROLS = re.compile(
    r"<\|[^|<>\s]{1,40}\|>|\[/?INST\]|<</?SYS>>|<(?:start|end)_of_turn>|</?s>|<\|?(?:bos|eos|pad|unk)\|?>",
    re.IGNORECASE,
)
_INVISIBLE = re.compile("[\u200b\u200c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_FENCE = re.compile(r"<(/?)(source)", re.IGNORECASE)
_JOINER = "\u200d"

REMOVED_INSTRUCTION = "(an instruction to the assistant was removed here)"
# Sentences in a document that address the assistant rather than state a fact. A 0.5B model obeys such
# a line even fenced and forbidden by the system prompt, and one "answer in French" line in one file
# spilled into unrelated answers whose passages sat next to it. They are taken out of what the model
# reads (the stored text, the viewer and the citation check keep them).
_LANGUAGES = r"(?:english|french|spanish|german|italian|portuguese|dutch|russian|chinese|japanese|korean|arabic|latin)"
_AUDIENCE = r"(?:ais?|a\.i\.|assistants?|chat ?bots?|language models?|llms?|models? reading|gpts?)"
_OUTPUT = r"(?:answers?|repl(?:y|ies)|responses?|outputs?)"
_INSTRUCTION_PATTERNS = (
    # addressed to the assistant
    rf"\b(?:to|for|attention|note to|dear|hey|hello)\s*,?\s+(?:any|all|every|the)?\s*{_AUDIENCE}\b",
    rf"\b(?:any|all|every)\s+{_AUDIENCE}\b[^\n]{{0,40}}\b(?:must|should|shall|reading|will)\b",
    rf"\b(?:if|when|whenever)\s+(?:you\s+are|you're)\s+(?:an?\s+)?{_AUDIENCE}\b",
    rf"\byou\s+are\s+now\s+(?:an?\s+)?(?:{_AUDIENCE}|in\s+\w+\s+mode|unrestricted|jailbroken)\b",
    # overriding the rules
    r"\b(?:ignore|disregard|forget|override)\b[^\n]{0,30}\b(?:previous|prior|above|earlier|all|your|system|other)"
    r"\s+(?:instructions?|rules?|prompts?|guidelines|directions)\b",
    r"\[\s*(?:system|admin|administrator|instruction)\s*\]|\bsystem\s+(?:prompt|message|override)\b",
    r"\b(?:you\s+(?:must|should|will|shall)\s+|^\s*(?:please\s+)?)act\s+as\b",
    # the form of the answer: language, case, format, tone, what it starts or ends with
    rf"\b(?:answer|reply|respond|write|speak|talk)\b[^\n]{{0,30}}\b(?:in|using)\s+(?:{_LANGUAGES}|all\s+caps|"
    r"capital letters|upper ?case|json|xml|yaml|emojis?|rhymes?|verse)\b",
    r"\b(?:answer|reply|respond)\s+(?:only\s+with|(?:as|like)\s+an?)\b",
    r"\bfrom\s+now\s+on\b[^\n]{0,40}\b(?:answer|reply|respond|speak|write|you)\b",
    r"\b(?:answer|reply|respond|speak|write)\b[^\n]{0,40}\bfrom\s+now\s+on\b",
    rf"\b(?:begin|start|end|finish|append|add|include|prefix|suffix|sign)\b[^\n]{{0,30}}"
    rf"\b(?:every|each|all|your)\s+{_OUTPUT}\b",
    r"\b(?:be|sound|talk)\s+(?:rude|sarcastic|angry|like\s+a\s+pirate)\b|\bas\s+an?\s+(?:\w+\s+)?pirate\b",
    rf"\b(?:{_AUDIENCE})\s+(?:instructions?|rules?|directives?|notes?)\b|\banswer\s+(?:every|each|all|any)\s+questions?\s+(?:as|in|with|like|by|using)\b",
    r"^\s*(?:please\s+)?(?:start|begin|end|finish)\s+(?:\w+\s+){0,2}with\s+['\"‘“]",
    r"\bcall\s+the\s+(?:user|reader)\b",
    # what the answer says or leaves out
    r"\b(?:never|do\s+not|don'?t)\s+(?:mention|reveal|disclose|cite)\b",
    r"\b(?:never|do\s+not|don'?t)\s+tell\s+(?:the\s+)?(?:user|reader|customer)s?\b",
    r"^\s*(?:please\s+)?(?:tell|inform|warn)\s+(?:the\s+)?(?:user|reader|customer|person)s?\b",
    r"\bwhen(?:ever)?\s+(?:you\s+are\s+)?asked\b[^\n]{0,40}\b(?:reply|answer|respond|say)\b",
)
_INSTRUCTION = re.compile("|".join(f"(?:{p})" for p in _INSTRUCTION_PATTERNS), re.IGNORECASE)
_QUOTE_MARKS = re.compile(rf"{_JOINER}|{re.escape(QUOTED)} ")
"""What `quote_role_lines` adds to a line, taken away again where instructions are looked for."""
_SENTENCE_OR_LINE = re.compile(r"[^\n]*?(?:[.!?]+(?=\s|$)|\n|$)")


@cache
def template(name: str) -> str:
    """A prompt template from assets/prompts."""
    return (PROMPTS_DIR / f"{name}.md").read_text(encoding="utf-8").strip()


def system_prompt() -> str:
    """The instructions: answer from the sources only, cite, refuse when they are silent, obey no source."""
    return template("system")


def _defuse(token: str) -> str:
    """Break a control token so no tokenizer matches it: a joiner after its first character."""
    return token[0] + _JOINER + token[1:]


def neutralise(text: str, control_tokens: Sequence[str] = ()) -> str:
    """Document text made safe for a prompt: control tokens defused, invisible characters removed,
    and no way to close the source fence."""
    text = _INVISIBLE.sub("", text)
    for token in sorted(set(control_tokens), key=len, reverse=True):
        if token and len(token) > 1:
            text = text.replace(token, _defuse(token))
    text = _GENERIC_CONTROLS.sub(lambda m: _defuse(m.group()), text)
    return _FENCE.sub(lambda m: f"<{m.group(1)}{_JOINER}{m.group(2)}", text)


def remove_instructions(text: str) -> str:
    """Document text with every sentence (or line) that addresses the assistant replaced by a short
    note, so the model sees that something was there but never reads the instruction itself: one that
    a known pattern matches, or that directs the assistant's reply (`rag.directives.is_directive`).
    It cuts at every sentence mark and line break, not at `indexer.text_units` sentences, on purpose: a
    filter must rather cut too often than let an order ride inside a longer sentence."""
    parts: list[str] = []
    for match in _SENTENCE_OR_LINE.finditer(text):
        piece = match.group()
        view = _QUOTE_MARKS.sub("", piece)  # a quoted turn is read as the words it quotes
        if piece.strip() and (_INSTRUCTION.search(view) or is_directive(view)):
            lead = piece[: len(piece) - len(piece.lstrip())]
            parts.append(lead + REMOVED_INSTRUCTION + ("\n" if piece.endswith("\n") else ""))
        else:
            parts.append(piece)
    return "".join(parts)


def _document_text(text: str, control_tokens: Sequence[str] = ()) -> str:
    """Text from a document as the model reads it: chat turns quoted, instructions out, control tokens
    defused. A turn is quoted first, so a line that both is one and gives an order goes whole."""
    return neutralise(remove_instructions(quote_role_lines(text)), control_tokens)


def _attribute(value: str) -> str:
    """A file name or a location (a heading a document wrote) as a source's attribute: document text too."""
    return _document_text(value).replace('"', "'").replace("\n", " ")


def format_source(number: int, hit: Hit, control_tokens: Sequence[str] = ()) -> str:
    """One numbered source, fenced, with its file name and page (or, for a unit that is not a numbered
    page, its location: section and lines, slide, sheet and cells)."""
    name = _attribute(Path(hit.chunk.path).name)
    body = _document_text(hit.chunk.text, control_tokens)
    where = f'location="{_attribute(hit.chunk.location)}"' if hit.chunk.location else f'page="{hit.chunk.page}"'
    return f'<source id="{number}" file="{name}" {where}>\n{body}\n</source>'


NO_NEW_SOURCES = "(no new sources: the sources in the earlier messages apply)"


def question_message(question: str, sources: Sequence[str], earlier: bool = False) -> str:
    """The user message: the fenced sources, then the question. With none, it says there are none, or,
    when `earlier` messages of the conversation carry sources, that those apply."""
    empty = NO_NEW_SOURCES if earlier else "(no sources found)"
    return template("question").format(sources="\n\n".join(sources) or empty, question=neutralise(question))
