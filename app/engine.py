"""The Qt-free core the window drives: one library, its store and a lazily loaded embedder."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from indexer.embedder import Embedder
from indexer.indexer import Indexer, IndexProgress, IndexReport
from indexer.store import Store
from indexer.types import Hit


class Engine:
    """What the GUI needs from the core, callable from worker threads."""

    def __init__(self, library: Path) -> None:
        self.store = Store(library)
        self._embedder: Embedder | None = None
        self._lock = threading.Lock()

    def embedder(self) -> Embedder:
        """Load the embedding model on first use (seconds); later calls return it at once."""
        with self._lock:
            if self._embedder is None:
                self._embedder = Embedder()
            return self._embedder

    def index(
        self, paths: list[Path], progress: Callable[[IndexProgress], None], cancel: threading.Event
    ) -> IndexReport:
        """Index files and folders into the library."""
        return Indexer(self.store, self.embedder()).run(paths, progress=progress, cancel=cancel)

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """The passages nearest to a query."""
        return self.store.search_dense(self.embedder().embed([query])[0], k)
