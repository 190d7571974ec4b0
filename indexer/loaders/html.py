"""HTML to the text a reader sees: scripts, styles and markup dropped, blocks on their own lines."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from indexer.loaders.errors import LoadError
from indexer.loaders.text import decode_text
from indexer.types import Document, IssueKind, Page

_HIDDEN = {"script", "style", "noscript", "template", "head", "svg", "iframe"}
_BLOCKS = {
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "tr",
    "table",
    "section",
    "article",
    "header",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "hr",
    "dd",
    "dt",
    "title",
    "main",
    "nav",
}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self.heading = ""
        self._hidden_depth = 0
        self._in_title = False
        self._heading_state = "before"  # then "in", then "after" the first heading

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in _HEADINGS and self._heading_state == "before":
            self._heading_state = "in"
        elif tag in _HIDDEN:
            self._hidden_depth += 1
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in _HEADINGS and self._heading_state == "in":
            self._heading_state = "after"
        elif tag in _HIDDEN and self._hidden_depth:
            self._hidden_depth -= 1
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._hidden_depth:
            self.parts.append(data)
            if self._heading_state == "in":
                self.heading += data


@dataclass(frozen=True)
class HtmlText:
    """What a reader sees of an HTML document: its <title>, its first heading, and its body text."""

    title: str
    heading: str
    body: str


def read_html(markup: str) -> HtmlText:
    """Parse HTML into its title, first heading and visible body text, one block per paragraph."""
    parser = _VisibleText()
    parser.feed(markup)
    parser.close()
    body = "".join(parser.parts)
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in body.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return HtmlText(title=" ".join(parser.title.split()), heading=" ".join(parser.heading.split()), body=text)


def html_to_text(markup: str) -> str:
    """Return the visible text of an HTML document, title first, one block per paragraph."""
    page = read_html(markup)
    title, text = page.title, page.body
    return f"{title}\n\n{text}" if title and not text.startswith(title) else text


def load_html(path: Path) -> Document:
    """Load an HTML file as one page of visible text."""
    text = html_to_text(decode_text(path.read_bytes()))
    if not text:
        raise LoadError(IssueKind.EMPTY, "the page has no visible text")
    return Document(path=path, pages=[Page(number=1, text=text)], extractor="html")
