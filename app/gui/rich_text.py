"""A small Markdown-to-HTML converter for answers: the subset models write, and nothing that reaches out.

Paragraphs (a single newline is a line break), headings, bullet and numbered lists (one level of
nesting), fenced and indented code, tables, ``**bold**``, ``*emphasis*``, ```code```. Links and
images are not Markdown here: ``[text](url)`` and ``![x](file:///…)`` stay literal text, so an answer
(and a document quoted in it) can neither load an image nor offer a link. Everything is escaped
first; `decorate` then sees escaped HTML of prose (never of code) and may add markup, which is how
citation markers ``[1]`` become chips.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from app.gui.theme import Colors

Decorate = Callable[[str], str]

_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_ITEM = re.compile(r"^(\s*)([-*+•]|\d{1,3}[.)])\s+(.*)$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?!\*)|(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_PROTECTED = re.compile("\ue010(\\d+)\ue011")


@dataclass
class _Item:
    """One list item: its text lines and the items nested under it."""

    lines: list[str]
    ordered: bool
    children: list[_Item] = field(default_factory=list)


def markdown_html(text: str, colors: Colors, decorate: Decorate = lambda s: s) -> str:
    """The HTML of a Markdown answer (see the module's docstring for what is understood)."""
    lines = text.replace("\r\n", "\n").split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif _FENCE.match(line):
            i = _code_block(lines, i, colors, out)
        elif heading := _HEADING.match(line):
            size = {1: "large", 2: "large", 3: "medium"}.get(len(heading.group(1)), "medium")
            out.append(f"<p style='font-size:{size};font-weight:bold'>{inline(heading.group(2), decorate)}</p>")
            i += 1
        elif _ITEM.match(line):
            i = _list(lines, i, decorate, out)
        elif line.lstrip().startswith("|") and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1]):
            i = _table(lines, i, colors, decorate, out)
        else:
            i = _paragraph(lines, i, decorate, out)
    return "".join(out)


def _is_block_start(lines: list[str], i: int) -> bool:
    line = lines[i]
    return bool(
        not line.strip()
        or _FENCE.match(line)
        or _HEADING.match(line)
        or _ITEM.match(line)
        or (line.lstrip().startswith("|") and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1]))
    )


def _paragraph(lines: list[str], i: int, decorate: Decorate, out: list[str]) -> int:
    """Lines up to the next blank line or block, one line break between them."""
    taken = [lines[i]]
    i += 1
    while i < len(lines) and not _is_block_start(lines, i):
        taken.append(lines[i])
        i += 1
    out.append("<p>" + "<br>".join(inline(t.strip(), decorate) for t in taken) + "</p>")
    return i


def _code_block(lines: list[str], i: int, colors: Colors, out: list[str]) -> int:
    """A fenced block, verbatim up to its closing fence (or the end of an unfinished answer)."""
    fence = _FENCE.match(lines[i])
    assert fence is not None
    body: list[str] = []
    i += 1
    while i < len(lines) and not lines[i].lstrip().startswith(fence.group(1)):
        body.append(lines[i])
        i += 1
    code = html.escape("\n".join(body))
    out.append(
        f"<table width='100%' cellpadding='6' cellspacing='0' style='background-color:{colors.code_bg}'>"
        f"<tr><td><pre style='margin:0'>{code}</pre></td></tr></table>"
    )
    return i + 1


def _list(lines: list[str], i: int, decorate: Decorate, out: list[str]) -> int:
    """Consecutive items (continuation lines join their item); deeper-indented items nest once."""
    items: list[_Item] = []
    base: int | None = None
    while i < len(lines):
        item = _ITEM.match(lines[i])
        if item:
            indent, ordered = len(item.group(1).expandtabs(4)), item.group(2)[0].isdigit()
            base = indent if base is None else base
            entry = _Item([item.group(3)], ordered)
            if indent >= base + 2 and items:
                items[-1].children.append(entry)
            else:
                items.append(entry)
        elif lines[i].strip() and lines[i].startswith((" ", "\t")) and items:
            target = items[-1].children[-1] if items[-1].children else items[-1]
            target.lines.append(lines[i].strip())
        elif not lines[i].strip() and i + 1 < len(lines) and _ITEM.match(lines[i + 1]):
            pass  # a loose list: a blank line between items keeps the list going
        else:
            break
        i += 1
    out.append(_list_html(items, decorate))
    return i


def _list_html(items: list[_Item], decorate: Decorate) -> str:
    tag = "ol" if items and items[0].ordered else "ul"
    rows = []
    for item in items:
        nested = _list_html(item.children, decorate) if item.children else ""
        rows.append("<li>" + "<br>".join(inline(t, decorate) for t in item.lines) + nested + "</li>")
    return f"<{tag}>" + "".join(rows) + f"</{tag}>"


def _table(lines: list[str], i: int, colors: Colors, decorate: Decorate, out: list[str]) -> int:
    """A pipe table: a header row, the rule under it, then rows while lines start with a pipe."""
    header = _cells(lines[i])
    i += 2
    rows: list[list[str]] = []
    while i < len(lines) and lines[i].lstrip().startswith("|"):
        rows.append(_cells(lines[i]))
        i += 1
    cell = f"style='border:1px solid {colors.card_border}'"
    head = "".join(f"<th {cell}>{inline(c, decorate)}</th>" for c in header)
    body = "".join("<tr>" + "".join(f"<td {cell}>{inline(c, decorate)}</td>" for c in row) + "</tr>" for row in rows)
    out.append(
        f"<table cellspacing='0' cellpadding='5' "
        f"style='border-collapse:collapse;border:1px solid {colors.card_border}'>"
        f"<tr style='background-color:{colors.card_bg}'>{head}</tr>{body}</table>"
    )
    return i


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def inline(text: str, decorate: Decorate = lambda s: s) -> str:
    """Escaped text with code spans, strong and emphasis as markup; `decorate` runs on the prose."""
    codes: list[str] = []

    def protect(match: re.Match[str]) -> str:
        codes.append(f"<code>{html.escape(match.group(1))}</code>")
        return f"\ue010{len(codes) - 1}\ue011"

    escaped = html.escape(_CODE_SPAN.sub(protect, text), quote=False)
    escaped = _STRONG.sub(lambda m: f"<b>{m.group(2)}</b>", escaped)
    escaped = _EMPHASIS.sub(lambda m: f"<i>{m.group(1) or m.group(2)}</i>", escaped)
    return _PROTECTED.sub(lambda m: codes[int(m.group(1))], decorate(escaped))
