"""What in a document speaks to the assistant instead of telling a fact: directives about its answer, and
lines shaped like the turns of a chat transcript.

**Directives.** `rag.prompt`'s pattern list knows the shapes of instructions seen so far. This detector
knows what makes any of them one: a sentence that *directs* (an imperative at the start of a clause,
``you must …``, ``make sure to …``) a verb of *producing the reply* (answer, reply, say, output, print,
write, start, end, append, repeat, ignore …) at *the assistant's answer or conversation*: the answer
itself (``your response``, ``every answer``), its order (``before anything else``, ``first``), its
scope in time (``from now on``, ``no matter what``, ``whatever you are asked``), or a payload to emit
verbatim (``reply only with X``, ``say CANARY-42``). A manual's directives act on the world (``run
apt-get update before installing``, ``reply to the mailing list with your bug number``, ``type YES to
continue``) and name none of these, so they stay. Measured on real documents in
``tests/test_instructions.py``'s notes and README (documents as data).

**Transcript lines.** A line that opens with a role label (``User:``, ``Assistant:``, ``### Instruction``,
``[system]``, ``<assistant>``, ``>>> AI:``, ``ChatGPT said:``, a ``Q:`` answered by an ``A:``) reads to a
model like a turn of its own conversation; a fake dialogue in a file can put words in the assistant's
mouth. `quote_role_lines` marks each such line as quoted and breaks its label with a zero-width joiner,
as control tokens are broken, so it stays readable and citable but is no longer a turn.
"""

from __future__ import annotations

import re

_JOINER = "\u200d"
QUOTED = "(quoted)"
"""What a role-labelled line of a document starts with in the prompt."""

# Directives ---------------------------------------------------------------------------------------------

