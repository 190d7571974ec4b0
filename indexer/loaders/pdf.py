"""PDF pages through pypdf, with pdfminer.six for files whose pypdf text is damaged.

pypdf is fast but on some real PDFs (the Debian FAQ among them) it drops the spaces between
words or emits garbage for fonts it cannot map. `text_damage` measures that, and when pypdf's
text is damaged the whole file is read again by pdfminer.six's layout analysis.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError, PdfReadError

from indexer.loaders.errors import LoadError
from indexer.ocr import INSTALL_HINT, ocr_pages, tesseract_available
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
    visible = sum(1 for ch in text if not ch.isspace())
    if visible == 0:
        return 0.0
    glued = sum(len(m.group()) for m in _LATIN_RUN.finditer(text))
    garbage = sum(len(m.group()) for m in _GARBAGE.finditer(text))
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


def _pypdf_pages(reader: PdfReader) -> list[str]:
    try:
        pages = reader.pages
        count = len(pages)
    except (PdfReadError, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise LoadError(IssueKind.CORRUPT, f"damaged PDF: {exc}") from exc
    texts: list[str] = []
    for index in range(count):
        try:
            texts.append(pages[index].extract_text() or "")
        except Exception:  # noqa: BLE001 - one unreadable page must not lose the others
            texts.append("")
    return texts


def _pdfminer_pages(path: Path, page_count: int, password: str | None) -> list[str] | None:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTTextContainer

    try:
        texts = [
            "".join(item.get_text() for item in layout if isinstance(item, LTTextContainer))
            for layout in extract_pages(str(path), password=password or "", laparams=LAParams())
        ]
    except Exception:  # noqa: BLE001 - the fallback failing leaves pypdf's text in place
        return None
    return texts if len(texts) == page_count else None


def load_pdf(path: Path, password: str | None = None) -> Document:
    """Load a PDF, one `Page` per PDF page (1-based), choosing the better of pypdf and pdfminer, and
    reading pages without a text layer by OCR when Tesseract is installed."""
    reader = _open(path, password)
    texts = _pypdf_pages(reader)
    extractor = "pypdf"
    notes: list[str] = []
    damage = text_damage("\n".join(texts))
    if damage > DAMAGE_THRESHOLD:
        fallback = _pdfminer_pages(path, len(texts), password)
        if fallback is not None and text_damage("\n".join(fallback)) < damage:
            texts, extractor = fallback, "pdfminer.six"
            notes.append(f"pypdf text was damaged ({damage:.0%} of characters); read with pdfminer.six")
    blank = [number for number, text in enumerate(texts, start=1) if not text.strip()]
    if blank and tesseract_available():
        for number, text in ocr_pages(path, blank, password).items():
            texts[number - 1] = text
        if any(texts[n - 1].strip() for n in blank):
            extractor += "+tesseract"
            notes.append(f"{len(blank)} page(s) without a text layer read by OCR")
    if not any(t.strip() for t in texts):
        if blank and tesseract_available():
            raise LoadError(IssueKind.NO_TEXT, "no text layer, and OCR found no text on its pages")
        raise LoadError(IssueKind.NO_TEXT, f"no text layer (a scanned or image-only PDF): {INSTALL_HINT}")
    pages = [Page(number=i, text=_clean(t)) for i, t in enumerate(texts, start=1)]
    return Document(path=path, pages=pages, extractor=extractor, notes=notes)


def _clean(text: str) -> str:
    """Drop NULs and form feeds that extractors leave at page ends."""
    return text.replace("\x00", "").replace("\f", "\n").rstrip()
