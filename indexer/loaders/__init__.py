"""Loaders turn a file into pages of text; one per file type, chosen by extension."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from indexer.loaders.docx import load_docx
from indexer.loaders.epub import load_epub
from indexer.loaders.errors import LoadError
from indexer.loaders.html import load_html
from indexer.loaders.image import load_image
from indexer.loaders.mail import AnyFile, is_mailbox_file, load_eml, load_mbox
from indexer.loaders.opendoc import load_odt
from indexer.loaders.pdf import load_pdf, stream_pdf
from indexer.loaders.sheets import load_ods, load_xlsx
from indexer.loaders.slides import load_pptx
from indexer.loaders.text import load_text
from indexer.types import Document, IssueKind, Page

Loader = Callable[[Path], Document]


def _load_eml(path: Path) -> Document:
    """A message, its attachments read by this registry."""
    return load_eml(path, _ANY_FILE)


def _load_mbox(path: Path) -> Document:
    """A mailbox, its messages' attachments read by this registry."""
    return load_mbox(path, _ANY_FILE)


_TEXT_SUFFIXES = (".txt", ".text", ".md", ".markdown", ".rst", ".org", ".log", ".csv", ".tex")
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
LOADERS: dict[str, Loader] = {
    ".pdf": load_pdf,
    ".html": load_html,
    ".htm": load_html,
    ".xhtml": load_html,
    ".docx": load_docx,
    ".epub": load_epub,
    ".pptx": load_pptx,
    ".xlsx": load_xlsx,
    ".ods": load_ods,
    ".odt": load_odt,
    ".eml": _load_eml,
    ".mbox": _load_mbox,
    **{suffix: load_text for suffix in _TEXT_SUFFIXES},
    **{suffix: load_image for suffix in _IMAGE_SUFFIXES},
}


def _loader_for(path: Path) -> Loader | None:
    """The loader by extension; a mail export folder's ``Name.mbox/mbox`` file is a mailbox."""
    return _load_mbox if is_mailbox_file(path) else LOADERS.get(path.suffix.lower())


def is_supported(path: Path) -> bool:
    """True when a loader exists for the file's extension (or it is a mail export's mailbox file)."""
    return _loader_for(path) is not None


def load(path: Path, password: str | None = None) -> Document:
    """Load any supported file (a PDF with its password, if one is given); raise LoadError with a
    user-facing reason otherwise."""
    pages: list[Page] = []
    for item in stream(path, password):
        if isinstance(item, Page):
            pages.append(item)
        else:
            return replace(item, pages=pages)
    raise LoadError(IssueKind.CORRUPT, "the file ended before it was read")  # unreachable: stream ends in a Document


def stream(path: Path, password: str | None = None) -> Iterator[Page | Document]:
    """A file's pages as they are read, then its `Document` without pages (extractor, notes, attachments).
    PDFs stream page by page; other types are read whole, then their pages given out. LoadError with a
    user-facing reason when the file cannot be read, possibly after some pages (drop those then)."""
    loader = _loader_for(path)
    if loader is None:
        raise LoadError(IssueKind.UNSUPPORTED, f"no loader for '{path.suffix or 'files without an extension'}'")
    try:
        if loader is load_pdf:
            yield from stream_pdf(path, password)
            return
        document = loader(path)
        yield from document.pages
        yield replace(document, pages=[])
    except LoadError:
        raise
    except MemoryError as exc:
        raise LoadError(IssueKind.TOO_LARGE, "the file is too large to read in memory") from exc
    except RecursionError as exc:
        raise LoadError(IssueKind.CORRUPT, "damaged file (its structure is nested without end)") from exc
    except OSError as exc:
        raise LoadError(IssueKind.UNREADABLE, f"cannot read the file: {exc.strerror or exc}") from exc
    except Exception as exc:
        raise LoadError(IssueKind.CORRUPT, f"could not parse the file ({type(exc).__name__}: {exc})") from exc


_ANY_FILE = AnyFile(is_supported, load)
"""The registry as mail's loaders read attachments (`indexer.loaders.mail.AnyFile`): mail does not import it."""

__all__ = ["LOADERS", "LoadError", "is_supported", "load", "stream"]