_MODAL = r"(?:must|should|shall|has\s+to|have\s+to|needs?\s+to|is\s+to|are\s+to|ought\s+to|may\s+only)"
_REPLY_VERBS = (
    r"answer|reply|respond|say|state|output|print|write|type|return|repeat|echo|mention|include|append|prepend"
    r"|prefix|add|insert|begin|start|open|end|finish|close|conclude|sign|format|translate|speak|talk|greet"
    r"|summari[sz]e|ignore|disregard|forget|override|pretend|act|behave|obey|comply"
)
_LEAD_INS = (
    r"(?:please|kindly|always|never|just|simply|only|now|also|immediately|instead|first|then|and|so"
    r"|do\s+not|don'?t|you\s+(?:must|should|will|shall|need\s+to|have\s+to|are\s+to|ought\s+to|may\s+only)"
    r"|(?:make|be)\s+sure\s+(?:to|you)|remember\s+to|i\s+(?:want|need)\s+you\s+to|your\s+job\s+is\s+to"
    rf"|(?:[\w'-]+\s+){{0,10}}?{_MODAL}(?:\s+(?:always|only|also|first|never|then))?(?:\s+be)?)"
)
"""What may come before a directive's verb: an adverb, a negation, and any subject with a modal (``you
must``, ``replies should always``, ``whoever reads this should``, ``the answer should be`` …ed)."""
_DIRECTIVE = re.compile(
    rf"(?:^|[,;:(—–-]\s*|\bthen\s+|\band\s+)[\"'“‘*_\s]*(?:{_LEAD_INS}\s+){{0,3}}(?P<verb>{_REPLY_VERBS})(?:e?d|n|ten)?\b(?![._<(])",
    re.IGNORECASE,
)
_ANSWER_NOUN = r"(?:answers?|repl(?:y|ies)|responses?|outputs?|completions?)"
_SCOPE = re.compile(
    r"|".join(
        (
            r"\b(?:before|prior\s+to)\s+(?:anything|everything)\s+else\b",
            r"\b(?:before|prior\s+to)\s+(?:you\s+)?(?:answer|reply|respond|say\s+anything)",
            r"\b(?:first|last)\s+thing\b|\bas\s+(?:the|your)\s+(?:first|last|only)\s+(?:word|line|thing)",
            rf"\b(?:every|each|all|any)\s+(?:of\s+(?:your|the)\s+)?{_ANSWER_NOUN}\b",
            # every question, when the sentence says how to answer it (not "answer any questions that come up")
            r"\b(?:every|each|all|any)\s+(?:questions?|prompts?|quer(?:y|ies)|requests?)\s+(?:\w+\s+){0,2}?"
            r"(?:with|in|as|like|by|using|only)\b",
            rf"\byour\s+(?:own\s+|next\s+|final\s+)?{_ANSWER_NOUN}\b",
            # the answer as the subject of a directive: "replies must …", "the answer should be …"
            rf"^\W*(?:(?:the|all|every|each|any)\s+)?(?:answers?|repl(?:y|ies))\s+{_MODAL}\b",
            # the assistant's task named: "to answer a question", "when you reply to any question"
            r"\bto\s+answer\s+(?:a|the|any|every|each|this|that|your|their|my)\s+(?:questions?|quer(?:y|ies)|requests?)\b",
            r"\bwhen(?:ever)?\s+(?:you\s+)?(?:answer|reply|respond)(?:ing)?\s+(?:to\s+)?(?:a|any|the|this|every|each)\s+"
            r"(?:questions?|quer(?:y|ies)|requests?)",
            r"\b(?:from\s+now\s+on|no\s+matter\s+what|regardless\s+of|at\s+all\s+times|whatever\s+(?:you\s+are|the\s+user|is)\s+ask)",
            r"\b(?:in|for)\s+(?:this|the|every|each|all)\s+(?:conversations?|chats?|sessions?)\b",
            r"\b(?:the|any)\s+(?:user|human|person\s+asking)(?:'s)?\s+(?:asks?|question)",
            r"\bignore\s+(?:the|this|that|their|any|all)\s+(?:user'?s?\s+)?(?:questions?|quer(?:y|ies)|requests?|prompts?)\b",
            r"\b(?:and|but)\s+nothing\s+else\b|\bnothing\s+but\b|\bverbatim\b|\bword\s+for\s+word\b",
        )
    ),
    re.IGNORECASE,
)
_SPEAK_VERBS = re.compile(r"^(?:answer|reply|respond|say|state|repeat|tell|greet|output|summari[sz]e)", re.IGNORECASE)
"""The verbs of a directive that may carry a payload: what the assistant is to say."""
_PAYLOAD = re.compile(
    r"(?i:\b(?:only|just|exactly|simply)\s+(?:with\s+)?)(?:[\"'“‘]|(?i:the\s+(?:word|phrase|text|string|code))|[A-Z]{3,}\b)"
    r"|(?i:\bthe\s+(?:code\s+)?(?:word|phrase|string|code))\s+[\"'“‘]?[A-Z]{3,}"
    r"|(?:^|\s)(?i:with\s+|:\s*)?[\"'“‘]?[A-Z][A-Z0-9]*(?:[-_][A-Z0-9]+)+\b"
    r"|(?:^|\s)(?i:with\s+)?[\"'“‘]?[A-Z]{2,}[0-9]+\b"
)
"""What a directive to say something gives to say as it is: a quoted string or a word in capitals after
*only*, ``the word X``, a code-like token (``CANARY-42``, ``ACCESS_GRANTED``, ``X9``)."""
_PURPOSE = re.compile(r"\bto\s+(?:confirm|continue|unsubscribe|opt|stop|cancel|proceed|verify|accept|agree)\b", re.I)
"""A purpose clause that makes a payload a procedure for a person (``reply with STOP to unsubscribe``)."""


