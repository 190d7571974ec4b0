"""The FAISS index of the chunks' vectors: a cache of the catalogue's, named after its generation.

If a run dies before saving it, the next open finds no file for the current generation and rebuilds
the index from the catalogue's vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from indexer.store.errors import write_failure
from indexer.store.sqlite.base import StoreBase
from indexer.vectors import VectorIndex, ivf_lists

AUTO_IVF_CHUNKS = 50_000
"""From this many chunks an ``auto`` library searches an ``ivf`` index instead of every vector: exact
search takes about 10 ms at 50k chunks and 20 ms at 100k here, ``ivf`` 1-2 ms at full recall
(bench/scale.py, table in the README)."""
TRAIN_PER_LIST = 50
"""Sample vectors per inverted list when an ``ivf`` index is trained (FAISS wants at least 39)."""


class VectorCache:
    """The in-memory vector index of one store's catalogue, kept in step with it, saved to and loaded from
    its folder. It works under the store's lock, which guards its state too."""

    def __init__(self, catalogue: StoreBase) -> None:
        self._catalogue = catalogue
        self._index: VectorIndex | None = None
        self._generation = -1
        """The catalogue's generation `_index` mirrors; -1: none."""

    def path(self, generation: int, kind: str) -> Path:
        """The file of the index of `kind` for a generation of the catalogue."""
        return self._catalogue.folder / f"vectors.g{generation}.{kind}.faiss"

    def effective_kind(self, chunks: int | None = None) -> str:
        """``flat``, ``ivf`` or ``hnsw``; ``auto`` becomes ``ivf`` once the library reaches AUTO_IVF_CHUNKS."""
        kind = self._catalogue.index_kind
        if kind != "auto":
            return kind
        count = self._catalogue.chunk_count() if chunks is None else chunks
        return "ivf" if count >= AUTO_IVF_CHUNKS else "flat"

    def exact_vectors(self, ids: np.ndarray) -> np.ndarray:
        """The catalogue's float32 vectors of these chunk ids, in their order: what ``ivf`` re-ranks with
        (read from SQLite, so only the pages read are cached, and by the OS, not this process)."""
        wanted = [int(i) for i in ids]
        marks = ",".join("?" * len(wanted))
        rows = dict(self._catalogue._rows(f"SELECT id, embedding FROM chunks WHERE id IN ({marks})", wanted))
        return self._catalogue._matrix([rows[i] for i in wanted])

    def _outgrown(self, index: VectorIndex) -> bool:
        """True when the index should be rebuilt: another kind is due, or an ``ivf`` index has grown
        to want twice its lists (about four times the chunks it was trained for)."""
        if index.kind != self.effective_kind(len(index)):
            return True
        return index.kind == "ivf" and ivf_lists(len(index)) >= 2 * max(index.lists, 1)

    def current(self) -> VectorIndex | None:
        """The in-memory index if it matches the catalogue's generation, else None."""
        if self._index is not None and self._generation == self._catalogue.generation:
            return self._index
        return None

    def drop(self) -> None:
        """Forget the in-memory index: the next `index` loads or rebuilds it."""
        self._index, self._generation = None, -1

    def apply(
        self, index: VectorIndex | None, old_ids: np.ndarray, new_ids: np.ndarray, vectors: np.ndarray | None
    ) -> None:
        """Mirror a committed change in the in-memory index (`current` before the change), or drop it to be
        rebuilt lazily."""
        if index is None or (len(old_ids) and not index.supports_removal) or not index.trained:
            self.drop()
            return
        index.remove(old_ids)
        if vectors is not None:
            index.add(new_ids, vectors)
        self._generation = self._catalogue.generation

    def index(self) -> VectorIndex:
        """The FAISS index for the current generation: in memory, from disk, or rebuilt."""
        catalogue = self._catalogue
        with catalogue._lock:
            current = self.current()
            if current is not None:
                return current
            generation = catalogue.generation
            kind = self.effective_kind()
            path = self.path(generation, kind)
            dim = catalogue.embedder[1] if catalogue.embedder else 0
            index: VectorIndex | None = None
            if path.exists() and dim:
                try:
                    index = VectorIndex.load(path, dim, kind, self.exact_vectors)
                except (RuntimeError, ValueError):
                    index = None
            if index is None:
                index = self._rebuild(dim, kind)
            self._index, self._generation = index, generation
            return index

    def _rebuild(self, dim: int, kind: str) -> VectorIndex:
        """A new index of `kind` from the catalogue's vectors, read in batches (an ``ivf`` one trained
        first on a sample of them), so a million chunks never sit in memory as float32 at once."""
        conn = self._catalogue._conn  # the caller holds the lock
        index = VectorIndex(dim, kind, self.exact_vectors if kind == "ivf" else None)
        if kind == "ivf":
            ids = np.array([r[0] for r in conn.execute("SELECT id FROM chunks")], dtype=np.int64)
            if not len(ids):
                return index  # untrained and empty: trained when it is rebuilt with chunks in it
            rng = np.random.default_rng(0)  # the same sample, so the same index, for the same chunks
            sample = rng.choice(ids, min(len(ids), TRAIN_PER_LIST * ivf_lists(len(ids))), replace=False)
            index.train(self.exact_vectors(np.sort(sample)), len(ids))
        cursor = conn.execute("SELECT id, embedding FROM chunks ORDER BY id")
        while batch := cursor.fetchmany(8192):
            index.add(np.array([r[0] for r in batch], dtype=np.int64), self._catalogue._matrix([r[1] for r in batch]))
        return index

    def save(self) -> None:
        """Persist the vector index for the current generation and delete older files; an ``auto``
        library that has grown past the threshold, or an ``ivf`` one grown well past its lists, is
        rebuilt first (a kill meanwhile leaves the old file, or none, and the next open rebuilds)."""
        folder = self._catalogue.folder
        with self._catalogue._lock:
            index = self.index()
            if self._outgrown(index):
                self._index = None
                for old in folder.glob(f"vectors.g{self._generation}.*.faiss"):
                    old.unlink()  # or `index` would load the outgrown file again
                index = self.index()
            if not index.trained:
                return  # an empty ivf index: nothing to keep
            path = self.path(self._generation, index.kind)
            if not path.exists():
                try:
                    index.save(path)
                except (OSError, RuntimeError) as exc:  # the cache can wait: the catalogue holds every vector
                    raise write_failure(folder, exc) from exc
            for old in folder.glob("vectors.g*.faiss"):
                if old != path:
                    old.unlink(missing_ok=True)
