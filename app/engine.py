"""The Qt-free core the window drives: one library, its store, a lazily loaded embedder and model,
and the current conversation. Every method may be called from a worker thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from indexer.chunker import ChunkSettings
from indexer.embedder import Embedder
from indexer.indexer import Indexer, IndexProgress, IndexReport
from indexer.store import Store
from indexer.types import Hit
from llm.loader import load_generator
from rag.answer import Answerer, AnswerSettings, Conversation
from rag.citations import CitedAnswer
from rag.context import ContextPlan
from rag.retriever import RetrievalSettings, Retriever

Status = Callable[[str], None]


class Engine:
    """What the GUI needs from the core."""

    def __init__(
        self,
        library: Path,
        model: str = "light",
        backend: str = "auto",
        device: str = "auto",
        top_k: int = 5,
        chunk_tokens: int = ChunkSettings.max_tokens,
    ) -> None:
        self.store = Store(library)
        self.model, self.backend, self.device = model, backend, device
        self.settings = AnswerSettings(retrieval=RetrievalSettings(top_k=top_k))
        self.chunking = ChunkSettings(max_tokens=chunk_tokens)
        self.conversation = Conversation()
        self._embedder: Embedder | None = None
        self._answerer: Answerer | None = None
        self._lock = threading.Lock()

    def configure(self, model: str, backend: str, device: str, top_k: int, chunk_tokens: int) -> None:
        """Apply new settings; a different model, backend or device is loaded on the next question."""
        with self._lock:
            if (model, backend, device) != (self.model, self.backend, self.device):
                self.model, self.backend, self.device = model, backend, device
                self._answerer = None
            self.settings = replace(self.settings, retrieval=replace(self.settings.retrieval, top_k=top_k))
            if self._answerer is not None:
                self._answerer.settings = self.settings
                self._answerer.retriever.settings = self.settings.retrieval
            self.chunking = ChunkSettings(max_tokens=chunk_tokens)

    def embedder(self) -> Embedder:
        """Load the embedding model on first use (seconds); later calls return it at once."""
        with self._lock:
            if self._embedder is None:
                self._embedder = Embedder()
            return self._embedder

    def index(
        self,
        paths: list[Path],
        progress: Callable[[IndexProgress], None],
        cancel: threading.Event,
        force: bool = False,
        passwords: dict[str, str] | None = None,
    ) -> IndexReport:
        """Index files and folders (none: the library's known roots); `passwords` unlock PDFs for this run."""
        indexer = Indexer(self.store, self.embedder(), chunking=self.chunking)
        return indexer.run(paths or None, progress=progress, cancel=cancel, force=force, passwords=passwords)

    def answerer(self, status: Status) -> Answerer:
        """Load the language model on first use (seconds to a minute), reporting what it does."""
        embedder = self.embedder()
        with self._lock:
            if self._answerer is None:
                generator = load_generator(self.model, self.backend, self.device, status=status)
                self._answerer = Answerer(self.store, embedder, generator, self.settings)
            return self._answerer

    def ask(
        self,
        question: str,
        on_token: Callable[[str], None],
        on_plan: Callable[[ContextPlan | None], None],
        status: Status,
        cancel: threading.Event,
    ) -> CitedAnswer:
        """Answer with citations, streaming tokens; the turn joins the conversation."""
        answerer = self.answerer(status)
        return answerer.ask(question, self.conversation, on_token=on_token, cancel=cancel, on_plan=on_plan)

    def search(self, query: str) -> list[Hit]:
        """The passages the retriever would give the model."""
        return Retriever(self.store, self.embedder().embed, self.settings.retrieval).retrieve(query)

    def new_chat(self) -> None:
        """Forget the conversation."""
        self.conversation = Conversation()
