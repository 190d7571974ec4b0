"""The reading side of the indexing pipeline: what a path turns into (unchanged, reusable, streamed page
by page from the parser, loaded whole, or failed), as work items for the writer in `indexer.indexer`.

`FileReader` runs on the reader thread: it hashes a file, decides what is to be done with it, and for a
file to read, chunks each page as the sandboxed parser sends it and puts it on the file's queue.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from indexer.chunker import Chunker
from indexer.loaders import LoadError
from indexer.pagekind import PAGEKIND_VERSION, classify_chunks
from indexer.sandbox import SandboxedLoader
from indexer.scan import FileIssue, content_hash
from indexer.store import FileFacts, LibraryStore
from indexer.types import Chunk, Document, IssueKind, Page

STREAM_PAGES = 16
"""Pages a file's reader may run ahead of its embedder: enough to fill a batch, few enough to bound memory."""


@dataclass(frozen=True)
class Loaded:
    facts: FileFacts
    extractor: str
    pages: list[Page]
    chunks: list[Chunk]
    vectors: np.ndarray | None = None
    """The chunks' vectors when they were embedded as the pages streamed in; None: embed them now."""
    notes: tuple[str, ...] = ()
    """What the loader passed over (`Document.notes`), reported once the file is written."""


@dataclass(frozen=True)
class Streamed:
    """A file being read: its pages arrive on `parts` as `PagePart`s while the reader parses and chunks
    them, then one `StreamEnd`."""

    facts: FileFacts
    parts: queue.Queue[object]


@dataclass(frozen=True)
class PagePart:
    page: Page
    chunks: list[Chunk]


@dataclass(frozen=True)
class Read:
    """Stands, in a `StreamEnd`, for the pages, chunks and vectors the writer gathered from the stream."""

    facts: FileFacts
    extractor: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class StreamEnd:
    """The streamed file's work as `FileReader.prepare` would give it whole: `Read` (or a failure), maybe
    with its attachments."""

    item: object


@dataclass(frozen=True)
class Failed:
    facts: FileFacts | None
    issue: FileIssue


@dataclass(frozen=True)
class Unchanged:
    path: str
    doc_id: int = 0
    kinds: dict[int, str] | None = None
    """New kinds by chunk id when the stored ones predate the current page-kind rules."""


@dataclass(frozen=True)
class Reuse:
    facts: FileFacts
    source_id: int
    extractor: str


@dataclass(frozen=True)
class WithAttachments:
    """A file's work together with its attachments' (`indexer.attachments`): the attachments stored
    before that it no longer carries are removed, then the attachments written, the file last, so a
    kill between them leaves the file to be read again on the next run."""

    item: object
    attachments: list[object]
    stale: list[str]


DONE = object()


