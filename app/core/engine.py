"""The Qt-free core the window drives: one library, its store, a lazily loaded embedder and model,
and the current conversation. Every method may be called from a worker thread.

Loading is serialised per model: a question asked while the start-up warm-up loads the model waits
for that same load (it does not start a second one), and indexing never waits for the language
model, only for the small embedder.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from app.core.embedders import load_embedder
from app.core.settings import EmbedderSection, Settings
from indexer.chunker import ChunkSettings
from indexer.embedder import TextEmbedder
from indexer.indexer import Indexer, IndexProgress, IndexReport, forget
from indexer.pgurl import redacted
from indexer.scan import ScanSettings
from indexer.store import (
    DocumentRecord,
    LibraryStore,
    StoreStats,
    discard_library,
    is_database_url,
    open_store,
)
from indexer.types import Chunk, Hit, Page
from llm.loader import llama_arrived, load_generator
from llm.openai_backend import ServerSettings
from rag.answer import Answerer, AnswerSettings, Prepared, find
from rag.citations import Checking, CitedAnswer
from rag.context import ContextPlan
from rag.conversation import Conversation, Turn
from rag.retriever import RetrievalSettings, Retriever
from rag.scope import Scope

Status = Callable[[str], None]


def _ignore(_event: object) -> None:
    """An event nobody listens to."""


@dataclass(frozen=True)
class AnswerEvents:
    """Where the events of one answer go, in the order they come; each is optional."""

    status: Status = _ignore
    """What the answer waits for (loading the model, reading passages…)."""
    retrieved: Callable[[list[Hit]], None] | None = None
    """The passages found, before the model is needed."""
    plan: Callable[[ContextPlan | None], None] = _ignore
    prepared: Callable[[Prepared], None] | None = None
    """The passages the model reads, numbered as it will cite them."""
    token: Callable[[str], None] | None = None
    check: Callable[[Checking], None] | None = None
    """The verdicts so far: sentence by sentence while the answer streams, then the judge's."""


STOPPED_LOADING = "Stopped before the model had finished loading."


class Cancelled(Exception):
    """The user stopped a question before its answer began (while the model was still loading)."""


def location_text(location: str | Path) -> str:
    """A library location as `LibraryStore.location` says it, to show and to compare: a folder's path, a
    database URL without its password."""
    if is_database_url(location):
        return redacted(str(location).strip())
    return str(Path(location).expanduser())


def answer_settings(settings: Settings) -> AnswerSettings:
    """What the user's settings mean for answering (retrieval included): the one place they are mapped to
    the core's `AnswerSettings`; everything the user cannot set keeps the core's default."""
    return AnswerSettings(retrieval=RetrievalSettings(top_k=settings.retrieval.top_k))


def chunk_settings(settings: Settings) -> ChunkSettings:
    """What the user's settings mean for cutting passages when indexing."""
    return ChunkSettings(max_tokens=settings.retrieval.chunk_tokens)


