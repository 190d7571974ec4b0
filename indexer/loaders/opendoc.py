"""OpenDocument text (.odt) through odfpy: headings, paragraphs, lists and tables in reading order, one
page per heading's section (``§ Installation``), since an ODT file has no page numbers of its own.

Text a reader does not see is left out (`indexer.loaders.hidden`): hidden text fields
(``text:hidden-text``, a paragraph with a ``text:hidden-paragraph``), and paragraphs and spans whose style
(or a style it is based on) sets ``text:display="none"``, a font size under 2 points, or a text colour that
cannot be told from its background (white on the white page).

Also the odfpy helpers the OpenDocument spreadsheet loader shares.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from odf.element import Element, Node
from odf.namespaces import FONS, STYLENS, TABLENS, TEXTNS
from odf.opendocument import OpenDocument
from odf.opendocument import load as load_odf

from indexer.loaders.errors import LoadError
from indexer.loaders.hidden import RGB, WHITE, faint, hidden_note, tiny, visible_chars
from indexer.loaders.package import package_names, read_member
from indexer.types import Document, IssueKind, Page

_SKIPPED = {(TEXTNS, "tracked-changes"), (TEXTNS, "sequence-decls"), (TEXTNS, "variable-decls")}
"""Parts of a text body that are not its text: deleted revisions and declarations."""


def check_odf_password(path: Path, what: str) -> None:
    """Raise LoadError ``encrypted`` when an OpenDocument file's manifest says its parts are encrypted."""
    if b"encryption-data" in read_member(path, "META-INF/manifest.xml"):
        raise LoadError(IssueKind.ENCRYPTED, f"password-protected {what}: save it again without a password")


def odf_children(element: Element, *names: str, namespace: str = TABLENS) -> Iterator[Element]:
    """The child elements of an odfpy element with one of the given names (text nodes skipped)."""
    wanted = {(namespace, name) for name in names}
    return (child for child in element.childNodes if getattr(child, "qname", None) in wanted)


def table_rows(element: Element) -> Iterator[Element]:
    """The table:table-row elements of a table in order, through header rows and row groups."""
    groups = {(TABLENS, "table-header-rows"), (TABLENS, "table-row-group"), (TABLENS, "table-rows")}
    for child in element.childNodes:
        qname = getattr(child, "qname", None)
        if qname == (TABLENS, "table-row"):
            yield child
        elif qname in groups:
            yield from table_rows(child)


_HIDDEN_FIELDS = {(TEXTNS, "hidden-text"), (TEXTNS, "hidden-paragraph")}


def _colour(value: str) -> RGB | None:
    """An ODF ``#rrggbb`` colour in 0..1; None for ``transparent`` or anything else."""
    if len(value) == 7 and value.startswith("#"):
        try:
            return (int(value[1:3], 16) / 255, int(value[3:5], 16) / 255, int(value[5:7], 16) / 255)
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class _StyleLook:
    """What a text style says about being seen; None where it (and the styles it is based on) is silent."""

    display_none: bool | None = None
    colour: RGB | None = None
    background: RGB | None = None
    points: float | None = None

    def over(self, beneath: _StyleLook) -> _StyleLook:
        """This look, with what it leaves unsaid taken from `beneath` (the style it is based on)."""
        pairs = zip(_values(self), _values(beneath), strict=True)
        return _StyleLook(*(theirs if mine is None else mine for mine, theirs in pairs))

    @property
    def unseen(self) -> bool:
        if self.display_none or (self.points is not None and tiny(self.points)):
            return True
        return self.colour is not None and faint(self.colour, self.background or WHITE)


def _points(size: str) -> float | None:
    """A font size in points (``12pt``); None for a relative size (``80%``) or anything else."""
    try:
        return float(size[:-2]) if size.endswith("pt") else None
    except ValueError:
        return None


def _values(look: _StyleLook) -> tuple[object, ...]:
    return (look.display_none, look.colour, look.background, look.points)


