"""The Indexer: runs files through parse -> chunk -> embed -> store, as a pipeline of bounded queues.

The sandbox's child process parses a file and sends its pages back one by one; a reader thread
hashes files, chunks each page as it arrives and hands it on; the calling thread embeds the chunks
in batches as they come and writes the file once its last page is embedded. So the parser, the
tokenizer and the model all work at once, within a large PDF as well as across files, and none
runs more than a few pages ahead of the next (`indexer.reading.STREAM_PAGES`). Each file is still written in one
transaction; a cancel or a kill leaves the library before or after any file, never between.

An unchanged library costs a hash per file: the embedding model and the parser process are started
only when a file needs reading, and the vector index is loaded only when something is written.

What a run tells as it goes and at its end (`IndexProgress`, `IndexReport`) is in `indexer.report`,
importable from here too.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from indexer.attachments import lies_under, source_file
from indexer.chunker import Chunker, ChunkSettings
from indexer.embedder import Embedder
from indexer.pagekind import PAGEKIND_VERSION
from indexer.reading import (
    DONE,
    Failed,
    FileReader,
    Loaded,
    PagePart,
    Read,
    Reuse,
    Streamed,
    StreamEnd,
    Unchanged,
    WithAttachments,
    with_kinds,
)
from indexer.report import IndexProgress, IndexReport, KeptRoot, ProgressCallback
from indexer.sandbox import SandboxedLoader, SandboxSettings
from indexer.scan import FileIssue, ScanSettings, scan
from indexer.store import LibraryStore
from indexer.types import Chunk, IssueKind, Page

__all__ = [
    "EMBED_BATCH",
    "SAVE_EVERY_SECONDS",
    "IndexProgress",
    "IndexReport",
    "Indexer",
    "KeptRoot",
    "ProgressCallback",
    "forget",
]

EMBED_BATCH = 32
"""Chunks per call to the embedder. Measured on the Debian FAQ's 306 chunks (2 cores, CPU): 8, 16, 32 and 64
embed at the same rate within noise, since sentence-transformers sorts a call's texts by length; 32 keeps
progress steps short and the first batch early."""
SAVE_EVERY_SECONDS = 60.0


@dataclass
class _Run:
    """What one run's writer stage shares: the report it fills, where it stands, whom it tells, and
    whether to stop."""

    report: IndexReport
    state: IndexProgress
    progress: ProgressCallback | None
    cancel: threading.Event
    writing: bool = False
    """True once something other than an unchanged file came through, so the vector index is in use."""
    reader_errors: list[Exception] = field(default_factory=list)
    """An error that ended the reader thread (the embedder refused by the library, say): raised by `run`."""

    def tell(self) -> None:
        """Send the progress snapshot, when someone listens."""
        if self.progress:
            self.progress(self.state)


def _on_disk(path: str, found: set[str]) -> bool:
    """True for a file on disk, and for an attachment whose file (`indexer.attachments.source_file`) is
    found or on disk. A file the system will not tell about (in a folder it may not list) is not known to
    be on disk: False, not an error (os.path's checks, unlike Path's, do not raise on EACCES)."""
    if os.path.exists(path):
        return True
    source = source_file(path)
    return source != path and (source in found or os.path.isfile(source))


def forget(store: LibraryStore, paths: list[Path]) -> list[str]:
    """Remove folders and files from the library on purpose, there or not (`LibraryStore.remove_roots`):
    the documents under them go and a refresh no longer looks for them; the vector index is edited in
    place and saved. Returns the removed documents' paths."""
    if any(lies_under(d.path, str(p)) for d in store.documents() for p in paths):
        store.vectors()  # loaded, so the removal edits it in place and the saved copy stays current
    removed = store.remove_roots(paths)
    if removed:
        store.save_vectors()
    return removed