class Engine:
    """The library at `location` (a folder or a ``postgresql://`` URL) and its models, run with the user's
    `settings` (the frozen `Settings`, taken whole: `apply` changes them); what every front end needs."""

    def __init__(
        self,
        location: Path | str,
        settings: Settings | None = None,
        *,
        embedder_folder: Path | None = None,
        index_kind: str | None = None,
    ):
        self.store: LibraryStore = open_store(location, index_kind=index_kind)
        self.settings = settings or Settings()
        self.embedder_folder = embedder_folder
        """A local sentence-transformers folder to embed with instead of the settings' (``--embedder``)."""
        self._answering = answer_settings(self.settings)
        self.conversation = Conversation()
        self._embedder: TextEmbedder | None = None
        self._answerer: Answerer | None = None
        self._lock = threading.Lock()  # the fields above: held for moments only
        self._embedder_lock = threading.Lock()  # one embedder load at a time
        self._model_lock = threading.Lock()  # one language-model load at a time

    @classmethod
    def from_settings(cls, settings: Settings, library: Path | str | None = None) -> Engine:
        """The engine the user's settings describe, over `library` (default: the settings' store URL if set,
        else their library folder)."""
        return cls(library if library is not None else settings.library_location(), settings)

    def apply(self, settings: Settings) -> None:
        """Run with new settings; a different model, backend, device, server or embedder is loaded when
        next needed (the library stays: opening another is a new Engine)."""
        with self._lock:
            old, self.settings = self.settings, settings
            if settings.embedder != old.embedder:
                self._embedder, self._answerer = None, None
            if (settings.model, settings.server.connection()) != (old.model, old.server.connection()):
                self._answerer = None
            self._answering = answer_settings(settings)
            if self._answerer is not None:
                self._apply_settings(self._answerer)

    def current_settings(self) -> Settings:
        """The settings this engine runs with, naming the library it has open."""
        location = self.store.location
        shared = is_database_url(location)
        return replace(self.settings, library="" if shared else location, store=location if shared else "")

    @property
    def model(self) -> str:
        """The model the settings name (a preset, a GGUF file or a model folder)."""
        return self.settings.model.name

    @property
    def backend(self) -> str:
        return self.settings.model.backend

    @property
    def device(self) -> str:
        return self.settings.model.device

    @property
    def server(self) -> ServerSettings:
        """The model server the settings name (used with the ``server`` backend)."""
        return self.settings.server.connection()

    @property
    def embedding(self) -> EmbedderSection:
        return self.settings.embedder

    @property
    def chunking(self) -> ChunkSettings:
        """How indexing cuts passages."""
        return chunk_settings(self.settings)

    def _apply_settings(self, answerer: Answerer) -> None:
        answerer.settings = self._answering
        answerer.retriever.settings = self._answering.retrieval

    def embedder(self, status: Status = _ignore) -> TextEmbedder:
        """Load the embedder the settings name on first use (seconds; a server is asked for its model and
        dimension); later calls return it at once. The library refuses one it was not built with
        (`EmbedderMismatch`), so no question is answered with another model's vectors."""
        with self._embedder_lock:
            if self._embedder is None:
                self._embedder = load_embedder(self.embedding, self.embedder_folder, status)
            embedder = self._embedder
        self.store.bind_embedder(embedder.name, embedder.dim)
        return embedder

    def index(
        self,
        paths: list[Path],
        progress: Callable[[IndexProgress], None] | None = None,
        cancel: threading.Event | None = None,
        force: bool = False,
        passwords: dict[str, str] | None = None,
        *,
        chunking: ChunkSettings | None = None,
        scanning: ScanSettings | None = None,
        status: Status = _ignore,
    ) -> IndexReport:
        """Index files and folders (none: the library's known roots); `passwords` unlock PDFs for this run;
        `chunking` and `scanning` (the command line's ``--overlap-tokens``, ``--max-file-mb``) replace the
        settings' for this run. The embedder loads only if a file changed (`status` says so)."""
        embedder = functools.partial(self.embedder, status)
        indexer = Indexer(self.store, embedder, chunking=chunking or self.chunking, scanning=scanning)
        return indexer.run(paths or None, progress=progress, cancel=cancel, force=force, passwords=passwords)

    @classmethod
    def rebuilt(
        cls,
        location: Path | str,
        settings: Settings,
        *,
        embedder_folder: Path | None = None,
        index_kind: str | None = None,
        status: Status = _ignore,
    ) -> Engine:
        """The engine over the library at `location` emptied for a rebuild from its files (``footnotes index
        --reindex``), its folders and files still known, so a bare index reads them again. The embedder
        is loaded first: one that cannot load leaves the library as it was. A library that cannot be
        opened (a damaged catalogue) is emptied all the same; its folders are then the ones given."""
        embedder = load_embedder(settings.embedder, embedder_folder, status)
        roots = discard_library(location)
        engine = cls(location, settings, embedder_folder=embedder_folder, index_kind=index_kind)
        engine._embedder = embedder
        if roots:
            engine.store.add_roots(roots)
        return engine

    def forget(self, paths: list[Path]) -> list[str]:
        """Remove folders and files from the library on purpose, there or not: their documents go and a
        refresh no longer looks for them (`indexer.indexer.forget`). Returns the removed documents' paths."""
        return forget(self.store, paths)

    def stats(self) -> StoreStats:
        """What the library holds: documents, pages, chunks, embedder, index, disk."""
        return self.store.stats()

    def check(self) -> list[str]:
        """The library's integrity problems, each a sentence; empty when it is sound."""
        return self.store.check()

    @property
    def model_loaded(self) -> bool:
        """True once the language model for the current settings is in memory."""
        return self._answerer is not None

    def model_description(self) -> str | None:
        """The loaded model in one line (name, backend, device, window), or None before it is loaded."""
        answerer = self._answerer
        return answerer.generator.describe() if answerer is not None else None

    def answerer(self, status: Status, cancel: threading.Event | None = None) -> Answerer:
        """Load the language model on first use (seconds to a minute), reporting what it does.

        A call made while another thread loads the model waits for that load; with `cancel`, the wait
        ends with `Cancelled` as soon as it is set (the load itself cannot be interrupted)."""
        embedder = self.embedder()
        loaded = self._answerer
        if loaded is not None and llama_arrived(loaded.generator, self.model, self.backend):
            status("llama.cpp is now installed: switching to it…")
            with self._lock:
                self._answerer = loaded = None
        if loaded is not None:
            return loaded
        if self._model_lock.locked():
            status("Waiting for the model to finish loading…")
        while not self._model_lock.acquire(timeout=0.1):
            if cancel is not None and cancel.is_set():
                raise Cancelled(STOPPED_LOADING)
        try:
            with self._lock:
                if self._answerer is not None:
                    return self._answerer
                wanted = self.settings
            model, server = wanted.model, wanted.server.connection()
            generator = load_generator(model.name, model.backend, model.device, status=status, server=server)
            answerer = Answerer(self.store, embedder, generator, self._answering)
            with self._lock:
                self._apply_settings(answerer)
                if (self.settings.model, self.server) == (model, server):  # not reconfigured meanwhile
                    self._answerer = answerer
            return answerer
        finally:
            self._model_lock.release()

    def warm(self, status: Status) -> str:
        """Load the embedder and the language model now (the start-up warm-up); their description."""
        return self.answerer(status).generator.describe()

    def ask(
        self, question: str, events: AnswerEvents, cancel: threading.Event, scope: Scope | None = None
    ) -> CitedAnswer:
        """Answer with citations, reporting each step to `events` as it happens; the turn joins the
        conversation.

        The passages are found first and reported (`retrieved`) before the model is even needed, so the
        window shows evidence at once, also while the model still loads; then the context plan and the
        compressed passages (`plan`, `prepared`) before the model's first token; the tokens; and the
        verdicts as they come (`check`). With a `scope`, only the documents in it are drawn on."""
        # One search, before the model is needed: its passages are the preview, the gate and the answer's.
        embedder = self.embedder()
        retriever = Retriever(self.store, embedder.embed, self._answering.retrieval)
        found = find(
            self.store, embedder, retriever, self._answering.relevance_floor, question, self.conversation, scope
        )
        if events.retrieved is not None:
            events.retrieved(found.hits)
        answerer = self.answerer(events.status, cancel)
        events.status("Reading passages…")
        prepared = answerer.prepare(question, self.conversation, scope, found)
        events.plan(prepared.plan)
        events.status(f"Writing the answer from {len(prepared.evidence)} passage(s)…" if prepared.plan else "Writing…")
        if events.prepared is not None:
            events.prepared(prepared)
        answer = answerer.generate(prepared, events.token, cancel, events.check)
        self.conversation.turns.append(prepared.turn(answer))
        return answer

    def search(
        self,
        query: str,
        top_k: int | None = None,
        scope: Scope | None = None,
        mode: str | None = None,
        include_noncontent: bool = False,
        status: Status = _ignore,
    ) -> list[Hit]:
        """The passages the retriever would give the model (`top_k` of them instead of the setting's, if
        given; from the documents in `scope` when given; `mode` ``dense`` or ``keyword`` for one lane only,
        and then only ``dense`` and ``hybrid`` load the embedder; `include_noncontent`: contents and index
        pages too)."""
        settings = self._answering.retrieval
        settings = replace(settings, top_k=top_k or settings.top_k, mode=mode or settings.mode)

        def embed(texts: Sequence[str]) -> np.ndarray:
            return self.embedder(status).embed(texts)

        return Retriever(self.store, embed, settings).retrieve(
            query, include_noncontent=include_noncontent, scope=scope
        )

    def documents(self) -> list[DocumentRecord]:
        """The documents the library has indexed (not those that failed), by path."""
        return [record for record in self.store.documents() if record.status == "indexed"]

    def document_pages(self, doc_id: int) -> list[Page]:
        """The stored text of each page of an indexed document; empty when there is no such document."""
        return self.store.pages(doc_id)

    def restore(self, turns: list[Turn]) -> None:
        """Continue a saved conversation: its turns become this one's."""
        self.conversation = Conversation(list(turns))

    def share_models(self, other: Engine) -> None:
        """Use the embedder and language model `other` has loaded (another collection's engine), so
        switching collections never loads them twice; a model of other settings is not taken."""
        with self._lock:
            if self.embedding != other.embedding:
                return
            self._embedder = self._embedder or other._embedder
            loaded = other._answerer
            same = self.settings.model == other.settings.model
            if self._answerer is None and loaded is not None and same:
                self._answerer = Answerer(self.store, loaded.embedder, loaded.generator, self._answering)
                self._apply_settings(self._answerer)

    def new_chat(self) -> None:
        """Forget the conversation."""
        self.conversation = Conversation()

    @property
    def folder(self) -> Path:
        """The library's folder (a database library has none: its URL as a path, a key only)."""
        return self.store.folder

    @property
    def location(self) -> str:
        """Where the library lives, to show: its folder, or its database URL without the password."""
        return self.store.location

    def roots(self) -> list[Path]:
        """The folders and files indexed before (what a bare re-index refreshes)."""
        return self.store.roots()

    def catalogue(self) -> list[DocumentRecord]:
        """Every document of the library, those that failed too, by path (what the library pane lists)."""
        return self.store.documents()

    def page_text(self, chunk: Chunk) -> str | None:
        """The stored text of the page `chunk` comes from; None when its document is gone."""
        record = self.store.document(chunk.path)
        return self.store.page_text(record.id, chunk.page) if record else None

    def close(self) -> None:
        """Close the library (a deleted collection's engine, a command's at its end)."""
        self.store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
