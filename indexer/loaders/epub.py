"""EPUB books through EbookLib: one page per chapter in reading (spine) order, named by its TOC title;
text the chapters' markup hides is left out, as for HTML (`indexer.loaders.html`)."""

from __future__ import annotations

import posixpath
from pathlib import Path
from xml.etree import ElementTree

import ebooklib
from ebooklib import epub

from indexer.loaders.errors import LoadError
from indexer.loaders.hidden import hidden_note
from indexer.loaders.html import read_html
from indexer.loaders.package import package_names, read_member
from indexer.loaders.text import decode_text
from indexer.types import Document, IssueKind, Page

_FONT_OBFUSCATION = ("http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC")
_FONT_FILES = (".otf", ".ttf", ".woff", ".woff2")
_XMLENC = "{http://www.w3.org/2001/04/xmlenc#}"


def _check_drm(path: Path) -> None:
    """Raise LoadError ``encrypted`` when META-INF/encryption.xml encrypts anything but fonts.

    Font obfuscation (the IDPF and Adobe algorithms), or encrypted font files, leave the text readable.
    """
    try:
        root = ElementTree.fromstring(read_member(path, "META-INF/encryption.xml"))
    except ElementTree.ParseError as exc:
        raise LoadError(IssueKind.CORRUPT, "damaged EPUB file: its encryption list cannot be read") from exc
    for data in root.iter(f"{_XMLENC}EncryptedData"):
        method = data.find(f"{_XMLENC}EncryptionMethod")
        reference = data.find(f"{_XMLENC}CipherData/{_XMLENC}CipherReference")
        algorithm = method.get("Algorithm", "") if method is not None else ""
        uri = reference.get("URI", "") if reference is not None else ""
        if algorithm not in _FONT_OBFUSCATION and not uri.lower().endswith(_FONT_FILES):
            raise LoadError(
                IssueKind.ENCRYPTED, "DRM-protected EPUB: its chapters are encrypted and cannot be read here"
            )


def _toc_titles(entries: list[object], titles: dict[str, str]) -> dict[str, str]:
    """Map each file named in the table of contents (fragment dropped) to its first entry's title."""
    for entry in entries:
        if isinstance(entry, tuple):
            section, children = entry
            _toc_titles([section, *children], titles)
        elif getattr(entry, "href", None):
            target = posixpath.normpath(entry.href.split("#", 1)[0])
            title = " ".join((entry.title or "").split())
            if title:
                titles.setdefault(target, title)
    return titles


def _chapter_label(number: int, title: str) -> str:
    return f"chapter {number} “{title}”" if title else f"chapter {number}"


def load_epub(path: Path) -> Document:
    """Load an EPUB book, one `Page` per chapter with text, labelled ``chapter N “Title”``."""
    names = package_names(path, "EPUB file", "META-INF/container.xml")
    if "META-INF/encryption.xml" in names:
        _check_drm(path)
    try:
        book = epub.read_epub(str(path))
    except (epub.EpubException, KeyError) as exc:
        raise LoadError(IssueKind.CORRUPT, f"damaged EPUB file ({exc})") from exc
    titles = _toc_titles(list(book.toc), {})
    pages: list[Page] = []
    hidden = 0
    for idref, _linear in book.spine:
        item = book.get_item_with_id(idref)
        if item is None or item.get_type() != ebooklib.ITEM_DOCUMENT or not item.is_chapter():
            continue
        data = item.get_content()
        if not data.strip():
            continue
        html = read_html(decode_text(data))
        hidden += html.hidden
        if not html.body:
            continue
        name = posixpath.normpath(item.get_name())
        title = titles.get(name) or titles.get(posixpath.basename(name)) or html.heading
        number = len(pages) + 1
        pages.append(Page(number=number, text=html.body, label=_chapter_label(number, title)))
    if not pages:
        raise LoadError(IssueKind.EMPTY, "the book holds no text")
    notes = [hidden_note(hidden)] if hidden else []
    return Document(path=path, pages=pages, extractor="ebooklib", notes=notes)
