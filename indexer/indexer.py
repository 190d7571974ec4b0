"""The Indexer: runs files through parse -> chunk -> embed -> store, as a pipeline of bounded queues.

The sandbox's child process parses a file and sends its pages back one by one; a reader thread
hashes files, chunks each page as it arrives and hands it on; the calling thread embeds the chunks
in batches as they come and writes the file once its last page is embedded. So the parser, the
tokenizer and the model all work at once, within a large PDF as well as across files, and none
runs more than a few pages ahead of the next (STREAM_PAGES). Each file is still written in one
transaction; a cancel or a kill leaves the library before or after any file, never between.

An unchanged library costs a hash per file: the embedding model and the parser process are started
only when a file needs reading, and the vector index is loaded only when something is written.
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
"""Chunks per call to the embedder. Measured on the Debian FAQ's 306 chunks (2 cores, CPU): 8, 16, 32 and 64
embed at the same rate within noise, since sentence-transformers sorts a call's texts by length; 32 keeps
progress steps short and the first batch early."""
STREAM_PAGES = 16
"""Pages a file's reader may run ahead of its embedder: enough to fill a batch, few enough to bound memory."""
SAVE_EVERY_SECONDS = 60.0


@dataclass
class IndexProgress:
    """A snapshot of a run for a progress bar; sent after every file and every embedded batch."""

    files_total: int = 0
    files_done: int = 0
    chunks_embedded: int = 0
    current_file: str = ""
    pages_read: int = 0
    """Pages of the current file parsed and chunked so far; its first chunks are embedded while it grows."""


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
    partial: list[FileIssue] = field(default_factory=list)
    """Indexed files the loader passed over part of, one issue per note (`Document.notes`)."""
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
    vectors: np.ndarray | None = None
    """The chunks' vectors when they were embedded as the pages streamed in; None: embed them now."""
    notes: tuple[str, ...] = ()
    """What the loader passed over (`Document.notes`), reported once the file is written."""


@dataclass(frozen=True)
class _Streamed:
    """A file being read: its pages arrive on `parts` as `_PagePart`s while the reader parses and chunks
    them, then one `_StreamEnd`."""

    facts: FileFacts
    parts: queue.Queue[object]


@dataclass(frozen=True)
class _PagePart:
    page: Page
    chunks: list[Chunk]


