"""Plain text and light markup (Markdown, reStructuredText, Org, LaTeX, CSV): detect the encoding, then
cut the text into located units (`indexer.loaders.sections`)."""

from __future__ import annotations

import codecs
from pathlib import Path

from charset_normalizer import from_bytes

from indexer.loaders.errors import LoadError
from indexer.loaders.sections import split_units, syntax_of
from indexer.types import Document, IssueKind, Page

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_ALLOWED_CONTROLS = {"\t", "\n", "\r", "\f", "\v"}


def _bomless_utf16(data: bytes) -> str | None:
    """Name UTF-16 without a BOM when every other byte is zero (ASCII-heavy text), else None."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even_zero = sample[0::2].count(0) / len(sample[0::2])
    odd_zero = sample[1::2].count(0) / len(sample[1::2])
    if odd_zero > 0.6 and even_zero < 0.1:
        return "utf-16-le"
    if even_zero > 0.6 and odd_zero < 0.1:
        return "utf-16-be"
    return None


_WESTERN = ("cp1252", "iso8859_1", "iso8859_15")


def _detected(data: bytes) -> str:
    """Decode with charset-normalizer's best guess; among equally good guesses prefer Western European
    (cp1250 and cp1252 often tie on the same bytes, and a tie is far likelier to be Western text)."""
    matches = list(from_bytes(data))
    if not matches:
        raise LoadError(IssueKind.BINARY, "not a text file (no text encoding fits it)")
    best = matches[0]
    tied = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
    western = [m for m in tied if m.encoding in _WESTERN]
    return str(western[0] if western else best)


def decode_text(data: bytes) -> str:
    """Decode bytes of a text file: BOM first, then strict UTF-8, then a detected encoding.

    Raises LoadError for empty or binary content.
    """
    if not data.strip():
        raise LoadError(IssueKind.EMPTY, "the file is empty")
    text: str | None = None
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = data.decode(encoding, errors="replace")
            break
    if text is None and b"\x00" in data:
        encoding = _bomless_utf16(data)
        if encoding is None:
            raise LoadError(IssueKind.BINARY, "not a text file (it contains binary data)")
        text = data.decode(encoding, errors="replace")
    if text is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _detected(data)
    controls = sum(1 for ch in text if ch < " " and ch not in _ALLOWED_CONTROLS)
    if controls > max(8, len(text) // 100):
        raise LoadError(IssueKind.BINARY, "not a text file (it contains binary data)")
    if not text.strip():
        raise LoadError(IssueKind.EMPTY, "the file holds no text")
    return text


def split_pages(text: str, syntax: str = "plain") -> list[Page]:
    """Normalise line endings and cut the text into 1-based located pages: sections under headings for
    markup, blocks of lines (rows for CSV) otherwise, the pages between form feeds for a printout."""
    return split_units(text.replace("\r\n", "\n").replace("\r", "\n"), syntax)


def load_text(path: Path) -> Document:
    """Load a plain-text or light-markup file as sections or blocks of lines."""
    pages = split_pages(decode_text(path.read_bytes()), syntax_of(path.suffix))
    return Document(path=path, pages=pages, extractor="text")
