"""Tells content pages from navigation pages: tables of contents, indexes, reference lists and lists
of figures or tables.

Such pages hold every heading and keyword of a book, so keyword search ranks them first for almost
any question, yet they never answer one. `classify_page` looks at the shape of a page's lines: dot
leaders (``Installing . . . . 12``), entries ending in a page number whose numbers rise down the
page, index entries (``apt-get, 12, 45–47``), reference entries (``[12] A. Author. Title. 2019.``),
and a heading such as "Contents", "Index" or "References" among the first lines. A heading alone is
never enough, and the thresholds leave prose, code, data tables and lists of questions as content.
`classify_chunk` refines a page's kind for one chunk of it, so prose on a mixed page stays content.

Everything here is a pure function of text: about 10 µs per line, well under a millisecond per page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

CONTENT = "content"
TOC = "toc"
INDEX = "index"
BIBLIOGRAPHY = "bibliography"
LISTS = "lists"
KINDS = (CONTENT, TOC, INDEX, BIBLIOGRAPHY, LISTS)

PAGEKIND_VERSION = 1
"""Bump when the rules change, so existing libraries are classified again on the next index run."""

_HEADING_LINES = 4
_HEADINGS = {
    TOC: ("contents", "tableofcontents", "contentsataglance", "briefcontents", "detailedcontents", "summaryofcontents"),
    INDEX: ("index", "generalindex", "subjectindex", "alphabeticalindex", "indexofterms", "keywordindex"),
    BIBLIOGRAPHY: (
        "bibliography",
        "references",
        "workscited",
        "literaturecited",
        "referencesandnotes",
        "selectedbibliography",
        "furtherreading",
        "sources",
    ),
    LISTS: ("listoffigures", "listoftables", "listofillustrations", "listoflistings", "listofexamples", "figures"),
}
_HEADING_NUMBER = re.compile(
    r"^(?:(?:chapter|appendix|part)\s+)?(?:\d+|[ivxlc]+)?[.:)]?\s+|\s+(?:\d{1,4}|[ivxlcdm]{1,7})$", re.I
)
_HEADING_NOISE = re.compile(r"\(?continued\)?|cont(?:'|’)?d\.?|[^a-z]", re.I)

_PAGE_NUMBER = r"(?:\d{1,4}|[ivxlcdm]{1,7})"
_LEADER_LINE = re.compile(
    r"(?:(?:(?:\.\s?){4,}|(?:…\s?){2,}|(?:·\s?){4,})\s*(?:" + _PAGE_NUMBER + r")?"
    r"|(?:(?:_\s?){4,}|(?:-\s?){6,})\s*" + _PAGE_NUMBER + r")\s*$",
    re.I,
)
_LEADER_MARKS = ("....", ". . .", "…", "··", "· ·", "____", "------", "- - -", "_ _ _")
_TRAILING_NUMBER = re.compile(r"(?<![\w.,:/+\-–—×*=%$€£#])(\d{1,4})\s*$")
_LEADING_NUMBER = re.compile(
    r"^(?:(?i:chapter|section|part|appendix)\s+)?(?:\d+(?:\.\d+)*\.?|[A-Z]\.\d+(?:\.\d+)*\.?)(?=\s|[A-Z])"
)
_NUMBER_TOKEN = re.compile(r"(?<![\w.])[-+]?\d+(?:[.,:]\d+)*%?(?![\w])")
_WORD = re.compile(r"[^\W\d_]{2,}")
_BARE_NUMBER = re.compile(r"^" + _PAGE_NUMBER + r"$", re.I)
_REFS = r"\d{1,4}(?:\s*[-–—]\s*\d{1,4})?(?:f{1,2}\.?|n\d*)?"
_INDEX_LINE = re.compile(r"^(?P<term>\D.*?)(?P<comma>,)?\s+(?P<refs>" + _REFS + r"(?:\s*[,;]\s*" + _REFS + r")*)\s*$")
_SEE_LINE = re.compile(r"^[^.!?:]{2,50},?\s+\(?see(?:\s+also)?\s+[^.!?]{2,50}$", re.I)
_CODE_END = tuple("=+-*/<>:%&|^([{,;")
_LIST_ENTRY = re.compile(r"^(?:figure|fig\.|table|listing|plate|illustration|exhibit|chart|map|example)\s*\d", re.I)
_YEAR = re.compile(r"\((?:1[5-9]|20)\d{2}[a-z]?\)|(?:[,.]\s|\s)(?:1[5-9]|20)\d{2}[a-z]?[.,;)]")
_REF_MARKER = re.compile(
    r"\bet al\.|\bpp?\.\s*\d|\bdoi\b|doi\.org|\barxiv\b|\bisbn\b|\bvol\.\s*\d|\bproc(?:eedings|\.)|\bjournal\b"
    r"|\bin:\s|\bpress\b|\buniversity\b|\bpublish|\beds?\.[\s)]|\bretrieved\b|https?://",
    re.I,
)
_REF_START = re.compile(
    r"^(?:\[\s*[\w+.-]{1,12}\s*\]|\d{1,3}\.\s+(?=[A-Z][\w'’-]+,\s*[A-Z])"
    r"|[A-Z][\w'’-]+(?:\s[A-Z][\w'’-]+)?,\s+(?:[A-Z]\.\s?-?)+(?:[A-Z]\.)?(?:,|\s|$)"
    r"|(?:[A-Z]\.\s?){1,3}[A-Z][\w'’-]+[,.])"
)


@dataclass(frozen=True)
class _Shape:
    """Counts of line shapes on a page or chunk."""

    lines: list[str]
    leader: int
    open_leader: int
    entry: int
    bare_numbers: int
    page_sequence: bool
    numbered_entries: int
    index: int
    index_sorted: bool
    list_entries: int
    ref_starts: int
    prose: int
    heading: str | None


def classify_page(text: str) -> str:
    """The kind of a page from its text: ``content``, ``toc``, ``index``, ``bibliography`` or ``lists``."""
    return _decide(_shape(text))


def classify_chunk(text: str, page_kind: str) -> str:
    """The kind of one chunk of a page of kind `page_kind`: its own kind when it shows one, else its
    page's kind unless the chunk itself reads as prose (the content part of a mixed page)."""
    shape = _shape(text)
    own = _decide(shape)
    if own != CONTENT or page_kind == CONTENT:
        return own
    if shape.prose >= 3 and shape.prose >= 0.6 * len(shape.lines):
        return CONTENT
    return page_kind


