"""The FAISS index of the chunks' vectors: a cache of the catalogue's, named after its generation.

If a run dies before saving it, the next open finds no file for the current generation and rebuilds
the index from the catalogue's vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from indexer.store.base import StoreBase
from indexer.store.errors import StoreError, explain_write_error
from indexer.vectors import VectorIndex, ivf_lists

AUTO_IVF_CHUNKS = 50_000
"""From this many chunks an ``auto`` library searches an ``ivf`` index instead of every vector: exact
search takes about 10 ms at 50k chunks and 20 ms at 100k here, ``ivf`` 1-2 ms at full recall
(bench/scale.py, table in the README)."""
TRAIN_PER_LIST = 50
"""Sample vectors per inverted list when an ``ivf`` index is trained (FAISS wants at least 39)."""


class VectorCache(StoreBase):
    """The in-memory vector index kept in step with the catalogue, saved to and loaded from disk."""

    def _vector_path(self, generation: int, kind: str) -> Path:
        return self.folder / f"vectors.g{generation}.{kind}.faiss"

    def effective_index_kind(self, chunks: int | None = None) -> str:
        """``flat``, ``ivf`` or ``hnsw``; ``auto`` becomes ``ivf`` once the library reaches AUTO_IVF_CHUNKS."""
        if self.index_kind != "auto":
            return self.index_kind
        count = self.chunk_count() if chunks is None else chunks
        return "ivf" if count >= AUTO_IVF_CHUNKS else "flat"

    def _exact_vectors(self, ids: np.ndarray) -> np.ndarray:
        """The catalogue's float32 vectors of these chunk ids, in their order: what ``ivf`` re-ranks with
        (read from SQLite, so only the pages read are cached, and by the OS, not this process)."""
        wanted = [int(i) for i in ids]
        marks = ",".join("?" * len(wanted))
        with self._lock:
            rows = dict(self._conn.execute(f"SELECT id, embedding FROM chunks WHERE id IN ({marks})", wanted))
        return self._stack([rows[i] for i in wanted])

    def _outgrown(self, index: VectorIndex) -> bool:
        """True when the index should be rebuilt: another kind is due, or an ``ivf`` index has grown
        to want twice its lists (about four times the chunks it was trained for)."""
        if index.kind != self.effective_index_kind(len(index)):
            return True
        return index.kind == "ivf" and ivf_lists(len(index)) >= 2 * max(index.lists, 1)

    def _current_vectors(self) -> VectorIndex | None:
        """The in-memory index if it matches the catalogue's generation, else None."""
        if self._vectors is not None and self._vectors_generation == self.generation:
            return self._vectors
        return None

    def _apply_to_vectors(
        self, index: VectorIndex | None, old_ids: np.ndarray, new_ids: np.ndarray, vectors: np.ndarray | None
    ) -> None:
        """Mirror a committed change in the in-memory index, or drop it to be rebuilt lazily."""
        if index is None or (len(old_ids) and not index.supports_removal) or not index.trained:
            self._vectors, self._vectors_generation = None, -1
            return
        index.remove(old_ids)
        if vectors is not None:
            index.add(new_ids, vectors)
        self._vectors_generation = self.generation

    def vectors(self) -> VectorIndex:
        """The FAISS index for the current generation: in memory, from disk, or rebuilt."""
        with self._lock:
            current = self._current_vectors()
            if current is not None:
                return current
            generation = self.generation
            kind = self.effective_index_kind()
            path = self._vector_path(generation, kind)
            dim = self.embedder[1] if self.embedder else 0
            index: VectorIndex | None = None
            if path.exists() and dim:
                try:
                    index = VectorIndex.load(path, dim, kind, self._exact_vectors)
                except (RuntimeError, ValueError):
                    index = None
            if index is None:
                index = self._rebuild_vectors(dim, kind)
            self._vectors, self._vectors_generation = index, generation
            return index

    def _rebuild_vectors(self, dim: int, kind: str) -> VectorIndex:
        """A new index of `kind` from the catalogue's vectors, read in batches (an ``ivf`` one trained
        first on a sample of them), so a million chunks never sit in memory as float32 at once."""
        index = VectorIndex(dim, kind, self._exact_vectors if kind == "ivf" else None)
        if kind == "ivf":
            ids = np.array([r[0] for r in self._conn.execute("SELECT id FROM chunks")], dtype=np.int64)
            if not len(ids):
                return index  # untrained and empty: trained when it is rebuilt with chunks in it
            rng = np.random.default_rng(0)  # the same sample, so the same index, for the same chunks
            sample = rng.choice(ids, min(len(ids), TRAIN_PER_LIST * ivf_lists(len(ids))), replace=False)
            index.train(self._exact_vectors(np.sort(sample)), len(ids))
        cursor = self._conn.execute("SELECT id, embedding FROM chunks ORDER BY id")
        while batch := cursor.fetchmany(8192):
            index.add(np.array([r[0] for r in batch], dtype=np.int64), self._stack([r[1] for r in batch]))
        return index

    def save_vectors(self) -> None:
        """Persist the vector index for the current generation and delete older files; an ``auto``
        library that has grown past the threshold, or an ``ivf`` one grown well past its lists, is
        rebuilt first (a kill meanwhile leaves the old file, or none, and the next open rebuilds)."""
        with self._lock:
            index = self.vectors()
            if self._outgrown(index):
                self._vectors = None
                for old in self.folder.glob(f"vectors.g{self._vectors_generation}.*.faiss"):
                    old.unlink()  # or `vectors()` would load the outgrown file again
                index = self.vectors()
            if not index.trained:
                return  # an empty ivf index: nothing to keep
            path = self._vector_path(self._vectors_generation, index.kind)
            if not path.exists():
                try:
                    index.save(path)
                except (OSError, RuntimeError) as exc:  # the cache can wait: the catalogue holds every vector
                    raise StoreError(explain_write_error(self.folder, exc)) from exc
            for old in self.folder.glob("vectors.g*.faiss"):
                if old != path:
                    old.unlink(missing_ok=True)
