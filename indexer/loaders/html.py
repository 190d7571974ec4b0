"""HTML to the text a reader sees: scripts, styles and markup dropped, blocks on their own lines.

Text a reader of the page does not see is left out too (`indexer.loaders.hidden`): an element with the
``hidden`` attribute, an inline style of ``display:none``, ``visibility:hidden``,
``opacity:0``, a font size of zero or under 2 px/pt, or a text colour that cannot be told from the
background set on it or its ancestors (the page's is taken to be white), as ``color:#fff`` on a white page
or ``<font color="white">``. Style sheets are not applied: a class that a ``<style>`` hides is not seen
here. Comments, scripts, styles, templates and ``<noscript>`` were never text. ``aria-hidden="true"`` is
not hidden: it hides an element from screen readers, not from the eye (mdBook's section numbers, icons).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from indexer.loaders.errors import LoadError
from indexer.loaders.hidden import RGB, WHITE, faint, hidden_note, tiny, visible_chars
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
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
_CLOSED_BY_ITSELF = {"p", "li", "dt", "dd", "tr", "td", "th", "option"}
"""Elements whose end tag may be left out: a new one of the same kind closes the open one."""
_CLOSES_P = _BLOCKS - {"br", "title"}
_NAMED_COLOURS = {
    "white": (1.0, 1.0, 1.0),
    "snow": (1.0, 0.98, 0.98),
    "ivory": (1.0, 1.0, 0.94),
    "whitesmoke": (0.96, 0.96, 0.96),
    "ghostwhite": (0.97, 0.97, 1.0),
    "black": (0.0, 0.0, 0.0),
    "red": (1.0, 0.0, 0.0),
    "blue": (0.0, 0.0, 1.0),
    "green": (0.0, 0.5, 0.0),
    "gray": (0.5, 0.5, 0.5),
    "grey": (0.5, 0.5, 0.5),
    "silver": (0.75, 0.75, 0.75),
    "yellow": (1.0, 1.0, 0.0),
    "navy": (0.0, 0.0, 0.5),
}
_TRANSPARENT = "transparent"
_RGB_FUNCTION = re.compile(r"rgba?\(\s*([\d.]+%?)[\s,]+([\d.]+%?)[\s,]+([\d.]+%?)(?:[\s,/]+([\d.]+%?))?\s*\)")
_FONT_SIZE = re.compile(r"^(-?[\d.]+)\s*(px|pt|em|rem|%|vw|vh)?$")


def css_colour(value: str) -> RGB | str | None:
    """A CSS colour as RGB in 0..1, ``transparent`` (also for an alpha of 0), or None when not understood
    (a variable, ``currentColor``, a name not listed, which then count as seen)."""
    value = value.strip().lower()
    if value == _TRANSPARENT:
        return _TRANSPARENT
    if value in _NAMED_COLOURS:
        return _NAMED_COLOURS[value]
    if match := re.fullmatch(r"#([0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})", value):
        return _hex_colour(match.group(1))
    if match := _RGB_FUNCTION.fullmatch(value):
        red, green, blue, alpha = match.groups()
        if alpha is not None and _channel(alpha, 1) == 0:
            return _TRANSPARENT
        return (_channel(red, 255), _channel(green, 255), _channel(blue, 255))
    return None


def _hex_colour(digits: str) -> RGB | str:
    if len(digits) in (3, 4):
        digits = "".join(c * 2 for c in digits)
    if len(digits) == 8 and int(digits[6:], 16) == 0:
        return _TRANSPARENT
    return (int(digits[0:2], 16) / 255, int(digits[2:4], 16) / 255, int(digits[4:6], 16) / 255)


def _channel(value: str, scale: float) -> float:
    return float(value[:-1]) / 100 if value.endswith("%") else float(value) / scale


def _style(attrs: dict[str, str]) -> dict[str, str]:
    """The declarations of an inline ``style`` attribute, property names lower-cased."""
    declarations = {}
    for declaration in attrs.get("style", "").split(";"):
        name, _, value = declaration.partition(":")
        if value.strip():
            declarations[name.strip().lower()] = value.replace("!important", "").strip().lower()
    return declarations


def _tiny_font(value: str) -> bool:
    """True for a CSS font size no one reads: zero, or under 2 px or pt (0.15 em)."""
    match = _FONT_SIZE.match(value.strip())
    if not match:
        return False
    size, unit = float(match.group(1)), match.group(2) or "px"
    if unit in ("em", "rem"):
        size *= 12
    elif unit == "%":
        size *= 0.12
    elif unit in ("vw", "vh"):
        return size == 0
    return tiny(size)


@dataclass(frozen=True)
class _Frame:
    """An open element: its tag, whether it hides what it holds (by attribute or style), and the colour
    of its text and of the background under it (None: not known, so not compared)."""

    tag: str
    hides: bool = False
    colour: RGB | None = (0.0, 0.0, 0.0)
    background: RGB | None = WHITE
    see_through: bool = False
    """Its text colour is transparent."""

    @property
    def unseen_text(self) -> bool:
        """True when text right inside it cannot be told from its background (or is transparent)."""
        if self.see_through:
            return True
        return self.colour is not None and self.background is not None and faint(self.colour, self.background)


def _hides_itself(attrs: dict[str, str], style: dict[str, str]) -> bool:
    """True when an element's attributes or inline style take it and its content off the page."""
    if "hidden" in attrs:
        return True
    if style.get("display", "").startswith("none") or style.get("visibility", "") in ("hidden", "collapse"):
        return True
    if re.fullmatch(r"0*\.?0+%?", style.get("opacity", "")):
        return True
    return _tiny_font(style.get("font-size", ""))