def classify_chunks(pages: dict[int, str], chunks: Sequence[tuple[int, str]]) -> list[str]:
    """Kinds for chunks given as (page number, chunk text), with `pages` mapping numbers to page text."""
    page_kinds = {number: classify_page(text) for number, text in pages.items()}
    return [classify_chunk(text, page_kinds.get(page, CONTENT)) for page, text in chunks]


def _lines(text: str) -> list[str]:
    return [stripped for line in text.splitlines() if (stripped := " ".join(line.split()))]


def _heading(lines: list[str]) -> str | None:
    """The kind a navigation heading among the first lines names, if any."""
    for line in lines[:_HEADING_LINES]:
        if len(line) > 40:
            continue
        key = _HEADING_NOISE.sub("", _HEADING_NUMBER.sub("", line)).lower()
        for kind, names in _HEADINGS.items():
            if key in names:
                return kind
    return None


def _leader(line: str) -> str:
    """``numbered`` for dot leaders then a page number at the end of the line, ``open`` for dot
    leaders alone (the number was extracted apart, as pdfminer does), else ``""``."""
    if not any(mark in line for mark in _LEADER_MARKS):
        return ""
    match = _LEADER_LINE.search(line)
    if match is None:
        return ""
    return "open" if match.group(0).rstrip()[-1] in ".…·" else "numbered"


def _entry_number(line: str, leader: bool) -> tuple[int, bool] | None:
    """The page number a contents-style entry (a numbered heading or two words, then one number)
    ends with, and whether the entry is numbered (``4.2 Title 44``); None for other lines. Code
    (``retries += 1``), data rows and years are not entries."""
    match = _TRAILING_NUMBER.search(line, max(0, len(line) - 8))
    if match is None:
        return None
    head = line[: match.start()].rstrip(" .·…\t")
    if not head or head.endswith(_CODE_END):
        return None
    body = _LEADING_NUMBER.sub("", head)
    numbered = len(body) < len(head)
    words = len(_WORD.findall(body))
    if words < (1 if numbered or leader else 2) or len(_NUMBER_TOKEN.findall(body)) > 1:
        return None
    number = int(match.group(1))
    if 1900 <= number <= 2099 and not leader:
        return None  # a year ending a line of prose, not a page number
    return number, numbered


