"""Typed records passed between the loaders, the chunker, the embedder and the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class IssueKind(StrEnum):
    """Why a file was skipped or could not be indexed. A `StrEnum`: each member equals its value, so the
    kinds stored in the catalogue (``documents.error_kind``) and written to JSON stay plain strings."""

    UNSUPPORTED = "unsupported"
    """No loader reads this file type (skipped by the scan)."""
    TOO_LARGE = "too-large"
    """Over the size limit, or reading it needs more memory than the sandbox allows."""
    UNREADABLE = "unreadable"
    """The operating system would not read it (permissions, a vanished file)."""
    EMPTY = "empty"
    BINARY = "binary"
    """A text file that is not text."""
    CORRUPT = "corrupt"
    ENCRYPTED = "encrypted"
    """Encrypted in a way no password given here opens (DRM, a password-protected Office file)."""
    LOCKED = "locked"
    """A locked PDF a password can open (`footnotes unlock`)."""
    NO_TEXT = "no-text"
    """Nothing to index: a scan without OCR, an image without text."""
    TIMEOUT = "timeout"
    CRASHED = "crashed"
    """The parser process died on it."""
    PARTIAL = "partial"
    """Indexed, but part of it was passed over (an attachment of an unsupported type, rows beyond the
    sheet limit, pages no extractor could read): the loader's note says which."""
    MISSING = "missing"
    """A folder or file added to the library that a refresh did not find, or found empty (an unplugged
    drive): what the library holds from it is kept (`IndexReport.kept_roots`). Never stored."""


@dataclass(frozen=True)
class Page:
    """One located unit of a document's text: a PDF page, a slide, a sheet, a chapter, a section of a
    text file, a mail message. `number` is its 1-based position in the document.

    `label` is how a citation names the unit when it is not a numbered page (``slide 3``,
    ``chapter 2 “Getting started”``, ``§ Installation``, ``Budget!A:F`` for a sheet); empty means
    "p. {number}". When `first_line` is set, the unit's text starts at that 1-based line (or row, when
    `line_kind` is ``rows``) of the source, so a passage inside it can name its line or row range
    (`indexer.location`)."""

    number: int
    text: str
    label: str = ""
    first_line: int = 0
    line_kind: str = "lines"


@dataclass(frozen=True)
class Document:
    """A loaded file: its pages of text and how they were extracted."""

    path: Path
    pages: list[Page]
    extractor: str = ""
    notes: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    """Files carried inside this one (a mail's attachments), each indexed as its own document."""


@dataclass(frozen=True)
class Attachment:
    """A file inside another, loaded as its own document under a virtual path (`indexer.attachments`):
    its `document`, or the reason it could not be read (`error_kind`, an `IssueKind`; empty when read)."""

    path: Path
    content_hash: str
    size: int
    document: Document | None = None
    error_kind: str = ""
    error: str = ""


@dataclass(frozen=True)
class Chunk:
    """A passage of one page: `text == page_text[char_start:char_end]`. `kind` is ``content`` or what
    kind of navigation page it comes from (``toc``, ``index``, ``bibliography``, ``lists``; see
    `indexer.pagekind`). `location` names where the passage is when its unit is not a numbered page
    (``§ Installation, lines 120–160``, ``Budget!A2:F40``; see `indexer.location`)."""

    doc_id: int
    page: int
    char_start: int
    char_end: int
    text: str
    id: int | None = None
    path: str = ""
    kind: str = "content"
    location: str = ""

    @property
    def where(self) -> str:
        """How every display names the passage's place: its location, or ``p. {page}``."""
        return self.location or f"p. {self.page}"


@dataclass(frozen=True)
class Hit:
    """A chunk returned by a search, with its score (higher is better)."""

    chunk: Chunk
    score: float
