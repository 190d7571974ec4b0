"""OpenDocument text (.odt) through odfpy: headings, paragraphs, lists and tables in reading order, one
page per heading's section (``§ Installation``), since an ODT file has no page numbers of its own.

Also the odfpy helpers the OpenDocument spreadsheet loader shares.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from odf import teletype
from odf.element import Element
from odf.namespaces import TABLENS, TEXTNS
from odf.opendocument import load as load_odf

from indexer.loaders.errors import LoadError
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


def _line(element: Element) -> str:
    """An element's text on one line."""
    return " ".join(teletype.extractText(element).split())


def _table_text(table: Element) -> str:
    """A table as one line per row, cells joined with `` | ``."""
    rows = (" | ".join(_line(cell) for cell in odf_children(row, "table-cell")) for row in table_rows(table))
    return "\n".join(rows)


@dataclass
class _Section:
    heading: str = ""
    blocks: list[str] = field(default_factory=list)


class _Reader:
    """Walks a text body in order, starting a section at each heading."""

    def __init__(self) -> None:
        self.sections = [_Section()]

    def walk(self, element: Element) -> None:
        for child in element.childNodes:
            qname = getattr(child, "qname", None)
            if qname is None or qname in _SKIPPED or qname[1].endswith("-source"):
                continue
            if qname == (TEXTNS, "h") and _line(child):
                self.sections.append(_Section(_line(child), [_line(child)]))
            elif qname in {(TEXTNS, "p"), (TEXTNS, "h")}:
                self._add(_line(child))
            elif qname == (TEXTNS, "list"):
                self._add("\n".join(self._list_lines(child)))
            elif qname == (TABLENS, "table"):
                self._add(_table_text(child))
            else:
                self.walk(child)  # sections, indexes, frames: their paragraphs in place

    def _list_lines(self, element: Element) -> Iterator[str]:
        for item in odf_children(element, "list-item", "list-header", namespace=TEXTNS):
            for child in item.childNodes:
                qname = getattr(child, "qname", None)
                if qname == (TEXTNS, "list"):
                    yield from ("  " + line for line in self._list_lines(child))
                elif qname is not None and (text := _line(child)):
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
    body = load_odf(str(path)).text
    if body is None:
        raise LoadError(IssueKind.CORRUPT, "not a text document: the file holds no body text")
    reader = _Reader()
    reader.walk(body)
    sections = [s for s in reader.sections if s.blocks]
    has_headings = any(s.heading for s in sections)
    pages = [
        Page(number=number, text="\n\n".join(section.blocks), label=_section_label(section, has_headings))
        for number, section in enumerate(sections, start=1)
    ]
    if not pages:
        raise LoadError(IssueKind.EMPTY, "the document holds no text")
    return Document(path=path, pages=pages, extractor="odfpy")
