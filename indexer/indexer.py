"""The Indexer: runs files through load -> chunk -> embed -> store, as a two-stage pipeline.

A reader thread hashes, loads and chunks files while the calling thread embeds and writes the
previous one, so neither the parser nor the model waits on the other. Each file is written in
one transaction; a cancel or a kill leaves the library before or after any file, never between.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from indexer.attachments import source_file
from indexer.chunker import Chunker, ChunkSettings
from indexer.embedder import Embedder
from indexer.loaders import LoadError
from indexer.pagekind import PAGEKIND_VERSION, classify_chunks
from indexer.sandbox import SandboxedLoader, SandboxSettings
from indexer.scan import FileIssue, ScanSettings, content_hash, scan
from indexer.store import FileFacts, Store
from indexer.types import Chunk, Document, IssueKind, Page

EMBED_BATCH = 32
SAVE_EVERY_SECONDS = 60.0


@dataclass
class IndexProgress:
    """A snapshot of a run for a progress bar; sent after every file and every embedded batch."""

    files_total: int = 0
    files_done: int = 0
    chunks_embedded: int = 0
    current_file: str = ""


@dataclass
class IndexReport:
    """What a run did."""

    indexed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    reclassified: list[str] = field(default_factory=list)
    """Unchanged files whose chunks' kinds (content, toc, index...) were set anew, without re-embedding."""
    removed: list[str] = field(default_factory=list)
    failed: list[FileIssue] = field(default_factory=list)
    skipped: list[FileIssue] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    chunks_embedded: int = 0
    pages: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    cancelled: bool = False


@dataclass(frozen=True)
class _Loaded:
    facts: FileFacts
    extractor: str
    pages: list[Page]
    chunks: list[Chunk]


@dataclass(frozen=True)
class _Failed:
    facts: FileFacts | None
    issue: FileIssue


@dataclass(frozen=True)
class _Unchanged:
    path: str
    doc_id: int = 0
    kinds: dict[int, str] | None = None
    """New kinds by chunk id when the stored ones predate the current page-kind rules."""


@dataclass(frozen=True)
class _Reuse:
    facts: FileFacts
    source_id: int
    extractor: str


@dataclass(frozen=True)
class _WithAttachments:
    """A file's work together with its attachments' (`indexer.attachments`): the attachments stored
    before that it no longer carries are removed, then the attachments written, the file last, so a
    kill between them leaves the file to be read again on the next run."""

    item: object
    attachments: list[object]
    stale: list[str]


_DONE = object()


