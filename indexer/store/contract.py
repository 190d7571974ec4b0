"""The store contract: what the indexer, the retriever, scopes, the engine, the CLI and the MCP server
call on a library, whichever backend holds it.

Two backends implement it: `indexer.store.sqlite.Store` (a SQLite catalogue plus a FAISS cache in a
folder) and `indexer.store.postgres.PgStore` (PostgreSQL with pgvector, for a team's shared library). Both
keep the same promise: a document is written (or removed) in one transaction, so a reader or a killed run
sees it whole or not at all. `open_store` picks the backend a location names."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from indexer.store.records import DocumentRecord, FileFacts, StoreStats
from indexer.types import Chunk, Hit, Page


@runtime_checkable
class NearestVectors(Protocol):
    """What a store's `vectors()` gives: nearest chunk ids to a query vector (a FAISS index, or SQL)."""

    kind: str

    def __len__(self) -> int: ...

    def search(self, query: np.ndarray, k: int, among: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(chunk id, similarity) of the k nearest chunks, best first; only among these ids when given."""
        ...


@runtime_checkable
class LibraryStore(Protocol):
    """One library: its catalogue (documents, pages, chunks), keyword index and vectors."""

    @property
    def location(self) -> str:
        """Where the library lives: its folder, or its database URL without a password."""
        ...

    @property
    def folder(self) -> Path:
        """The library folder (for a database: its location as a path, a display name and a key only)."""
        ...

    @property
    def embedder(self) -> tuple[str, int] | None:
        """(name, dimension) of the model that built the library, if any."""
        ...

    def bind_embedder(self, name: str, dim: int) -> None:
        """Record the embedder of a new library; raise `EmbedderMismatch` for another one's vectors."""
        ...

    def chunk_count(self) -> int:
        """How many chunks the library holds."""
        ...

    # -- catalogue reads
    def roots(self) -> list[Path]:
        """Folders and files indexed before."""
        ...

    def documents(self) -> list[DocumentRecord]:
        """Every document, by path."""
        ...

    def document(self, path: str) -> DocumentRecord | None:
        """The document stored for one path, if any."""
        ...

    def indexed_with_hash(self, content_hash: str) -> DocumentRecord | None:
        """An indexed document with this content, whose chunks and vectors can be reused."""
        ...

    def attachments_of(self, container: str) -> list[DocumentRecord]:
        """The documents stored as attachments of a file, nested ones too, by path."""
        ...

    def pages(self, doc_id: int) -> list[Page]:
        """A document's stored pages, in order."""
        ...

    def page(self, doc_id: int, number: int) -> Page | None:
        """One stored page, or None."""
        ...

    def page_text(self, doc_id: int, number: int) -> str | None:
        """The stored text of one page, or None."""
        ...

    def chunk_vectors(self, ids: list[int]) -> dict[int, np.ndarray]:
        """The stored vectors of chunks by id."""
        ...

    def document_chunks(self, doc_id: int) -> tuple[list[Chunk], np.ndarray]:
        """A document's chunks and their vectors, in chunk order."""
        ...

    def chunks_of(self, doc_id: int) -> list[Chunk]:
        """A document's chunks in chunk order, without vectors."""
        ...

    def chunks_by_id(self, ids: list[int]) -> dict[int, Chunk]:
        """Chunks (with their document's path) by chunk id."""
        ...

    def has_kind(self, kind: str) -> bool:
        """True when at least one chunk is of this kind."""
        ...

    # -- writes, each one transaction
    def add_roots(self, paths: list[Path]) -> None:
        """Remember folders and files the user indexed."""
        ...

    def write_document(
        self,
        facts: FileFacts,
        extractor: str,
        pages: list[Page],
        chunks: list[Chunk],
        vectors: np.ndarray,
        pagekind_version: int = 0,
    ) -> int:
        """Insert or replace a document with its pages, chunks and vectors, whole or not at all."""
        ...

    def set_chunk_kinds(self, doc_id: int, kinds: dict[int, str], pagekind_version: int) -> None:
        """Set the kinds of a document's chunks (by chunk id) and the page-kind rules' version."""
        ...

    def record_failure(self, facts: FileFacts, reason: str, kind: str = "") -> None:
        """Record that a file could not be indexed, dropping any chunks an earlier version had."""
        ...

    def remove_documents(self, paths: list[str]) -> int:
        """Remove documents by path; returns how many existed."""
        ...

    def remove_roots(self, paths: list[Path]) -> list[str]:
        """Forget folders and files, whether or not they exist: drop them (and the roots inside them) from
        the roots, and remove every document under them, attachments too, in one transaction; returns the
        paths of the documents removed."""
        ...

    # -- search
    def search_dense(
        self,
        query_vector: np.ndarray,
        k: int,
        kinds: Collection[str] | None = None,
        documents: Collection[int] | None = None,
    ) -> list[Hit]:
        """Nearest chunks by cosine similarity, of `kinds` and `documents` (ids) only when given."""
        ...

    def search_keyword(
        self, query: str, k: int, kinds: Collection[str] | None = None, documents: Collection[int] | None = None
    ) -> list[Hit]:
        """Chunks matching any stemmed word of the query but its common ones (`keywords`: the library's
        most frequent words in SQLite, the English stop words in PostgreSQL), best first (higher score is
        better). Called on a worker thread while another thread searches dense."""
        ...

    def vectors(self) -> NearestVectors:
        """The library's nearest-vector search, ready to use."""
        ...

    def save_vectors(self) -> None:
        """Persist what the vector search keeps outside the catalogue (nothing, for a database)."""
        ...

    # -- health
    def stats(self) -> StoreStats:
        """Counts, embedder and size."""
        ...

    def check(self) -> list[str]:
        """Integrity problems; an empty list means the library is sound."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...

    def __enter__(self) -> LibraryStore: ...

    def __exit__(self, *exc: object) -> None: ...
