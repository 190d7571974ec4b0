"""Cutting a text file into located units: sections under their headings, blocks of lines, pages.

Markdown (ATX ``#`` and setext headings), reStructuredText (underlined, optionally overlined titles),
Org (``*`` headings) and LaTeX (``\\section{...}``) files become one unit per section, labelled
``§ <heading>`` (with its parent heading when there is one, ``§ Install › Debian``); plain text, logs
and CSV have no headings and become blocks of lines (rows for CSV). A section that is only a heading
(or nearly) joins the next one, so no passage is a heading-only scrap; a section longer than
`BLOCK_LINES` is cut into blocks of lines that keep its label. A file with form feeds is a printout:
each form-feed page is a unit labelled ``p. N``. Every unit knows its first line in the file, so a
citation can name the lines it spans (`indexer.location`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from indexer.types import Page

BLOCK_LINES = 200
"""Most lines in one unit; a longer section is cut into blocks of about this many lines."""
MIN_BODY_CHARS = 40
"""A section with fewer non-space characters than this under its heading joins the next section."""
MAX_LABEL_CHARS = 60

_SYNTAX_BY_SUFFIX = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".rst": "rst",
    ".org": "org",
    ".tex": "latex",
    ".csv": "rows",
}
_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ADORNMENT = re.compile(r"^([!-/:-@\[-`{-~])\1{2,}[ \t]*$")
_ORG = re.compile(r"^(\*+)[ \t]+(.+?)(?:[ \t]+:[\w@#%:]+:)?[ \t]*$")
_LATEX = re.compile(r"^\s*\\(part|chapter|section|subsection|subsubsection)\*?\{(.+)\}")
_LATEX_LEVELS = ("part", "chapter", "section", "subsection", "subsubsection")


@dataclass(frozen=True)
class Heading:
    """A heading of a text file: its lines ``[first, end)`` (0-based), its level (1 is the top) and title."""

    first: int
    end: int
    level: int
    title: str


@dataclass(frozen=True)
class _Unit:
    first: int
    end: int
    label: str
    body: int
    """Non-space characters outside heading lines."""


def syntax_of(suffix: str) -> str:
    """The markup a file's extension promises: markdown, rst, org, latex, rows (CSV) or plain."""
    return _SYNTAX_BY_SUFFIX.get(suffix.lower(), "plain")


def split_units(text: str, syntax: str = "plain") -> list[Page]:
    """Cut normalised text (``\\n`` line ends) into located pages, numbered from 1."""
    parts = text.split("\f")
    if len(parts) > 1:
        return _printed_pages(parts)
    lines = text.split("\n")
    found = find_headings(lines, syntax)
    units = _sections(lines, found) if found else [_Unit(0, len(lines), "", 0)]
    kind = "rows" if syntax == "rows" else "lines"
    return _pages(text, [block for unit in units for block in _blocks(lines, unit)], kind)


def _printed_pages(parts: list[str]) -> list[Page]:
    """One page per form-feed page, labelled ``p. N`` with its first line in the file."""
    pages, line = [], 1
    for number, part in enumerate(parts, start=1):
        pages.append(Page(number=number, text=part, label=f"p. {number}", first_line=line))
        line += part.count("\n")
    return pages


def find_headings(lines: list[str], syntax: str) -> list[Heading]:
    """The headings of a file's lines in the given markup, in order."""
    finders = {"markdown": _markdown, "rst": _rst, "org": _org, "latex": _latex}
    return finders[syntax](lines) if syntax in finders else []


def _markdown(lines: list[str]) -> list[Heading]:
    """ATX and setext headings outside fenced code and YAML front matter."""
    headings: list[Heading] = []
    skip = _front_matter(lines)
    fence = ""
    for i in range(skip, len(lines)):
        line = lines[i]
        opening = _FENCE.match(line)
        if opening and (not fence or opening.group(1).startswith(fence)):
            fence = "" if fence else opening.group(1)[:3]
            continue
        if fence:
            continue
        if atx := _ATX.match(line):
            headings.append(Heading(i, i + 1, len(atx.group(1)), atx.group(2)))
        elif (
            i + 1 < len(lines)
            and _SETEXT.match(lines[i + 1])
            and _plain_line(line)
            and (i == skip or not lines[i - 1].strip())
        ):
            headings.append(Heading(i, i + 2, 1 if lines[i + 1].strip()[0] == "=" else 2, line.strip()))
    return headings


def _front_matter(lines: list[str]) -> int:
    """How many lines a leading YAML front matter block (``---`` ... ``---``) takes; 0 when none."""
    if not lines or lines[0].strip() != "---":
        return 0
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            return i + 1
    return 0


def _plain_line(line: str) -> bool:
    """A line that can be a title: text, not indented code, a list item, a quote or a table row."""
    stripped = line.strip()
    return bool(stripped) and not line.startswith("    ") and stripped[0] not in "-*+>|#"