def _open_frame(tag: str, attrs: dict[str, str], parent: _Frame) -> _Frame:
    """The frame of an element opened inside `parent`: does it hide its content, and in what colours."""
    style = _style(attrs)
    colour, background, see_through = parent.colour, parent.background, parent.see_through
    if "color" in style or "color" in attrs:
        found = css_colour(style.get("color", attrs.get("color", "")))
        see_through = found == _TRANSPARENT
        colour = found if isinstance(found, tuple) else None
    for value in (style.get("background-color"), style.get("background"), attrs.get("bgcolor")):
        if value is not None:
            found = css_colour(value)
            if found != _TRANSPARENT:  # a transparent background shows the one beneath
                background = found if isinstance(found, tuple) else None
            break
    return _Frame(tag, _hides_itself(attrs, style), colour, background, see_through)


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self.heading = ""
        self.hidden_chars = 0
        """Characters (not white space) of text left out because its element or style hides it."""
        self._hidden_depth = 0
        self._stack: list[_Frame] = [_Frame("#document")]
        self._hiding = 0
        """How many open elements hide their content (by attribute or style)."""
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
        if tag not in _VOID:
            self._open(tag, {name.lower(): (value or "") for name, value in attrs})

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in _HEADINGS and self._heading_state == "in":
            self._heading_state = "after"
        elif tag in _HIDDEN and self._hidden_depth:
            self._hidden_depth -= 1
        if tag in _BLOCKS:
            self.parts.append("\n")
        self._close(tag)

    def _open(self, tag: str, attrs: dict[str, str]) -> None:
        """Push an element, closing first what its start closes (an open ``<p>`` at a block, an ``<li>``
        at the next ``<li>``), as a browser does."""
        top = self._stack[-1].tag
        if (tag in _CLOSED_BY_ITSELF and top == tag) or (tag in _CLOSES_P and top == "p"):
            self._close(top)
        frame = _open_frame(tag, attrs, self._stack[-1])
        self._stack.append(frame)
        self._hiding += frame.hides

    def _close(self, tag: str) -> None:
        """Pop the innermost open element named `tag` and those opened inside it; a stray end tag is ignored."""
        for depth in range(len(self._stack) - 1, 0, -1):
            if self._stack[depth].tag == tag:
                for frame in self._stack[depth:]:
                    self._hiding -= frame.hides
                del self._stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif (self._hiding or self._stack[-1].unseen_text) and not self._hidden_depth:
            self.hidden_chars += visible_chars(data)
        elif not self._hidden_depth:
            self.parts.append(data)
            if self._heading_state == "in":
                self.heading += data


@dataclass(frozen=True)
class HtmlText:
    """What a reader sees of an HTML document: its <title>, its first heading, and its body text; and how
    many characters of text its markup hides (left out of the body)."""

    title: str
    heading: str
    body: str
    hidden: int = 0


def read_html(markup: str) -> HtmlText:
    """Parse HTML into its title, first heading and visible body text, one block per paragraph."""
    parser = _VisibleText()
    parser.feed(markup)
    parser.close()
    body = "".join(parser.parts)
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in body.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    title, heading = " ".join(parser.title.split()), " ".join(parser.heading.split())
    return HtmlText(title=title, heading=heading, body=text, hidden=parser.hidden_chars)


def _with_title(page: HtmlText) -> str:
    title, text = page.title, page.body
    return f"{title}\n\n{text}" if title and not text.startswith(title) else text


def html_to_text(markup: str) -> str:
    """Return the visible text of an HTML document, title first, one block per paragraph."""
    return _with_title(read_html(markup))


def load_html(path: Path) -> Document:
    """Load an HTML file as one page of visible text (with a note when hidden text was left out)."""
    page = read_html(decode_text(path.read_bytes()))
    text = _with_title(page)
    if not text:
        raise LoadError(IssueKind.EMPTY, "the page has no visible text")
    notes = [hidden_note(page.hidden)] if page.hidden else []
    return Document(path=path, pages=[Page(number=1, text=text)], extractor="html", notes=notes)