@dataclass
class _FileReader:
    """Turns a path into work for the writer: unchanged, reusable, loaded and chunked, or failed."""

    store: Store
    chunker: Chunker
    loader: SandboxedLoader
    force: bool
    passwords: dict[str, str]

    def prepare(self, path: Path) -> object:
        """Hash the file, compare with the catalogue, and load and chunk it when needed."""
        try:
            stat = path.stat()
            facts = FileFacts(str(path), content_hash(path), stat.st_size, stat.st_mtime)
        except OSError as exc:
            return _Failed(
                None, FileIssue(str(path), IssueKind.UNREADABLE, f"cannot read the file: {exc.strerror or exc}")
            )
        known = None if self.force else self._known(facts)
        if isinstance(known, _Unchanged):
            return self._with_attachments(known, facts.path, self._reclassified_attachments(facts.path))
        if known is not None:
            return self._with_attachments(known, facts.path, [])
        try:
            document = self.loader.load(path, self.passwords.get(facts.path))
        except LoadError as exc:
            return self._with_attachments(_Failed(facts, FileIssue(facts.path, exc.kind, exc.reason)), facts.path, [])
        return self._with_attachments(self._chunked(facts, document), facts.path, self._attachments(facts, document))

    def _known(self, facts: FileFacts) -> _Unchanged | _Reuse | None:
        """Unchanged when the catalogue holds this content at this path, reusable when at another (unless
        that one carries attachments, which are the file's own), else None."""
        known = self.store.document(facts.path)
        if known and known.status == "indexed" and known.content_hash == facts.content_hash:
            if known.pagekind_version == PAGEKIND_VERSION:
                return _Unchanged(facts.path)
            return _Unchanged(facts.path, known.id, self._kinds_of_stored(known.id))
        twin = self.store.indexed_with_hash(facts.content_hash)
        if twin is not None and not self.store.attachments_of(twin.path):
            return _Reuse(facts, twin.id, twin.extractor or "")
        return None

    def _chunked(self, facts: FileFacts, document: Document) -> _Loaded | _Failed:
        """A loaded document's chunks, or a failure when it has no text."""
        chunks = self.chunker.chunk_pages(0, document.pages)
        if not chunks:
            return _Failed(facts, FileIssue(facts.path, IssueKind.NO_TEXT, "no text could be extracted"))
        return _Loaded(facts, document.extractor, document.pages, with_kinds(document.pages, chunks))

    def _attachments(self, facts: FileFacts, document: Document) -> list[object]:
        """Work for each file the document carries: unchanged, reusable, loaded and chunked, or failed."""
        items: list[object] = []
        for attachment in document.attachments:
            own = FileFacts(str(attachment.path), attachment.content_hash, attachment.size, facts.mtime)
            if attachment.document is None:
                items.append(_Failed(own, FileIssue(own.path, attachment.error_kind, attachment.error)))
            else:
                known = None if self.force else self._known(own)
                items.append(known or self._chunked(own, attachment.document))
        return items

    def _reclassified_attachments(self, path: str) -> list[object]:
        """An unchanged file's stored attachments whose chunks' kinds predate the current page-kind rules."""
        return [
            _Unchanged(record.path, record.id, self._kinds_of_stored(record.id))
            for record in self.store.attachments_of(path)
            if record.status == "indexed" and record.pagekind_version != PAGEKIND_VERSION
        ]

    def _with_attachments(self, item: object, path: str, attachments: list[object]) -> object:
        """The file's work, bundled with its attachments' and the removal of those it no longer carries."""
        carried = {_path_of(a) for a in attachments}
        stale = [] if isinstance(item, _Unchanged) else [r.path for r in self.store.attachments_of(path)]
        stale = [p for p in stale if p not in carried]
        return _WithAttachments(item, attachments, stale) if attachments or stale else item

    def _kinds_of_stored(self, doc_id: int) -> dict[int, str]:
        """Kinds of an indexed document's chunks, from its stored page and chunk texts."""
        chunks = with_kinds(self.store.pages(doc_id), self.store.chunks_of(doc_id))
        return {chunk.id: chunk.kind for chunk in chunks if chunk.id is not None}


def _path_of(item: object) -> str:
    """The path a prepared piece of work is about."""
    if isinstance(item, _Unchanged):
        return item.path
    facts = item.facts if isinstance(item, _Loaded | _Reuse | _Failed) else None
    return facts.path if facts is not None else ""


def with_kinds(pages: list[Page], chunks: list[Chunk]) -> list[Chunk]:
    """The chunks with `kind` set by `indexer.pagekind` from their own and their page's text."""
    kinds = classify_chunks({p.number: p.text for p in pages}, [(c.page, c.text) for c in chunks])
    return [
        chunk if chunk.kind == kind else replace(chunk, kind=kind) for chunk, kind in zip(chunks, kinds, strict=True)
    ]


ProgressCallback = Callable[[IndexProgress], None]


@dataclass
class _Run:
    """What one run's writer stage shares: the report it fills, where it stands, whom it tells, and
    whether to stop."""

    report: IndexReport
    state: IndexProgress
    progress: ProgressCallback | None
    cancel: threading.Event

    def tell(self) -> None:
        """Send the progress snapshot, when someone listens."""
        if self.progress:
            self.progress(self.state)