def _rst(lines: list[str]) -> list[Heading]:
    """Titles underlined (and optionally overlined) by a repeated punctuation character; levels in
    the order their styles first appear, as reStructuredText defines them."""
    headings: list[Heading] = []
    styles: list[tuple[str, bool]] = []
    for i in range(len(lines) - 1):
        title, under = lines[i], lines[i + 1]
        if not _plain_line(title) or _ADORNMENT.match(title) or not _ADORNMENT.match(under):
            continue
        if len(under.rstrip()) < len(title.rstrip()):
            continue
        over = i > 0 and lines[i - 1].rstrip() == under.rstrip()
        if not over and i > 0 and lines[i - 1].strip():
            continue
        style = (under[0], over)
        if style not in styles:
            styles.append(style)
        headings.append(Heading(i - 1 if over else i, i + 2, styles.index(style) + 1, title.strip()))
    return headings


def _org(lines: list[str]) -> list[Heading]:
    """Org headings: ``*`` stars at the start of a line, tags left out."""
    return [Heading(i, i + 1, len(m.group(1)), m.group(2)) for i, line in enumerate(lines) if (m := _ORG.match(line))]


def _latex(lines: list[str]) -> list[Heading]:
    """LaTeX sectioning commands, from ``\\part`` down to ``\\subsubsection``."""
    return [
        Heading(i, i + 1, _LATEX_LEVELS.index(m.group(1)) + 1, m.group(2))
        for i, line in enumerate(lines)
        if (m := _LATEX.match(line))
    ]


def _sections(lines: list[str], headings: list[Heading]) -> list[_Unit]:
    """One unit per heading (and one for any text before the first), small ones joined to the next."""
    labels = _labels(headings)
    starts = ([0] if headings[0].first > 0 else []) + [h.first for h in headings]
    ends = [*starts[1:], len(lines)]
    by_start = {h.first: (h, label) for h, label in zip(headings, labels, strict=True)}
    units = []
    for first, end in zip(starts, ends, strict=True):
        heading, label = by_start.get(first, (None, ""))
        body_from = heading.end if heading else first
        units.append(_Unit(first, end, label, sum(len("".join(line.split())) for line in lines[body_from:end])))
    return _join_small(units)


def _labels(headings: list[Heading]) -> list[str]:
    """``§ <title>`` for each heading, led by its parent's title when it has one (a lone top heading,
    the document's title, leads nothing), kept short."""
    top = min(h.level for h in headings)
    titled = sum(h.level == top for h in headings) == 1
    labels, stack = [], []
    for heading in headings:
        stack = [h for h in stack if h.level < heading.level]
        parents = [h for h in stack if not (titled and h.level == top)]
        title = _short(heading.title)
        if parents and len(parents[-1].title) + len(title) <= MAX_LABEL_CHARS:
            title = f"{parents[-1].title} › {title}"
        labels.append(f"§ {title}")
        stack.append(heading)
    return labels


def _short(title: str) -> str:
    title = " ".join(title.split())
    return title if len(title) <= MAX_LABEL_CHARS else title[: MAX_LABEL_CHARS - 1].rstrip() + "…"


def _join_small(units: list[_Unit]) -> list[_Unit]:
    """Join a unit with almost nothing under its heading to the next one (which names the result), the
    last such unit to the one before it."""
    joined: list[_Unit] = []
    pending: _Unit | None = None
    for unit in units:
        if pending is not None:
            unit = _Unit(pending.first, unit.end, unit.label, pending.body + unit.body)
            pending = None
        if unit.body < MIN_BODY_CHARS:
            pending = unit
        else:
            joined.append(unit)
    if pending is not None:
        if joined:
            last = joined.pop()
            pending = _Unit(last.first, pending.end, last.label, last.body + pending.body)
        joined.append(pending)
    return joined


def _blocks(lines: list[str], unit: _Unit) -> list[_Unit]:
    """A unit cut into blocks of at most BLOCK_LINES lines, each ending after a blank line when one is
    in its last quarter; every block keeps the unit's label."""
    blocks, first = [], unit.first
    while unit.end - first > BLOCK_LINES:
        end = first + BLOCK_LINES
        blank = next((i for i in range(end, end - BLOCK_LINES // 4, -1) if not lines[i - 1].strip()), end)
        blocks.append(_Unit(first, blank, unit.label, 0))
        first = blank
    blocks.append(_Unit(first, unit.end, unit.label, 0))
    return blocks


def _pages(text: str, units: list[_Unit], line_kind: str) -> list[Page]:
    """The units as pages of the text (blank ones left out), each with its 1-based first line."""
    offsets = [0]
    for line in text.split("\n"):
        offsets.append(offsets[-1] + len(line) + 1)
    offsets[-1] = len(text)
    kept = [(u, text[offsets[u.first] : offsets[u.end]]) for u in units]
    kept = [(u, part) for u, part in kept if part.strip()]
    return [
        Page(number=n, text=part, label=u.label, first_line=u.first + 1, line_kind=line_kind)
        for n, (u, part) in enumerate(kept, start=1)
    ]