@dataclass(frozen=True)
class _Read:
    """Stands, in a `_StreamEnd`, for the pages, chunks and vectors the writer gathered from the stream."""

    facts: FileFacts
    extractor: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _StreamEnd:
    """The streamed file's work as `_FileReader.prepare` would give it whole: `_Read` (or a failure), maybe
    with its attachments."""

    item: object


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
        """Hash the file and compare with the catalogue: unchanged, reusable, failed, or `_Streamed` (to `feed`)."""
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
        return _Streamed(facts, queue.Queue(maxsize=STREAM_PAGES))

    def feed(self, item: _Streamed, put: Callable[[queue.Queue[object], object], bool]) -> None:
        """Read a `_Streamed` file's pages in the sandbox, chunk each as it comes and `put` it on the item's
        queue, then its `_StreamEnd`; stop early, ending the parser, when `put` refuses (cancel or stop)."""
        facts = item.facts
        pages = self.loader.stream(Path(facts.path), self.passwords.get(facts.path))
        chunked = 0
        try:
            for part in pages:
                if isinstance(part, Page):
                    chunks = with_kinds([part], self.chunker.chunk_page(0, part))
                    chunked += len(chunks)
                    if not put(item.parts, _PagePart(part, chunks)):
                        return
                    continue
                own = _Read(facts, part.extractor, tuple(part.notes)) if chunked else self._no_text(facts)
                put(item.parts, _StreamEnd(self._with_attachments(own, facts.path, self._attachments(facts, part))))
        except LoadError as exc:
            failed = _Failed(facts, FileIssue(facts.path, exc.kind, exc.reason))
            put(item.parts, _StreamEnd(self._with_attachments(failed, facts.path, [])))
        finally:
            pages.close()  # ends the parser if it is still sending pages

    @staticmethod
    def _no_text(facts: FileFacts) -> _Failed:
        return _Failed(facts, FileIssue(facts.path, IssueKind.NO_TEXT, "no text could be extracted"))

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
            return self._no_text(facts)
        kinds = with_kinds(document.pages, chunks)
        return _Loaded(facts, document.extractor, document.pages, kinds, notes=tuple(document.notes))

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
    facts = item.facts if isinstance(item, _Loaded | _Reuse | _Failed | _Read) else None
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
    found or on disk."""
    if Path(path).exists():
        return True
    source = source_file(path)
    return source != path and (source in found or Path(source).is_file())


class Indexer:
    """Indexes files and folders into a `Store` with an `Embedder`.

    `embedder` is the embedder, or a function that makes one (`Engine.embedder`): then it is called only
    when a file needs reading, so re-indexing an unchanged library never loads the model. The library's
    embedder is checked (`Store.bind_embedder`) when the embedder is given, or else when it is made."""

    def __init__(
        self,
        store: Store,
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
        self._read_and_write(found.files, self._file_reader(force, passwords or {}), run)
        run.report.cancelled = run.cancel.is_set()
        run.report.seconds = time.perf_counter() - started
        return run.report

    def _file_reader(self, force: bool, passwords: dict[str, str]) -> _FileReader:
        """The reader stage's worker for this run: its own chunker (made when first needed, with the embedder's
        tokenizer) and sandboxed loader (whose process starts when a file is first read)."""

        def make_chunker() -> Chunker:
            return Chunker(self.embedder.token_spans_factory(), self.chunking)

        return _FileReader(self.store, make_chunker, SandboxedLoader(self.sandboxing), force, passwords)

    def _read_and_write(self, files: list[Path], file_reader: _FileReader, run: _Run) -> None:
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
        while (item := work.get()) is not _DONE:
            if not run.writing and not isinstance(item, _Unchanged):
                self.store.vectors()  # load or rebuild once, so each write updates it in place
                run.writing = True
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
        run: _Run,
        stop: threading.Event,
        reader: _FileReader,
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
                if isinstance(item, _Streamed):
                    reader.feed(item, put)
        except Exception as exc:  # noqa: BLE001 - handed to the caller's thread, which raises it from run()
            run.reader_errors.append(exc)
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
        elif isinstance(item, _Streamed):
            self._write_streamed(item, run)

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
        vectors = self._embed(item.chunks, run) if item.vectors is None else item.vectors
        if vectors is None:
            return
        self.store.write_document(item.facts, item.extractor, item.pages, item.chunks, vectors, PAGEKIND_VERSION)
        run.report.indexed.append(item.facts.path)
        run.report.partial += [FileIssue(item.facts.path, IssueKind.PARTIAL, note) for note in item.notes]
        run.report.pages += len(item.pages)

    def _write_streamed(self, item: _Streamed, run: _Run) -> None:
        """Embed a streamed file's chunks in batches as its pages arrive, then handle its end: write it (with
        its attachments) or record its failure. Nothing is written when the run is cancelled."""
        run.state.current_file, run.state.pages_read = item.facts.path, 0
        run.tell()
        _ = self.embedder  # on a first run, load the model here while the parser starts on the first pages
        pages: list[Page] = []
        chunks: list[Chunk] = []
        parts: list[np.ndarray] = []
        done = 0
        while isinstance(part := self._next_part(item, run), _PagePart):
            pages.append(part.page)
            chunks += part.chunks
            run.state.pages_read = len(pages)
            while len(chunks) - done >= EMBED_BATCH:
                parts.append(self._embed_batch(chunks[done : done + EMBED_BATCH], run))
                done += EMBED_BATCH
        if not isinstance(part, _StreamEnd) or run.cancel.is_set():
            return
        rest = self._embed(chunks[done:], run) if len(chunks) > done else None
        if run.cancel.is_set():
            return
        vectors = np.concatenate([*parts, rest]) if rest is not None else (np.concatenate(parts) if parts else None)

        def gathered(own: object) -> object:
            if isinstance(own, _Read) and vectors is not None:
                return _Loaded(own.facts, own.extractor, pages, chunks, vectors, own.notes)
            return own

        end = part.item
        self._handle(replace(end, item=gathered(end.item)) if isinstance(end, _WithAttachments) else gathered(end), run)

    @staticmethod
    def _next_part(item: _Streamed, run: _Run) -> object | None:
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
