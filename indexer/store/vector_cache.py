"""The FAISS index of the chunks' vectors: a cache of the catalogue's, named after its generation.

If a run dies before saving it, the next open finds no file for the current generation and rebuilds
the index from the catalogue's vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from indexer.store.base import StoreBase
from indexer.store.errors import StoreError, explain_write_error
from indexer.vectors import VectorIndex

AUTO_HNSW_CHUNKS = 250_000
"""Above this many chunks an ``auto`` library searches an HNSW graph instead of every vector:
exact search past it takes more than about 50 ms here (bench/scale.py, table in the README)."""


class VectorCache(StoreBase):
    """The in-memory vector index kept in step with the catalogue, saved to and loaded from disk."""

    def _vector_path(self, generation: int, kind: str) -> Path:
        return self.folder / f"vectors.g{generation}.{kind}.faiss"

    def effective_index_kind(self, chunks: int | None = None) -> str:
        """``flat`` or ``hnsw``; ``auto`` becomes HNSW once the library passes AUTO_HNSW_CHUNKS."""
        if self.index_kind != "auto":
            return self.index_kind
        count = self.chunk_count() if chunks is None else chunks
        return "hnsw" if count >= AUTO_HNSW_CHUNKS else "flat"

    def _current_vectors(self) -> VectorIndex | None:
        """The in-memory index if it matches the catalogue's generation, else None."""
        if self._vectors is not None and self._vectors_generation == self.generation:
            return self._vectors
        return None

    def _apply_to_vectors(
        self, index: VectorIndex | None, old_ids: np.ndarray, new_ids: np.ndarray, vectors: np.ndarray | None
    ) -> None:
        """Mirror a committed change in the in-memory index, or drop it to be rebuilt lazily."""
        if index is None or (len(old_ids) and not index.supports_removal):
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
                    index = VectorIndex.load(path, dim, kind)
                except (RuntimeError, ValueError):
                    index = None
            if index is None:
                index = self._rebuild_vectors(dim, kind)
            self._vectors, self._vectors_generation = index, generation
            return index

    def _rebuild_vectors(self, dim: int, kind: str) -> VectorIndex:
        index = VectorIndex(dim, kind)
        cursor = self._conn.execute("SELECT id, embedding FROM chunks ORDER BY id")
        while batch := cursor.fetchmany(8192):
            index.add(np.array([r[0] for r in batch], dtype=np.int64), self._stack([r[1] for r in batch]))
        return index

    def save_vectors(self) -> None:
        """Persist the vector index for the current generation and delete older files; an ``auto``
        library that has grown past the threshold is rebuilt as HNSW first."""
        with self._lock:
            index = self.vectors()
            if index.kind != self.effective_index_kind(len(index)):
                self._vectors = None
                index = self.vectors()
            path = self._vector_path(self._vectors_generation, index.kind)
            if not path.exists():
                try:
                    index.save(path)
                except (OSError, RuntimeError) as exc:  # the cache can wait: the catalogue holds every vector
                    raise StoreError(explain_write_error(self.folder, exc)) from exc
            for old in self.folder.glob("vectors.g*.faiss"):
                if old != path:
                    old.unlink(missing_ok=True)