def _on_disk(path: str, found: set[str]) -> bool:
    """True for a file on disk, and for an attachment whose file (`indexer.attachments.source_file`) is
    found or on disk."""
    if Path(path).exists():
        return True
    source = source_file(path)
    return source != path and (source in found or Path(source).is_file())


class Indexer:
    """Indexes files and folders into a `Store` with an `Embedder`."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        chunking: ChunkSettings | None = None,
        scanning: ScanSettings | None = None,
        sandboxing: SandboxSettings | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.chunking = chunking or ChunkSettings()
        self.scanning = scanning or ScanSettings()
        self.sandboxing = sandboxing or SandboxSettings()
        store.bind_embedder(embedder.name, embedder.dim)

    def run(
        self,
        paths: list[Path] | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        force: bool = False,
        passwords: dict[str, str] | None = None,
    ) -> IndexReport:
        """Index `paths` (or the library's known roots); unchanged files are not re-embedded (unless
        `force`, after a chunking change), changed ones replace their chunks, and files gone from a
        scanned folder are removed. `passwords` maps a locked PDF's path to its password, used for
        this run only and never stored."""
        started = time.perf_counter()
        roots = [Path(p).expanduser().absolute() for p in paths] if paths else self.store.roots()
        found = scan(roots, self.scanning)
        run = _Run(
            IndexReport(skipped=list(found.skipped), missing=[str(p) for p in found.missing]),
            IndexProgress(files_total=len(found.files)),
            progress,
            cancel or threading.Event(),
        )
        self.store.add_roots([r for r in roots if r.exists()])
        run.report.removed = self._remove_vanished(roots, {str(f) for f in found.files})
        self.store.vectors()  # load or rebuild once, so each write updates it in place
        self._read_and_write(found.files, self._file_reader(force, passwords or {}), run)
        run.report.cancelled = run.cancel.is_set()
        run.report.seconds = time.perf_counter() - started
        return run.report

    def _file_reader(self, force: bool, passwords: dict[str, str]) -> _FileReader:
        """The reader stage's worker for this run: its own chunker and sandboxed loader."""
        chunker = Chunker(self.embedder.token_spans_factory(), self.chunking)
        return _FileReader(self.store, chunker, SandboxedLoader(self.sandboxing), force, passwords)

    def _read_and_write(self, files: list[Path], file_reader: _FileReader, run: _Run) -> None:
        """The two-stage pipeline: a reader thread prepares the files while this thread writes each one;
        the vector index is saved now and then, and at the end however the run ends."""
        work: queue.Queue[object] = queue.Queue(maxsize=2)
        stop = threading.Event()
        reader = threading.Thread(
            target=self._read, args=(files, work, run.cancel, stop, file_reader), daemon=True, name="footnotes-reader"
        )
        reader.start()
        try:
            self._write_all(work, run)
        finally:
            stop.set()  # the reader stops too if we leave early
            while reader.is_alive():  # unblock its put() until it has seen the stop
                try:
                    work.get(timeout=0.1)
                except queue.Empty:
                    pass
            self.store.save_vectors()

    def _write_all(self, work: queue.Queue[object], run: _Run) -> None:
        """Writer stage: handle each prepared file until the reader is done, saving the vectors now and
        then so a kill loses at most SAVE_EVERY_SECONDS of the cache (the catalogue loses nothing)."""
        last_save = time.perf_counter()
        while (item := work.get()) is not _DONE:
            self._handle(item, run)
            if not run.cancel.is_set():
                run.state.files_done += 1
                run.tell()
            if time.perf_counter() - last_save > SAVE_EVERY_SECONDS:
                self.store.save_vectors()
                last_save = time.perf_counter()

    def _remove_vanished(self, roots: list[Path], found: set[str]) -> list[str]:
        """Drop catalogue entries under the roots whose files no longer exist."""
        prefixes = [str(r) for r in roots]
        vanished = [
            d.path
            for d in self.store.documents()
            if d.path not in found
            and not _on_disk(d.path, found)
            and any((s := source_file(d.path)) == p or s.startswith(p.rstrip("/") + "/") for p in prefixes)
        ]
        self.store.remove_documents(vanished)
        return vanished

    def _read(
        self,
        files: list[Path],
        work: queue.Queue[object],
        cancel: threading.Event,
        stop: threading.Event,
        reader: _FileReader,
    ) -> None:
        """Reader stage: prepare each file in turn, until done, cancelled or stopped."""
        try:
            for path in files:
                if cancel.is_set() or stop.is_set():
                    break
                work.put(reader.prepare(path))
        finally:
            reader.loader.close()
            work.put(_DONE)

    def _handle(self, item: object, run: _Run) -> None:
        """Embed and store one prepared file (with its attachments, the file last)."""
        if isinstance(item, _WithAttachments):
            self._write_with_attachments(item, run)
        elif isinstance(item, _Unchanged):
            self._keep_unchanged(item, run.report)
        elif isinstance(item, _Failed):
            if item.facts is not None:
                self.store.record_failure(item.facts, item.issue.reason, item.issue.kind)
            run.report.failed.append(item.issue)
        elif isinstance(item, _Reuse):
            self._write_reused(item, run)
        elif isinstance(item, _Loaded):
            self._write_loaded(item, run)

    def _write_with_attachments(self, item: _WithAttachments, run: _Run) -> None:
        """Remove the attachments the file no longer carries, then write the others, the file last."""
        self.store.remove_documents(item.stale)
        run.report.removed += item.stale
        for part in [*item.attachments, item.item]:
            if run.cancel.is_set():
                return
            self._handle(part, run)

    def _keep_unchanged(self, item: _Unchanged, report: IndexReport) -> None:
        """An unchanged file stays; only its chunks' kinds are set anew when the page-kind rules changed."""
        report.unchanged.append(item.path)
        if item.kinds is not None:
            self.store.set_chunk_kinds(item.doc_id, item.kinds, PAGEKIND_VERSION)
            report.reclassified.append(item.path)

    def _write_reused(self, item: _Reuse, run: _Run) -> None:
        """Store a copy of an indexed twin's pages, chunks and vectors under this file's path."""
        run.state.current_file = item.facts.path
        chunks, vectors = self.store.document_chunks(item.source_id)
        pages = self.store.pages(item.source_id)
        chunks = with_kinds(pages, chunks)
        self.store.write_document(item.facts, item.extractor, pages, chunks, vectors, PAGEKIND_VERSION)
        run.report.reused.append(item.facts.path)

    def _write_loaded(self, item: _Loaded, run: _Run) -> None:
        """Embed a loaded file's chunks and store them; nothing is written when the run is cancelled."""
        run.state.current_file = item.facts.path
        run.tell()
        vectors = self._embed(item.chunks, run)
        if vectors is None:
            return
        self.store.write_document(item.facts, item.extractor, item.pages, item.chunks, vectors, PAGEKIND_VERSION)
        run.report.indexed.append(item.facts.path)
        run.report.pages += len(item.pages)

    def _embed(self, chunks: list[Chunk], run: _Run) -> np.ndarray | None:
        """Embed in batches, reporting each; None when cancelled part-way (nothing is written)."""
        parts: list[np.ndarray] = []
        for start in range(0, len(chunks), EMBED_BATCH):
            if run.cancel.is_set():
                return None
            began = time.perf_counter()
            parts.append(self.embedder.embed([c.text for c in chunks[start : start + EMBED_BATCH]]))
            run.report.embed_seconds += time.perf_counter() - began
            done = len(parts[-1])
            run.report.chunks_embedded += done
            run.state.chunks_embedded += done
            run.tell()
        return np.concatenate(parts)