@dataclass
class FileReader:
    """Turns a path into work for the writer: unchanged, reusable, loaded and chunked, or failed."""

    store: LibraryStore
    make_chunker: Callable[[], Chunker]
    loader: SandboxedLoader
    force: bool
    passwords: dict[str, str]
    _chunker: Chunker | None = None

    @property
    def chunker(self) -> Chunker:
        """The chunker, made on first use: it needs the embedder's tokenizer, which an unchanged file does not."""
        if self._chunker is None:
            self._chunker = self.make_chunker()
        return self._chunker

    def prepare(self, path: Path) -> object:
        """Hash the file and compare with the catalogue: unchanged, reusable, failed, or `Streamed` (to `feed`)."""
        try:
            stat = path.stat()
            facts = FileFacts(str(path), content_hash(path), stat.st_size, stat.st_mtime)
        except OSError as exc:
            return Failed(
                None, FileIssue(str(path), IssueKind.UNREADABLE, f"cannot read the file: {exc.strerror or exc}")
            )
        known = None if self.force else self._known(facts)
        if isinstance(known, Unchanged):
            return self._with_attachments(known, facts.path, self._reclassified_attachments(facts.path))
        if known is not None:
            return self._with_attachments(known, facts.path, [])
        return Streamed(facts, queue.Queue(maxsize=STREAM_PAGES))

    def feed(self, item: Streamed, put: Callable[[queue.Queue[object], object], bool]) -> None:
        """Read a `Streamed` file's pages in the sandbox, chunk each as it comes and `put` it on the item's
        queue, then its `StreamEnd`; stop early, ending the parser, when `put` refuses (cancel or stop)."""
        facts = item.facts
        pages = self.loader.stream(Path(facts.path), self.passwords.get(facts.path))
        chunked = 0
        try:
            for part in pages:
                if isinstance(part, Page):
                    chunks = with_kinds([part], self.chunker.chunk_page(0, part))
                    chunked += len(chunks)
                    if not put(item.parts, PagePart(part, chunks)):
                        return
                    continue
                own = Read(facts, part.extractor, tuple(part.notes)) if chunked else self._no_text(facts)
                put(item.parts, StreamEnd(self._with_attachments(own, facts.path, self._attachments(facts, part))))
        except LoadError as exc:
            failed = Failed(facts, FileIssue(facts.path, exc.kind, exc.reason))
            put(item.parts, StreamEnd(self._with_attachments(failed, facts.path, [])))
        finally:
            pages.close()  # ends the parser if it is still sending pages

    @staticmethod
    def _no_text(facts: FileFacts) -> Failed:
        return Failed(facts, FileIssue(facts.path, IssueKind.NO_TEXT, "no text could be extracted"))

    def _known(self, facts: FileFacts) -> Unchanged | Reuse | None:
        """Unchanged when the catalogue holds this content at this path, reusable when at another (unless
        that one carries attachments, which are the file's own), else None."""
        known = self.store.document(facts.path)
        if known and known.status == "indexed" and known.content_hash == facts.content_hash:
            if known.pagekind_version == PAGEKIND_VERSION:
                return Unchanged(facts.path)
            return Unchanged(facts.path, known.id, self._kinds_of_stored(known.id))
        twin = self.store.indexed_with_hash(facts.content_hash)
        if twin is not None and not self.store.attachments_of(twin.path):
            return Reuse(facts, twin.id, twin.extractor or "")
        return None

    def _chunked(self, facts: FileFacts, document: Document) -> Loaded | Failed:
        """A loaded document's chunks, or a failure when it has no text."""
        chunks = self.chunker.chunk_pages(0, document.pages)
        if not chunks:
            return self._no_text(facts)
        kinds = with_kinds(document.pages, chunks)
        return Loaded(facts, document.extractor, document.pages, kinds, notes=tuple(document.notes))

    def _attachments(self, facts: FileFacts, document: Document) -> list[object]:
        """Work for each file the document carries: unchanged, reusable, loaded and chunked, or failed."""
        items: list[object] = []
        for attachment in document.attachments:
            own = FileFacts(str(attachment.path), attachment.content_hash, attachment.size, facts.mtime)
            if attachment.document is None:
                items.append(Failed(own, FileIssue(own.path, attachment.error_kind, attachment.error)))
            else:
                known = None if self.force else self._known(own)
                items.append(known or self._chunked(own, attachment.document))
        return items

    def _reclassified_attachments(self, path: str) -> list[object]:
        """An unchanged file's stored attachments whose chunks' kinds predate the current page-kind rules."""
        return [
            Unchanged(record.path, record.id, self._kinds_of_stored(record.id))
            for record in self.store.attachments_of(path)
            if record.status == "indexed" and record.pagekind_version != PAGEKIND_VERSION
        ]

    def _with_attachments(self, item: object, path: str, attachments: list[object]) -> object:
        """The file's work, bundled with its attachments' and the removal of those it no longer carries."""
        carried = {path_of(a) for a in attachments}
        stale = [] if isinstance(item, Unchanged) else [r.path for r in self.store.attachments_of(path)]
        stale = [p for p in stale if p not in carried]
        return WithAttachments(item, attachments, stale) if attachments or stale else item

    def _kinds_of_stored(self, doc_id: int) -> dict[int, str]:
        """Kinds of an indexed document's chunks, from its stored page and chunk texts."""
        chunks = with_kinds(self.store.pages(doc_id), self.store.chunks_of(doc_id))
        return {chunk.id: chunk.kind for chunk in chunks if chunk.id is not None}


def path_of(item: object) -> str:
    """The path a prepared piece of work is about."""
    if isinstance(item, Unchanged):
        return item.path
    facts = item.facts if isinstance(item, Loaded | Reuse | Failed | Read) else None
    return facts.path if facts is not None else ""


def with_kinds(pages: list[Page], chunks: list[Chunk]) -> list[Chunk]:
    """The chunks with `kind` set by `indexer.pagekind` from their own and their page's text."""
    kinds = classify_chunks({p.number: p.text for p in pages}, [(c.page, c.text) for c in chunks])
    return [
        chunk if chunk.kind == kind else replace(chunk, kind=kind) for chunk, kind in zip(chunks, kinds, strict=True)
    ]
