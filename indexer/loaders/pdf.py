"""PDF pages through pypdfium2 (PDFium), with pdfminer.six for files and pages whose text is damaged.

PDFium spaces words by the glyphs' positions and reads the 73-page Debian FAQ in about 0.2 s, where
pypdf runs its words together (48% of its characters on the first pages) and pdfminer.six's layout
analysis, which reads it right, takes some 3 s of CPU taken from the embedder. `text_damage` measures
the text on the first pages: when PDFium's is damaged there the file is read by pdfminer.six instead,
once, and any single damaged page is read by the other extractor. pypdf opens every file first: it
tells damaged and locked files apart, numbers the pages, tells a blank page from a scan for OCR, and
reads the text of a file PDFium cannot open. Pages stream out as they are read (`stream_pdf`), so
chunking and embedding start while the rest of a large file is parsed. Text a reader of the page does
not see (white on white, tiny, invisible, off the page) is left out by both PDFium and pdfminer.six
(`pdf_hidden`), and a note says how much; pypdf's text, for a file PDFium cannot open, is taken whole.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from pypdf import PageObject, PasswordType, PdfReader
from pypdf.errors import DependencyError, PdfReadError

from indexer.loaders.errors import LoadError
from indexer.loaders.hidden import hidden_note
from indexer.loaders.pdf_hidden import PdfiumHiddenText, hide_unseen_text
from indexer.ocr import INSTALL_HINT, PDFIUM_LOCK, ocr_pages, tesseract_available
from indexer.types import Document, IssueKind, Page

logging.getLogger("pypdf").setLevel(logging.ERROR)
logging.getLogger("pdfminer").setLevel(logging.ERROR)

_LATIN_RUN = re.compile(r"[A-Za-z][A-Za-z’'()\-,.:;!?]{24,}")
_GARBAGE = re.compile(r"[\ufffd\ue000-\uf8ff]|\(cid:\d+\)")
DAMAGE_THRESHOLD = 0.08


def text_damage(text: str) -> float:
    """Share of the text's characters that look broken: words run together or unmapped glyphs.

    Runs of 25 or more Latin letters without a space are words glued together (no English
    word is that long); replacement, private-use and ``(cid:N)`` characters are glyphs the
    extractor could not map. Scripts written without spaces (CJK) do not count as glued.
    """
    words = text.split()
    visible = sum(map(len, words))
    if visible == 0:
        return 0.0
    # a run of 25 lies within one word of 25 or more: the pattern runs on those alone (2x faster on the FAQ)
    long_words = " ".join(word for word in words if len(word) >= 25)
    glued = sum(map(len, _LATIN_RUN.findall(long_words))) if long_words else 0
    garbage = sum(map(len, _GARBAGE.findall(text)))
    return (glued + garbage) / visible


def _open(path: Path, password: str | None) -> PdfReader:
    try:
        reader = PdfReader(str(path), strict=False)
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, IndexError) as exc:
        raise LoadError(IssueKind.CORRUPT, f"damaged PDF: {exc}") from exc
    if reader.is_encrypted:
        try:
            opened = reader.decrypt(password or "")
        except (NotImplementedError, DependencyError) as exc:
            raise LoadError(IssueKind.ENCRYPTED, f"encrypted PDF that cannot be opened here: {exc}") from exc
        if opened == PasswordType.NOT_DECRYPTED:
            if password:
                raise LoadError(IssueKind.LOCKED, "locked PDF: the password given does not open it")
            raise LoadError(
                IssueKind.LOCKED, "locked PDF: it needs a password (footnotes unlock FILE, or Library > Unlock)"
            )
    return reader


def _pypdf_page_list(reader: PdfReader) -> list[PageObject]:
    """The PDF's pages (parsed lazily by pypdf); LoadError when the page tree itself is damaged."""
    try:
        pages = reader.pages
        return [pages[index] for index in range(len(pages))]
    except (PdfReadError, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise LoadError(IssueKind.CORRUPT, f"damaged PDF: {exc}") from exc


def _pypdf_text(page: PageObject) -> str:
    try:
        return page.extract_text() or ""
    except Exception:  # noqa: BLE001 - one unreadable page must not lose the others
        return ""


class _Pdfminer:
    """pdfminer.six's layout analysis, one page at a time and only for the pages asked: the file is
    opened on the first request, pages before the asked one are skipped without layout analysis."""

    name = "pdfminer.six"

    def __init__(self, path: Path, password: str | None) -> None:
        self._path, self._password = path, password
        self._files = ExitStack()
        self._pages: Iterator[object] | None = None
        self._next = 0
        self._failed = False
        self.hidden: dict[int, int] = {}
        """Characters of hidden text (`pdf_hidden`) left out of each page read, by 0-based index."""

    def text(self, index: int) -> str | None:
        """Page `index`'s (0-based, asked in rising order) text, or None when pdfminer cannot read it."""
        if self._failed:
            return None
        try:
            return self._layout_text(index)
        except Exception:  # noqa: BLE001 - pdfminer failing leaves the other extractor's text in place
            self._failed = True
            return None

    def _layout_text(self, index: int) -> str | None:
        from pdfminer.layout import LTTextContainer

        if self._pages is None:
            self._pages = self._open()
        page = None
        while self._next <= index:
            page = next(self._pages, None)
            self._next += 1
            if page is None:
                self._failed = True  # fewer pages than pypdf found: the two disagree, the other extractor reads
                return None
        self._interpreter.process_page(page)
        layout = self._device.get_result()
        self.hidden[index] = self._device.hidden_chars
        return "".join(item.get_text() for item in layout if isinstance(item, LTTextContainer))

    def _open(self) -> Iterator[object]:
        from pdfminer.layout import LAParams
        from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
        from pdfminer.pdfpage import PDFPage

        from indexer.loaders.pdfminer_hidden import HidingAggregator

        handle = self._files.enter_context(open(self._path, "rb"))  # closed by close()
        resources = PDFResourceManager(caching=True)
        # boxes_flow=None orders text boxes by position instead of pdfminer's advanced layout ordering, which
        # is quadratic in the boxes: on the Debian FAQ 3x faster (9.3 s -> 2.8 s for 73 pages, 2 cores), with
        # the same words on every page, 67 of 73 pages identical and every page's kind (`pagekind`) the same.
        self._device = HidingAggregator(resources, laparams=LAParams(boxes_flow=None))
        self._interpreter = PDFPageInterpreter(resources, self._device)
        return iter(PDFPage.get_pages(handle, password=self._password or "", caching=True))

    def close(self) -> None:
        """Close the file."""
        self._files.close()


class _Pdfium:
    """pypdfium2 (PDFium, the PDF engine of Chrome): the main extractor, its text spaced by the glyphs'
    positions, so words are not run together where pypdf glues them, and about 20x faster than pdfminer.six.

    PDFium is not thread-safe, not even across documents: every call into it holds `PDFIUM_LOCK` (shared
    with OCR's rendering), never across a yield, and the document, opened here, is read on the thread that
    reads the file. Pages and text pages hold native memory and are closed as soon as their text is read."""

    name = "pypdfium2"

    def __init__(self, path: Path, password: str | None, count: int) -> None:
        import pypdfium2

        self._document: pypdfium2.PdfDocument | None = None
        self.hidden: dict[int, int] = {}
        """Characters of hidden text (`pdf_hidden`) left out of each page read, by 0-based index."""
        try:
            with PDFIUM_LOCK:
                document = pypdfium2.PdfDocument(str(path), password=password)
                found = len(document)
        except Exception:  # noqa: BLE001 - a file PDFium cannot open is read by pypdf, which opened it
            return
        if found == count:
            self._document = document
            self._finder = PdfiumHiddenText()
        else:  # the two parsers disagree on the page tree: pypdf's pages are the ones numbered, so pypdf reads
            with PDFIUM_LOCK:
                document.close()

    @property
    def usable(self) -> bool:
        """True when PDFium opened the file and found the pages pypdf found."""
        return self._document is not None

    def text(self, index: int) -> str | None:
        """Page `index`'s (0-based) text, normalised (`pdfium_text`); None when PDFium cannot read it."""
        if self._document is None:
            return None
        try:
            with PDFIUM_LOCK:
                page = self._document[index]
                try:
                    self.hidden[index] = hide_unseen_text(page.raw, self._finder)
                    textpage = page.get_textpage()
                    try:
                        raw = textpage.get_text_range()
                    finally:
                        textpage.close()
                finally:
                    page.close()
        except Exception:  # noqa: BLE001 - one unreadable page must not lose the others
            return None
        return pdfium_text(raw)

    def close(self) -> None:
        """Release the document's native memory and its file."""
        if self._document is not None:
            with PDFIUM_LOCK:
                self._document.close()
            self._document = None


def pdfium_text(raw: str) -> str:
    """PDFium's page text as pypdf and pdfminer.six give it: its CR LF line ends made LF, and the U+FFFE it
    writes for a line-end hyphenation, in place of the hyphen and the line break ("docu" U+FFFE "mentation"),
    made the hyphen and line break the page shows again ("docu-" LF "mentation")."""
    return raw.replace("\r\n", "\n").replace("\r", "\n").replace("\ufffe", "-\n")


class _Pypdf:
    """pypdf's text of the pages it parsed: the extractor for a file PDFium cannot open."""

    name = "pypdf"

    def __init__(self, pages: list[PageObject]) -> None:
        self._pages = pages
        self.hidden: dict[int, int] = {}
        """Always empty: pypdf's text is taken whole (hidden text is not looked for in it)."""

    def text(self, index: int) -> str | None:
        """Page `index`'s text; empty when pypdf cannot read it."""
        return _pypdf_text(self._pages[index])


class _Extractor(Protocol):
    name: str
    hidden: dict[int, int]

    def text(self, index: int) -> str | None: ...


PROBE_PAGES = 8
PROBE_TEXT_PAGES = 3
"""Which extractor reads a file is decided on its first pages with text (at most PROBE_PAGES pages):
pypdfium2 (pypdf where PDFium cannot open the file) when its text there is sound, else pdfminer.six for
the whole file. Deciding early lets pages stream out at once, and reads a damaged file once by pdfminer."""


@dataclass
class _Probe:
    """The first extractor's text of the first pages, up to PROBE_TEXT_PAGES with text, and its damage;
    it answers for the extractor, with the probed pages' texts kept so none is extracted twice."""

    extractor: _Extractor
    texts: list[str | None]
    damage: float

    @classmethod
    def of(cls, extractor: _Extractor, count: int) -> _Probe:
        texts: list[str | None] = []
        for index in range(min(count, PROBE_PAGES)):
            texts.append(extractor.text(index))
            if sum(1 for t in texts if t and len(t.strip()) >= 200) >= PROBE_TEXT_PAGES:
                break
        return cls(extractor, texts, text_damage("\n".join(t or "" for t in texts)))

    @property
    def name(self) -> str:
        return self.extractor.name

    @property
    def hidden(self) -> dict[int, int]:
        return self.extractor.hidden

    def text(self, index: int) -> str | None:
        return self.texts[index] if index < len(self.texts) else self.extractor.text(index)


@dataclass
class _Reading:
    """How a PDF's pages are being read: the probed and the chosen extractor, the pages read otherwise,
    OCR's pages."""

    main: str
    probed: str
    damage: float
    other: set[str] = field(default_factory=set)
    ocr: int = 0
    damaged: int = 0
    rescued: int = 0
    text: bool = False
    hidden: int = 0
    """Characters of hidden text (white, tiny, invisible: `pdf_hidden`) left out of the pages read."""

    def extractor(self) -> str:
        """The document's extractor label: the main one first, then any that read some pages."""
        names = [self.main, *sorted(self.other - {self.main})]
        return "+".join(names + (["tesseract"] if self.ocr else []))


def _page_text(index: int, main: _Extractor, rescue: _Extractor, reading: _Reading) -> str:
    """One page's text by the chosen extractor, with the other one as a rescue for a damaged page and
    for a page the chosen one cannot read; what hidden text the one that read it left out is counted."""
    text = main.text(index)
    if text is None:
        text = rescue.text(index)
        if text is not None:
            reading.other.add(rescue.name)
            reading.hidden += rescue.hidden.get(index, 0)
        return text or ""
    alternative = _rescue(text, lambda: rescue.text(index), rescue.name, reading)
    reading.hidden += (main if alternative is None else rescue).hidden.get(index, 0)
    return text if alternative is None else alternative


def _rescue(text: str, other: Callable[[], str | None], name: str, reading: _Reading) -> str | None:
    """The other extractor's text for the page when `text` is damaged and the other's less so; else None."""
    damage = text_damage(text)
    if damage <= DAMAGE_THRESHOLD:
        return None
    reading.damaged += 1
    alternative = other()
    if alternative is not None and text_damage(alternative) < damage:
        reading.other.add(name)
        reading.rescued += 1
        return alternative
    return None


def stream_pdf(path: Path, password: str | None = None) -> Iterator[Page | Document]:
    """A PDF's pages (1-based) as they are read, then its `Document` without pages (extractor and notes):
    pypdfium2 (pypdf where PDFium cannot open the file) or, when its text is damaged on the first pages,
    pdfminer.six, each page rescued by the other extractor when damaged, and pages without a text layer
    read by OCR when Tesseract is installed. pypdf opens the file in any case: it tells a damaged or
    locked file, numbers the pages and tells a blank page from an image."""
    reader = _open(path, password)
    pages = _pypdf_page_list(reader)
    ocr = tesseract_available()
    with ExitStack() as closing:
        pdfium = _Pdfium(path, password, len(pages))
        closing.callback(pdfium.close)
        miner = _Pdfminer(path, password)
        closing.callback(miner.close)
        probe = _Probe.of(pdfium if pdfium.usable else _Pypdf(pages), len(pages))
        main, rescue = (probe, miner) if probe.damage <= DAMAGE_THRESHOLD else (miner, probe)
        reading = _Reading(main.name, probe.name, probe.damage)
        for index, page in enumerate(pages):
            text = _page_text(index, main, rescue, reading)
            if not text.strip() and ocr and _may_hold_image(page):
                text = ocr_pages(path, [index + 1], password).get(index + 1, "")
                reading.ocr += bool(text.strip())
            reading.text = reading.text or bool(text.strip())
            yield Page(number=index + 1, text=_clean(text))
    if not reading.text:
        if ocr:
            raise LoadError(IssueKind.NO_TEXT, "no text layer, and OCR found no text on its pages")
        raise LoadError(IssueKind.NO_TEXT, f"no text layer (a scanned or image-only PDF): {INSTALL_HINT}")
    yield Document(path=path, pages=[], extractor=reading.extractor(), notes=_notes(reading, len(pages)))


def _may_hold_image(page: PageObject) -> bool:
    """False only for a page with neither image objects nor inline images: a page left blank on purpose,
    which OCR would spend half a second on for nothing (seven such pages in the Debian FAQ)."""
    try:
        resources = page.get("/Resources") or {}
        if resources.get_object().get("/XObject"):
            return True
        contents = page.get_contents()
        return contents is not None and b"BI" in contents.get_data()
    except Exception:  # noqa: BLE001 - when in doubt, let OCR look
        return True


def _notes(reading: _Reading, count: int) -> list[str]:
    notes = []
    if reading.main != reading.probed:
        notes.append(
            f"{reading.probed} text was damaged ({reading.damage:.0%} of characters on the first pages); "
            f"read with {reading.main}"
        )
    elif reading.rescued:
        those = "those" if reading.rescued == reading.damaged else f"{reading.rescued} of them"
        rescuers = ", ".join(sorted(reading.other - {reading.main}))
        notes.append(
            f"{reading.main} text was damaged on {reading.damaged} of {count} pages; {those} read with {rescuers}"
        )
    if reading.ocr:
        notes.append(f"{reading.ocr} page(s) without a text layer read by OCR")
    if reading.hidden:
        notes.append(hidden_note(reading.hidden))
    return notes


def load_pdf(path: Path, password: str | None = None) -> Document:
    """Load a PDF whole: `stream_pdf`'s pages gathered into its `Document`."""
    pages: list[Page] = []
    for item in stream_pdf(path, password):
        if isinstance(item, Page):
            pages.append(item)
        else:
            return replace(item, pages=pages)
    raise LoadError(IssueKind.CORRUPT, "damaged PDF: it ended before its last page")  # unreachable: kept for mypy


def _clean(text: str) -> str:
    """Drop NULs and form feeds that extractors leave at page ends."""
    return text.replace("\x00", "").replace("\f", "\n").rstrip()