def _index_term(line: str) -> str | None:
    """The term of an index line (``term, 12, 45–47``, ``term 12, 45``, ``term, see other``), else None."""
    if ("see" in line or "See" in line) and _SEE_LINE.match(line):
        return line
    if not line[-1].isdigit():
        return None
    match = _INDEX_LINE.match(line)
    if match is None or not _WORD.search(match.group("term")):
        return None
    refs = match.group("refs")
    if match.group("comma") or "," in refs or ";" in refs:
        return match.group("term")
    return None


def _shape(text: str) -> _Shape:
    lines = _lines(text)
    leader = open_leader = entry = numbered = bare = list_entries = ref_starts = prose = 0
    numbers: list[int] = []
    terms: list[str] = []
    for line in lines:
        if _BARE_NUMBER.match(line):
            bare += 1
            continue
        leads = _leader(line)
        found = _entry_number(line, bool(leads)) if line[-1].isdigit() else None
        number = found[0] if found else None
        term = _index_term(line)
        is_ref_start = _REF_START.match(line) is not None
        leader += leads == "numbered"
        open_leader += leads == "open"
        ref_starts += is_ref_start
        if term is not None:
            terms.append(term.lower())
        elif number is not None or leads:
            entry += 1
            if found is not None:
                numbers.append(found[0])
                numbered += found[1]
            list_entries += _LIST_ENTRY.match(line) is not None
        if not (leads or term or number is not None or is_ref_start) and line.count(" ") >= 6:
            prose += 1
    return _Shape(
        lines=lines,
        leader=leader,
        open_leader=open_leader,
        entry=entry,
        bare_numbers=bare,
        page_sequence=_page_sequence(numbers),
        numbered_entries=numbered,
        index=len(terms),
        index_sorted=_rising([ord(t[0]) for t in terms]),
        list_entries=list_entries,
        ref_starts=ref_starts,
        prose=prose,
        heading=_heading(lines),
    )


def _page_sequence(numbers: list[int]) -> bool:
    """Numbers that read as a contents page's: rising down the page in steps of a few pages (a
    chapter or two), unlike the values of a settings listing or a data table."""
    if not _rising(numbers):
        return False
    steps = sorted(abs(b - a) for a, b in pairwise(numbers))
    return steps[len(steps) // 2] <= 15 and steps[-1] <= 150


def _rising(numbers: list[int]) -> bool:
    """Page numbers of a contents page (or an index's initials) rise down the page, allowing a few
    misreads and sub-entries."""
    if len(numbers) < 3:
        return False
    falls = sum(1 for a, b in pairwise(numbers) if b < a)
    return falls <= 0.2 * (len(numbers) - 1)


def _decide(s: _Shape) -> str:
    if len(s.lines) < 3:
        return CONTENT
    navigation = _navigation_kind(s)
    if navigation is not None:
        return navigation
    if _is_bibliography(s):
        return BIBLIOGRAPHY
    return CONTENT


def _navigation_kind(s: _Shape) -> str | None:
    """toc, lists or index when the page is mostly entries pointing at pages."""
    n = len(s.lines)
    if s.heading == INDEX and s.index + s.entry >= 3 and (s.index + s.entry) >= 0.3 * n:
        return INDEX
    if s.index >= 6 and s.index >= 0.4 * n and s.index > s.entry and s.index_sorted:
        return INDEX
    headed = s.heading in (TOC, LISTS)
    leaders = s.leader + min(s.open_leader, s.bare_numbers)
    entries = s.entry + (s.bare_numbers if headed or leaders >= 3 else 0)
    is_toc = (
        (headed and entries >= 3 and entries >= 0.3 * n)
        or (leaders >= 3 and leaders >= 0.25 * n)
        or (s.entry >= 6 and s.entry >= 0.5 * n and s.page_sequence and s.numbered_entries >= 0.5 * s.entry)
    )
    if not is_toc:
        return None
    if s.heading == LISTS or (s.list_entries >= 3 and s.list_entries >= 0.6 * s.entry):
        return LISTS
    return TOC


def _is_bibliography(s: _Shape) -> bool:
    """A page of reference entries: entry starts plus years, venues, pages or DOIs (only counted when
    the page has a references heading or several entry starts, as that search is the slow part)."""
    n = len(s.lines)
    headed = s.heading == BIBLIOGRAPHY
    if not (headed and s.ref_starts >= 1) and s.ref_starts < 4:
        return False
    ref_lines = sum(1 for line in s.lines if _YEAR.search(line) or _REF_MARKER.search(line))
    if headed:
        return ref_lines >= 3 and ref_lines >= 0.25 * n
    return s.ref_starts >= 0.2 * n and ref_lines >= 0.4 * n