class Indexer:
    """Indexes files and folders into a library (`LibraryStore`) with an `Embedder`.

    `embedder` is the embedder, or a function that makes one (`Engine.embedder`): then it is called only
    when a file needs reading, so re-indexing an unchanged library never loads the model. The library's
    embedder is checked (`LibraryStore.bind_embedder`) when the embedder is given, or else when it is made."""

    def __init__(
        self,
        store: LibraryStore,
        embedder: Embedder | Callable[[], Embedder],
        chunking: ChunkSettings | None = None,
        scanning: ScanSettings | None = None,
        sandboxing: SandboxSettings | None = None,
    ) -> None:
        self.store = store
        self.chunking = chunking or ChunkSettings()
        self.scanning = scanning or ScanSettings()
        self.sandboxing = sandboxing or SandboxSettings()
        self._embedder_lock = threading.Lock()
        self._embedder: Embedder | None = None
        self._make_embedder: Callable[[], Embedder] | None = None
        if hasattr(embedder, "embed"):  # an embedder of any kind, not a function that makes one
            self._bind(embedder)
        else:
            self._make_embedder = embedder

    @property
    def embedder(self) -> Embedder:
        """The embedder, made (and checked against the library's) on first use; thread-safe."""
        with self._embedder_lock:
            if self._embedder is None and self._make_embedder is not None:
                self._bind(self._make_embedder())
            assert self._embedder is not None
            return self._embedder

    def _bind(self, embedder: Embedder) -> None:
        """Refuse an embedder that differs from the library's (`EmbedderMismatch`), then use it."""
        self.store.bind_embedder(embedder.name, embedder.dim)
        self._embedder = embedder

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
        scanned folder are removed; a folder or file that is not there at all, a folder left empty, or one
        the system will not list keeps what the library holds under it (`IndexReport.kept`; `forget`
        removes it). `passwords` maps a locked PDF's path to its password, used for this run only and never stored."""
        started = time.perf_counter()
        roots = [Path(p).expanduser().absolute() for p in paths] if paths else self.store.roots()
        found = scan(roots, self.scanning)
        run = _Run(
            IndexReport(
                skipped=list(found.skipped),
                missing=[str(p) for p in found.missing],
                unreadable=[str(p) for p in found.unreadable],
            ),
            IndexProgress(files_total=len(found.files)),
            progress,
            cancel or threading.Event(),
        )
        present = [r for r in roots if os.path.exists(r)]  # not Path's: it raises EACCES
        self.store.add_roots(present)
        found_paths = {str(f) for f in found.files}
        empty = [r for r in present if os.path.isdir(r) and not any(lies_under(f, str(r)) for f in found_paths)]
        run.report.empty = [str(r) for r in empty if r not in found.unreadable]
        searched = [r for r in present if r not in empty]
        unknown = [*found.missing, *empty, *found.unreadable]
        run.report.removed, run.report.kept = self._remove_vanished(searched, unknown, found_paths)
        self._read_and_write(found.files, self._file_reader(force, passwords or {}), run)
        run.report.cancelled = run.cancel.is_set()
        run.report.seconds = time.perf_counter() - started
        return run.report

    def _file_reader(self, force: bool, passwords: dict[str, str]) -> FileReader:
        """The reader stage's worker for this run: its own chunker (made when first needed, with the embedder's
        tokenizer) and sandboxed loader (whose process starts when a file is first read)."""

        def make_chunker() -> Chunker:
            return Chunker(self.embedder.token_spans_factory(), self.chunking)

        return FileReader(self.store, make_chunker, SandboxedLoader(self.sandboxing), force, passwords)

    def _read_and_write(self, files: list[Path], file_reader: FileReader, run: _Run) -> None:
        """The pipeline: a reader thread prepares the files (streaming their pages) while this thread embeds
        and writes them; the vector index is saved now and then, and at the end however the run ends, when
        anything was written."""
        work: queue.Queue[object] = queue.Queue(maxsize=2)
        stop = threading.Event()
        reader = threading.Thread(
            target=self._read, args=(files, work, run, stop, file_reader), daemon=True, name="footnotes-reader"
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
            if run.writing:
                self.store.save_vectors()
        if run.reader_errors:
            raise run.reader_errors[0]

    def _write_all(self, work: queue.Queue[object], run: _Run) -> None:
        """Writer stage: handle each prepared file until the reader is done, saving the vectors now and
        then so a kill loses at most SAVE_EVERY_SECONDS of the cache (the catalogue loses nothing)."""
        last_save = time.perf_counter()
        while (item := work.get()) is not DONE:
            if not run.writing and not isinstance(item, Unchanged):
                self.store.vectors()  # load or rebuild once, so each write updates it in place
                run.writing = True
            self._handle(item, run)
            if not run.cancel.is_set():
                run.state.files_done += 1
                run.tell()
            if time.perf_counter() - last_save > SAVE_EVERY_SECONDS:
                self.store.save_vectors()
                last_save = time.perf_counter()

    def _remove_vanished(
        self, present: list[Path], missing: list[Path], found: set[str]
    ) -> tuple[list[str], list[str]]:
        """Drop catalogue entries under the roots found whose files no longer exist; (removed, kept).

        A root that is not there at all (an unplugged drive, a share not mounted, a colleague's folder in a
        shared library), or a root folder with no file left in it (the empty mount point of a drive not
        mounted looks so), or a folder the system would not list (permissions, a share's I/O error), says
        nothing sure about its files, so what lies under it is kept, and listed as kept. Files gone from a
        folder that was listed were deleted: those are removed."""
        roots, absent = [str(r) for r in present], [str(r) for r in missing]
        vanished: list[str] = []
        kept: list[str] = []
        for d in self.store.documents():
            if d.path in found or _on_disk(d.path, found):
                continue
            if any(lies_under(d.path, r) for r in absent):  # first: an unreadable folder lies in a root searched
                kept.append(d.path)
            elif any(lies_under(d.path, r) for r in roots):
                vanished.append(d.path)
        self.store.remove_documents(vanished)
        return vanished, kept

    def _read(
        self,
        files: list[Path],
        work: queue.Queue[object],
        run: _Run,
        stop: threading.Event,
        reader: FileReader,
    ) -> None:
        """Reader stage: prepare each file in turn and feed the ones read in pages, until done, cancelled or
        stopped."""

        def put(target: queue.Queue[object], item: object) -> bool:
            """Put `item` when there is room; False when the run is cancelled or stopped first."""
            while not (run.cancel.is_set() or stop.is_set()):
                try:
                    target.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        try:
            for path in files:
                item = reader.prepare(path)
                if not put(work, item):
                    break
                if isinstance(item, Streamed):
                    reader.feed(item, put)
        except Exception as exc:  # noqa: BLE001 - handed to the caller's thread, which raises it from run()
            run.reader_errors.append(exc)
        finally:
            reader.loader.close()
            work.put(DONE)

    def _handle(self, item: object, run: _Run) -> None:
        """Embed and store one prepared file (with its attachments, the file last)."""
        if isinstance(item, WithAttachments):
            self._write_with_attachments(item, run)
        elif isinstance(item, Unchanged):
            self._keep_unchanged(item, run.report)
        elif isinstance(item, Failed):
            if item.facts is not None:
                self.store.record_failure(item.facts, item.issue.reason, item.issue.kind)
            run.report.failed.append(item.issue)
        elif isinstance(item, Reuse):
            self._write_reused(item, run)
        elif isinstance(item, Loaded):
            self._write_loaded(item, run)
        elif isinstance(item, Streamed):
            self._write_streamed(item, run)

    def _write_with_attachments(self, item: WithAttachments, run: _Run) -> None:
        """Remove the attachments the file no longer carries, then write the others, the file last."""
        self.store.remove_documents(item.stale)
        run.report.removed += item.stale
        for part in [*item.attachments, item.item]:
            if run.cancel.is_set():
                return
            self._handle(part, run)

    def _keep_unchanged(self, item: Unchanged, report: IndexReport) -> None:
        """An unchanged file stays; only its chunks' kinds are set anew when the page-kind rules changed."""
        report.unchanged.append(item.path)
        if item.kinds is not None:
            self.store.set_chunk_kinds(item.doc_id, item.kinds, PAGEKIND_VERSION)
            report.reclassified.append(item.path)

    def _write_reused(self, item: Reuse, run: _Run) -> None:
        """Store a copy of an indexed twin's pages, chunks and vectors under this file's path."""
        run.state.current_file = item.facts.path
        chunks, vectors = self.store.document_chunks(item.source_id)
        pages = self.store.pages(item.source_id)
        chunks = with_kinds(pages, chunks)
        self.store.write_document(item.facts, item.extractor, pages, chunks, vectors, PAGEKIND_VERSION)
        run.report.reused.append(item.facts.path)

    def _write_loaded(self, item: Loaded, run: _Run) -> None:
        """Embed a loaded file's chunks and store them; nothing is written when the run is cancelled."""
        run.state.current_file = item.facts.path
        run.tell()
        vectors = self._embed(item.chunks, run) if item.vectors is None else item.vectors
        if vectors is None:
            return
        self.store.write_document(item.facts, item.extractor, item.pages, item.chunks, vectors, PAGEKIND_VERSION)
        run.report.indexed.append(item.facts.path)
        run.report.partial += [FileIssue(item.facts.path, IssueKind.PARTIAL, note) for note in item.notes]
        run.report.pages += len(item.pages)

    def _write_streamed(self, item: Streamed, run: _Run) -> None:
        """Embed a streamed file's chunks in batches as its pages arrive, then handle its end: write it (with
        its attachments) or record its failure. Nothing is written when the run is cancelled."""
        run.state.current_file, run.state.pages_read = item.facts.path, 0
        run.tell()
        _ = self.embedder  # on a first run, load the model here while the parser starts on the first pages
        pages: list[Page] = []
        chunks: list[Chunk] = []
        parts: list[np.ndarray] = []
        done = 0
        while isinstance(part := self._next_part(item, run), PagePart):
            pages.append(part.page)
            chunks += part.chunks
            run.state.pages_read = len(pages)
            while len(chunks) - done >= EMBED_BATCH:
                parts.append(self._embed_batch(chunks[done : done + EMBED_BATCH], run))
                done += EMBED_BATCH
        if not isinstance(part, StreamEnd) or run.cancel.is_set():
            return
        rest = self._embed(chunks[done:], run) if len(chunks) > done else None
        if run.cancel.is_set():
            return
        vectors = np.concatenate([*parts, rest]) if rest is not None else (np.concatenate(parts) if parts else None)

        def gathered(own: object) -> object:
            if isinstance(own, Read) and vectors is not None:
                return Loaded(own.facts, own.extractor, pages, chunks, vectors, own.notes)
            return own

        end = part.item
        self._handle(replace(end, item=gathered(end.item)) if isinstance(end, WithAttachments) else gathered(end), run)

    @staticmethod
    def _next_part(item: Streamed, run: _Run) -> object | None:
        """The stream's next page or its end; None when the run is cancelled or the reader failed first."""
        while not (run.cancel.is_set() or run.reader_errors):
            try:
                return item.parts.get(timeout=0.1)
            except queue.Empty:
                continue
        return None

    def _embed(self, chunks: list[Chunk], run: _Run) -> np.ndarray | None:
        """Embed in batches, reporting each; None when cancelled part-way (nothing is written)."""
        parts: list[np.ndarray] = []
        for start in range(0, len(chunks), EMBED_BATCH):
            if run.cancel.is_set():
                return None
            parts.append(self._embed_batch(chunks[start : start + EMBED_BATCH], run))
        return np.concatenate(parts)

    def _embed_batch(self, chunks: list[Chunk], run: _Run) -> np.ndarray:
        """Embed one batch of chunks, counting its time and chunks and reporting them."""
        began = time.perf_counter()
        vectors = self.embedder.embed([c.text for c in chunks])
        run.report.embed_seconds += time.perf_counter() - began
        run.report.chunks_embedded += len(vectors)
        run.state.chunks_embedded += len(vectors)
        run.tell()
        return vectors
