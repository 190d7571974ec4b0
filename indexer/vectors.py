"""The FAISS side of a store: vectors keyed by chunk id, exact or approximate search."""

from __future__ import annotations

import os
from pathlib import Path

import faiss
import numpy as np

INDEX_KINDS = ("auto", "flat", "hnsw")
"""``flat``: exact inner-product search; ``hnsw``: approximate graph search for large libraries;
``auto``: flat until the library is large enough for HNSW to pay (the store decides)."""


class VectorIndex:
    """FAISS index of unit vectors whose ids are chunk row ids."""

    def __init__(self, dim: int, kind: str = "flat") -> None:
        if kind not in ("flat", "hnsw"):
            raise ValueError(f"unknown index kind {kind!r}; choose flat or hnsw")
        self.dim, self.kind = dim, kind
        self._index = faiss.IndexIDMap2(self._make_inner())

    def _make_inner(self) -> faiss.Index:
        if self.kind == "hnsw":
            inner = faiss.IndexHNSWFlat(self.dim, 32, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = 80
            inner.hnsw.efSearch = 96
            return inner
        return faiss.IndexFlatIP(self.dim)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @property
    def supports_removal(self) -> bool:
        """HNSW graphs cannot drop vectors; such an index is rebuilt instead."""
        return self.kind == "flat"

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under the given chunk ids."""
        if len(ids):
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))

    def remove(self, ids: np.ndarray) -> None:
        """Remove the vectors of these chunk ids (flat indexes only)."""
        if not self.supports_removal:
            raise NotImplementedError("an HNSW index is rebuilt rather than edited")
        if len(ids):
            self._index.remove_ids(ids.astype(np.int64))

    def ids(self) -> np.ndarray:
        """All chunk ids held, in insertion order."""
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k nearest chunk ids to one query vector, best first, as (id, score)."""
        if len(self) == 0 or k <= 0:
            return []
        scores, ids = self._index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i != -1]

    def save(self, path: Path) -> None:
        """Write the index atomically: a temporary file, flushed, then renamed over `path`."""
        tmp = path.with_suffix(path.suffix + ".tmp")
        faiss.write_index(self._index, str(tmp))
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, dim: int, kind: str) -> VectorIndex:
        """Read an index written by `save`."""
        index = cls(dim, kind)
        loaded = faiss.read_index(str(path))
        if loaded.d != dim:
            raise ValueError(f"{path} holds {loaded.d}-dimensional vectors, expected {dim}")
        index._index = loaded  # read_index already returns the concrete IndexIDMap2
        return index
