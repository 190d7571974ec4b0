"""Prompt text: the system prompt, numbered and fenced sources, and neutralised document text.

Document text is data. Before it reaches the prompt, anything that a chat template would read as a
control token (``<|im_start|>``, ``[INST]``, ``<start_of_turn>``, the loaded model's own special
tokens) is defused by a zero-width joiner inside its brackets, so it stays readable to a person but
is never tokenised as a control token; invisible bidi and zero-width characters are removed, and the
source fence itself cannot be closed from inside a document.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from indexer.types import Hit

PROMPTS_DIR = Path(__file__).resolve().parents[1] / "assets" / "prompts"
REFUSAL = "I don't know: the sources do not say."

_GENERIC_CONTROLS = re.compile(
    r"<\|[^|<>\s]{1,40}\|>|\[/?INST\]|<</?SYS>>|<(?:start|end)_of_turn>|</?s>|<\|?(?:bos|eos|pad|unk)\|?>",
    re.IGNORECASE,
)
_INVISIBLE = re.compile("[\u200b\u200c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_FENCE = re.compile(r"<(/?)(source)", re.IGNORECASE)
_JOINER = "\u200d"


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


def _attribute(value: str) -> str:
    return neutralise(value).replace('"', "'").replace("\n", " ")


def format_source(number: int, hit: Hit, control_tokens: Sequence[str] = ()) -> str:
    """One numbered source, fenced, with its file name and page."""
    name = _attribute(Path(hit.chunk.path).name)
    body = neutralise(hit.chunk.text, control_tokens)
    return f'<source id="{number}" file="{name}" page="{hit.chunk.page}">\n{body}\n</source>'


def question_message(question: str, sources: Sequence[str]) -> str:
    """The user message: the fenced sources, then the question."""
    return template("question").format(
        sources="\n\n".join(sources) if sources else "(no sources found)", question=neutralise(question)
    )