class _Visibility:
    """Which styled elements of an OpenDocument text a reader sees, and the text of those seen."""

    def __init__(self, document: OpenDocument) -> None:
        self._styles: dict[str, Element] = {}
        for container in (document.styles, document.automaticstyles):
            for style in odf_children(container, "style", namespace=STYLENS):
                self._styles[style.getAttrNS(STYLENS, "name") or ""] = style
        self._looks: dict[str, _StyleLook] = {}
        self.hidden_chars = 0

    def _look(self, name: str, depth: int = 0) -> _StyleLook:
        if name not in self._styles or depth > 20:
            return _StyleLook()
        if name not in self._looks:
            style = self._styles[name]
            own = _StyleLook()
            for props in odf_children(style, "text-properties", namespace=STYLENS):
                own = _StyleLook(
                    display_none=(props.getAttrNS(TEXTNS, "display") == "none") or None,
                    colour=_colour(props.getAttrNS(FONS, "color") or ""),
                    background=_colour(props.getAttrNS(FONS, "background-color") or ""),
                    points=_points(props.getAttrNS(FONS, "font-size") or ""),
                )
            parent = style.getAttrNS(STYLENS, "parent-style-name") or ""
            self._looks[name] = own.over(self._look(parent, depth + 1))
        return self._looks[name]

    def hides(self, element: Element) -> bool:
        """True when a reader does not see the element (a hidden field, or a style that hides it)."""
        if element.qname in _HIDDEN_FIELDS:
            return True
        try:
            style = element.getAttrNS(TEXTNS, "style-name")
        except (AttributeError, ValueError):
            style = None
        return bool(style) and self._look(style).unseen

    def text(self, element: Element) -> str:
        """`odf.teletype.extractText` of what a reader sees of the element; the rest counted in `hidden_chars`."""
        if self.hides(element) or any(child.qname == (TEXTNS, "hidden-paragraph") for child in _elements(element)):
            self.hidden_chars += visible_chars(_all_text(element))
            return ""
        parts = []
        for child in element.childNodes:
            if child.nodeType == Node.TEXT_NODE:
                parts.append(child.data)
            elif child.nodeType == Node.ELEMENT_NODE:
                parts.append(_SPACING.get(child.qname, "") * _count(child) or self.text(child))
        return "".join(parts)

    def line(self, element: Element) -> str:
        """What a reader sees of an element, on one line."""
        return " ".join(self.text(element).split())


_SPACING = {(TEXTNS, "line-break"): "\n", (TEXTNS, "tab"): "\t", (TEXTNS, "s"): " "}


def _count(element: Element) -> int:
    """How many times a spacing element repeats (``text:s text:c="3"``)."""
    if element.qname != (TEXTNS, "s"):
        return 1
    repeat = element.getAttrNS(TEXTNS, "c")
    return int(repeat) if repeat and repeat.isdigit() else 1


def _elements(element: Element) -> list[Element]:
    return [child for child in element.childNodes if child.nodeType == Node.ELEMENT_NODE]


def _all_text(element: Element) -> str:
    """All the text inside an element, seen or not."""
    return "".join(child.data if child.nodeType == Node.TEXT_NODE else _all_text(child) for child in element.childNodes)


def _table_text(table: Element, visibility: _Visibility) -> str:
    """A table as one line per row, cells joined with `` | ``."""
    rows = (" | ".join(visibility.line(cell) for cell in odf_children(row, "table-cell")) for row in table_rows(table))
    return "\n".join(rows)


@dataclass
class _Section:
    heading: str = ""
    blocks: list[str] = field(default_factory=list)


class _Reader:
    """Walks a text body in order, starting a section at each heading, reading what a reader sees."""

    def __init__(self, visibility: _Visibility) -> None:
        self.sections = [_Section()]
        self._visibility = visibility

    def walk(self, element: Element) -> None:
        for child in element.childNodes:
            qname = getattr(child, "qname", None)
            if qname is None or qname in _SKIPPED or qname[1].endswith("-source"):
                continue
            if qname == (TEXTNS, "h") and (heading := self._visibility.line(child)):
                self.sections.append(_Section(heading, [heading]))
            elif qname in {(TEXTNS, "p"), (TEXTNS, "h")}:
                self._add(self._visibility.line(child))
            elif qname == (TEXTNS, "list"):
                self._add("\n".join(self._list_lines(child)))
            elif qname == (TABLENS, "table"):
                self._add(_table_text(child, self._visibility))
            else:
                self.walk(child)  # sections, indexes, frames: their paragraphs in place

    def _list_lines(self, element: Element) -> Iterator[str]:
        for item in odf_children(element, "list-item", "list-header", namespace=TEXTNS):
            for child in item.childNodes:
                qname = getattr(child, "qname", None)
                if qname == (TEXTNS, "list"):
                    yield from ("  " + line for line in self._list_lines(child))
                elif qname is not None and (text := self._visibility.line(child)):
                    yield f"- {text}"

    def _add(self, block: str) -> None:
        if block.strip():
            self.sections[-1].blocks.append(block)


def _section_label(section: _Section, has_headings: bool) -> str:
    if section.heading:
        return f"§ {section.heading}"
    return "beginning" if has_headings else "whole document"


def load_odt(path: Path) -> Document:
    """Load an OpenDocument text, one `Page` per section under a heading, labelled ``§ <heading>``."""
    package_names(path, "OpenDocument text", "content.xml")
    check_odf_password(path, "OpenDocument text")
    document = load_odf(str(path))
    body = document.text
    if body is None:
        raise LoadError(IssueKind.CORRUPT, "not a text document: the file holds no body text")
    visibility = _Visibility(document)
    reader = _Reader(visibility)
    reader.walk(body)
    sections = [s for s in reader.sections if s.blocks]
    has_headings = any(s.heading for s in sections)
    pages = [
        Page(number=number, text="\n\n".join(section.blocks), label=_section_label(section, has_headings))
        for number, section in enumerate(sections, start=1)
    ]
    if not pages:
        raise LoadError(IssueKind.EMPTY, "the document holds no text")
    notes = [hidden_note(visibility.hidden_chars)] if visibility.hidden_chars else []
    return Document(path=path, pages=pages, extractor="odfpy", notes=notes)