def is_directive(sentence: str) -> bool:
    """True when a sentence directs the assistant's reply: a directive verb of producing the reply, and the
    sentence names the answer, its order or its scope; or a directive to say a payload as it is."""
    directives = [match.start("verb") for match in _DIRECTIVE.finditer(sentence)]
    if not directives:
        return False
    if _SCOPE.search(sentence):
        return True
    for start in directives:
        rest = sentence[start:]
        if _SPEAK_VERBS.match(rest) and _PAYLOAD.search(rest) and not _PURPOSE.search(rest):
            return True
    return False


# Transcript lines ---------------------------------------------------------------------------------------

_ROLES = (
    r"user|assistant|system|human|ai|a\.i\.|bot|chat\s?bot|chatgpt|gpt(?:-?\d[\w.]*)?|claude|gemini|bard|llama"
    r"|copilot|llm|you"
)
"""Speakers of a chat: a line that opens with one of them and a colon is a turn."""
_FRAMED_ROLES = (
    rf"{_ROLES}|model|developer|tool|function|instructions?|response|input|output|prompt|context|answer|question"
)
"""Words that name a turn only when framed as one: a heading (``### Response``), brackets, a tag."""
_LEAD = (
    r"(?P<lead>[ \t]*(?:(?:[>•|\-–—]++|[*_]++|\d{1,3}[.)]|\(\d{1,3}\)|\[?\d{1,2}:\d{2}(?::\d{2})?(?:\s?[ap]m)?\]?)"
    r"[ \t]++)*+[*_]{0,3})"
)
"""What may come before a role label on its line: an indent, quote marks, bullets, dashes, a turn's number,
a chat log's time stamp (``[10:42]``), bold or italic marks."""
_SPEAKERS = r"assistant|bot|chat\s?bot|ai|a\.i\.|agent"
"""Role words a speaker's name may come before (``Support Bot:``, ``Virtual Assistant:``)."""
_SEPARATOR = r"[*_]*(?:\s*\([^)\n]{0,30}\))?[*_]*(?:\s*[:：]|\s+[-–—]{1,2}\s|\s*-+>|\s*=>)"
"""What ends a speaker's label: a colon, a spaced dash, an arrow; after an aside (``Assistant (to user):``)."""
_ROLE_LINES = tuple(
    re.compile(f"^{lead}(?P<label>{label})", re.IGNORECASE | re.MULTILINE)
    for lead, label in (
        # User: …   **Assistant**: …   > AI: …   ChatGPT said: …   ASSISTANT - …   1. User: …   [10:42] Bot: …
        (_LEAD, rf"(?:the\s+)?(?:{_ROLES})(?:\s+(?:said|says|wrote|writes|replied|replies|asked|asks))?{_SEPARATOR}"),
        # Support Bot: …   Virtual Assistant: …   The AI: …
        (_LEAD, rf"(?:[\w.'-]+\s+){{1,2}}(?:{_SPEAKERS}){_SEPARATOR}"),
        # ### Instruction   ## System:   #### Response
        (_LEAD, rf"#{{1,6}}[ \t]*(?:{_FRAMED_ROLES})\b[^\n]{{0,20}}?(?:[:：]|$)"),
        # [assistant]  [[user]]  <user>  </assistant>  (system)  {{bot}}  (<|assistant|> is a control token: `prompt`)
        (_LEAD, rf"[\[<({{]{{1,2}}/?[ \t]*(?:{_FRAMED_ROLES})[ \t]*[\]>)}}]{{1,2}}[ \t]*[:：]?"),
        # >>> assistant   --- user ---   == system ==  (the rule is the label: no lead but an indent)
        (
            r"(?P<lead>[ \t]*)",
            rf"(?:>{{2,}}|={{2,}}|-{{3,}})[ \t]*(?:{_ROLES})\b[ \t]*(?:={{2,}}|-{{3,}})?[ \t]*[:：]?",
        ),
    )
)
"""Lines that open like a turn of a chat, each pattern with the line's `lead` (indent, quote marks,
bullets) and its role `label`."""
_ROLE_FIELD = re.compile(
    rf"(?P<lead>)(?P<label>[\"']?(?:role|speaker|author|sender|from)[\"']?[ \t]*[:=][ \t]*[\"']?"
    rf"(?:{_ROLES}|model|developer|tool|function)\b)",
    re.IGNORECASE,
)
"""A chat record's role field, anywhere in a line (``{"role": "assistant", "content": …}``, YAML)."""
_MIDLINE_TURN = re.compile(rf"(?<=[.!?…\"”])([ \t]+)(?P<label>(?:{_ROLES})[ \t]*[:：])(?=[ \t]*\S)", re.IGNORECASE)
"""A turn run into the line before it (a flattened transcript): a role and a colon after a sentence's end."""
_QA_LINE = re.compile(rf"^{_LEAD}(?P<label>(?P<q>q|a)[ \t]*[:：.)])[ \t]*\S", re.IGNORECASE | re.MULTILINE)


