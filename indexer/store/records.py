"""The plain records a store (of either backend) takes and returns."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DocumentRecord:
    """One row of the catalogue's documents table."""

    id: int
    path: str
    content_hash: str
    size: int
    mtime: float
    status: str
    error: str | None
    error_kind: str | None
    extractor: str | None
    page_count: int
    chunk_count: int
    pagekind_version: int = 0
    """Version of `indexer.pagekind`'s rules that set its chunks' kinds; 0: never classified."""


@dataclass(frozen=True)
class FileFacts:
    """What the indexer learned of a file before loading it."""

    path: str
    content_hash: str
    size: int
    mtime: float


@dataclass(frozen=True)
class StoreStats:
    """A library at a glance, for `footnotes status` and the GUI."""

    folder: Path
    documents: int
    failed: int
    chunks: int
    pages: int
    embedder: str | None
    dim: int | None
    index_kind: str
    disk_bytes: int
