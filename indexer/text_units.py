"""Text units, defined once for every layer: sentences, words, content words and their stems, stop
words and abbreviations. The chunker cuts pages with these sentences, compression picks them, the
citation check aligns answers to them, the window previews them: a passage is cut the same way
everywhere.

Sentences: lines are first grouped into blocks (a blank line, a bullet, a code-like line, a line
ending in a colon and a short unpunctuated line such as a heading or a command each end a block, while
a hard-wrapped line runs on); inside a block a sentence ends at ``. ! ? …`` followed by whitespace and
something that is not lower case, unless the word before is an abbreviation ("e.g.") or an initial; a
dot inside a word ("www.fsf.org") never ends one. Over-long sentences are cut at spaces.
"""

from __future__ import annotations

import re

Span = tuple[int, int]
"""A character span ``(start, end)`` of a text."""

MAX_SENTENCE_CHARS = 360
"""Longer "sentences" (tables, run-on lines) are cut at spaces so they stay fine-grained."""

ABBREVIATIONS = frozenset(
    """e.g i.e etc cf vs al approx incl fig figs sec pp vol ch eds mr mrs ms dr prof jr sr inc ltd st""".split()
)
"""Words whose full stop ends no sentence."""

STOPWORDS = frozenset(
    """a about above after again all also am an and any are as at be been before being below between both but
    by can could did do does doing done down during each either else etc for from further had has have having
    here how however i if in into is it its itself just may me might more most much must my neither nor of off
    on once only or other our out over own per same shall she should so some such than that the their them then
    there these they this those through to too under until up upon us very via was we were what when where
    whether which while who whom whose why will with within would yes you your
    sources source say says said state states stated according know exactly sure mention mentions answer
    passage passages document documents text""".split()
)
"""Words that carry no content of their own: left out when texts are compared by their words. (Negations
are not here: "not" changes what a sentence says.)"""

NUMBER_WORDS = dict(
    zip(
        "zero one two three four five six seven eight nine ten eleven twelve".split(),
        (str(n) for n in range(13)),
        strict=True,
    )
)
"""Numbers spelled out, as digits."""

_WORD = re.compile(r"[^\W_]+")
_HYPHEN_BREAK = re.compile(r"(\w)-\s*\n\s*(\w)")
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)")
_BULLET = re.compile(r"(?:[•·◦▪‣●○■□►▸\-–—*]|\(?\d{1,3}[.)]|\(?[a-z][.)])\s")
_CODE = re.compile(r"(?:[$#>] |[{}])")


def flat_text(text: str) -> str:
    """Text as a reader would write it: line-break hyphens joined, whitespace collapsed."""
    return " ".join(_HYPHEN_BREAK.sub(r"\1\2", text).split())


def words(text: str) -> list[str]:
    """The lower-cased words of a text (letters and digits), in order."""
    return _WORD.findall(text.lower())


def content_words(text: str) -> list[str]:
    """The words of a text that carry content: no stop words, no single letters (digits stay)."""
    return [w for w in words(text) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


def stem(word: str) -> str:
    """A crude stem that lets builds/build and installed/installing meet: common endings off, six letters."""
    for ending in ("ing", "ed", "es", "s"):
        if len(word) > len(ending) + 3 and word.endswith(ending):
            word = word[: -len(ending)]
            break
    return word[:6]


def stems(text: str, leave: frozenset[str] = frozenset()) -> set[str]:
    """The stems of a text's content words as a reader writes it (numbers spelled out read as digits),
    without the words in `leave`."""
    return {stem(NUMBER_WORDS.get(w, w)) for w in content_words(flat_text(text)) if w not in leave}


def sentence_spans(text: str) -> list[Span]:
    """Sentence spans of a text, trimmed of whitespace, in order and non-overlapping (see the module)."""
    spans: list[Span] = []
    for start, end in _blocks(text):
        for a, b in block_sentences(text, start, end):
            spans.extend(_cut_long(text, a, b))
    return spans


def block_sentences(text: str, start: int, end: int) -> list[Span]:
    """Sentence spans inside `text[start:end]`, a run of text known to hold no block boundary."""
    spans: list[Span] = []
    begin = start
    for match in _SENTENCE_END.finditer(text, start, end):
        stop = match.end()
        following = text[stop:end].lstrip()
        if not following or following[0].islower() or _is_abbreviation(text, begin, match.start()):
            continue
        spans.append((begin, stop))
        begin = stop + (len(text[stop:end]) - len(following))
    if begin < end:
        spans.append((begin, end))
    return spans


def _lines(text: str) -> list[tuple[int, int, bool]]:
    """(start, end, indented) of every line, trimmed; a blank line is (-1, -1, False)."""
    lines: list[tuple[int, int, bool]] = []
    offset = 0
    for raw in text.split("\n"):
        stripped = raw.strip()
        if stripped:
            lead = len(raw) - len(raw.lstrip())
            indented = raw[:lead].count(" ") >= 2 or "\t" in raw[:lead]
            lines.append((offset + lead, offset + lead + len(stripped), indented))
        else:
            lines.append((-1, -1, False))
        offset += len(raw) + 1
    return lines


def ends_block(line: str) -> bool:
    """A line after which a new block begins: a heading, a command, a label, a code line."""
    if line.endswith(":") and not line.endswith(("http:", "https:")):  # a URL may wrap after its scheme
        return True
    if _CODE.match(line) or line.endswith(("{", "}", ";")):
        return True
    return len(line.split()) <= 6 and line[-1] not in ".,!?…\"'”’)-"


def _blocks(text: str) -> list[Span]:
    """Spans of runs of lines that read as running text."""
    blocks: list[Span] = []
    current: Span | None = None
    closed = True
    for start, end, indented in _lines(text):
        if start < 0:
            closed = True
            continue
        line = text[start:end]
        starts_new = closed or indented or bool(_BULLET.match(line + " "))
        if starts_new or current is None:
            if current is not None:
                blocks.append(current)
            current = (start, end)
        else:
            current = (current[0], end)
        closed = indented or ends_block(line)
    if current is not None:
        blocks.append(current)
    return blocks


def _is_abbreviation(text: str, begin: int, dot: int) -> bool:
    """True when the word before a dot is a known abbreviation or a single-letter initial."""
    if text[dot] != ".":
        return False
    word = re.search(r"[\w.]*$", text[begin:dot]).group().lower()
    return word in ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def _cut_long(text: str, start: int, end: int) -> list[Span]:
    """A span cut at spaces into pieces of at most MAX_SENTENCE_CHARS characters (a word longer than
    that stays whole)."""
    pieces: list[Span] = []
    while end - start > MAX_SENTENCE_CHARS:
        cut = text.rfind(" ", start + 1, start + MAX_SENTENCE_CHARS)
        if cut <= start:
            cut = text.find(" ", start + MAX_SENTENCE_CHARS)
            if cut < 0 or cut >= end:
                break
        pieces.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if start < end:
        pieces.append((start, end))
    return pieces