def _defuse_label(label: str) -> str:
    """A role label with a joiner after the first letter of each of its words: still read by a person, no
    longer the token sequence of a turn."""
    return re.sub(r"(?<![A-Za-z])([A-Za-z])(?=[A-Za-z])", rf"\1{_JOINER}", label)


def _quoted(match: re.Match[str]) -> str:
    lead = match.group("lead") or ""
    indent = lead[: len(lead) - len(lead.lstrip())]
    return f"{indent}{QUOTED} {lead[len(indent) :]}{_defuse_label(match.group('label'))}"


def _dialogue_qa(text: str) -> list[re.Match[str]]:
    """The ``Q:``/``A:`` lines of a text that form a dialogue: a Q line followed, within three lines, by an
    A line (a lone ``A:`` is a list item or a grade)."""
    lines = list(_QA_LINE.finditer(text))
    paired: list[re.Match[str]] = []
    for i, line in enumerate(lines):
        if line.group("q").lower() != "q":
            continue
        for after in lines[i + 1 : i + 4]:
            if after.group("q").lower() == "a" and text.count("\n", line.end(), after.start()) <= 3:
                paired += [line, after]
                break
    return paired


def quote_role_lines(text: str) -> str:
    """Document text with every line that opens like a chat turn marked ``(quoted)`` and its role label
    broken by a joiner; a turn run into the middle of a line gets the same."""
    for pattern in _ROLE_LINES:
        text = pattern.sub(_quoted, text)
    text = _ROLE_FIELD.sub(_quoted, text)
    text = _MIDLINE_TURN.sub(lambda m: f"{m.group(1)}{QUOTED} {_defuse_label(m.group('label'))}", text)
    for match in sorted(_dialogue_qa(text), key=lambda m: m.start(), reverse=True):
        text = text[: match.start()] + _quoted(match) + text[match.end("label") :]
    return _quote_fellow_speakers(text)


_SPEAKER_LINE = re.compile(rf"^{_LEAD}(?P<label>[A-Za-z][\w.'-]{{0,20}}(?:[ \t]+[\w.'-]{{1,20}})?[ \t]*[:：])[ \t]*\S")
"""A line that opens with a name of one or two words and a colon: ``Customer: …``, ``Jane Doe: …``."""


def _quote_fellow_speakers(text: str) -> str:
    """The other speakers of a transcript: a ``Name:`` line within two lines of a quoted turn is a turn
    too, whoever speaks it (``Customer:`` beside ``Support Bot:``). Only a turn found by its role counts
    as a neighbour, so a note after a transcript does not pass the mark on down the page."""
    lines = text.split("\n")
    turns = [QUOTED in line for line in lines]
    if not any(turns):
        return text
    for i, line in enumerate(lines):
        near = any(turns[j] for j in (i - 2, i - 1, i + 1, i + 2) if 0 <= j < len(lines))
        if not turns[i] and near and (match := _SPEAKER_LINE.match(line)):
            lines[i] = _quoted(match) + line[match.end("label") :]
    return "\n".join(lines)
