"""Where a passage is inside its document, in the words a citation uses.

A numbered page (PDF, Word) needs nothing beyond "p. N". Other units say what they are
(`Page.label`: ``§ Installation``, ``slide 3``, ``Budget!A:F``) and, when they know their first line
in the source (`Page.first_line`), the lines or rows the passage spans: ``§ Installation, lines
120–160``, ``lines 1–40``, ``Budget!A2:F40``.
"""

from __future__ import annotations

import re

from indexer.types import Page

_COLUMNS = re.compile(r"^(?P<sheet>.*!)?(?P<first>[A-Z]{1,3}):(?P<last>[A-Z]{1,3})$")
"""A sheet's column range as a label: ``Budget!A:F`` or ``'My sheet'!B:D``."""


def describe(page: Page, char_start: int, char_end: int) -> str:
    """How a citation names ``page.text[char_start:char_end]``: "" for a plain numbered page (shown as
    "p. N"), else the unit's label with the line (or row, or cell) range of the span."""
    if not page.first_line:
        return page.label
    first, last = _line_range(page, char_start, char_end)
    if page.line_kind == "rows":
        return _rows(page.label, first, last)
    lines = f"line {first}" if first == last else f"lines {first}–{last}"
    return f"{page.label}, {lines}" if page.label else lines


def _line_range(page: Page, char_start: int, char_end: int) -> tuple[int, int]:
    """The 1-based source lines of the span's first and last characters."""
    start = max(0, min(char_start, len(page.text)))
    end = max(start, min(char_end, len(page.text)) - 1)
    first = page.first_line + page.text.count("\n", 0, start)
    return first, first + page.text.count("\n", start, end)


def _rows(label: str, first: int, last: int) -> str:
    """``Budget!A2:F40`` from a column-range label, else ``Budget, rows 2–40``."""
    columns = _COLUMNS.match(label)
    if columns:
        return f"{columns['sheet'] or ''}{columns['first']}{first}:{columns['last']}{last}"
    rows = f"row {first}" if first == last else f"rows {first}–{last}"
    return f"{label}, {rows}" if label else rows
