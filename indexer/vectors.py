"""The FAISS side of a store: vectors keyed by chunk id, exact or approximate search."""

from __future__ import annotations

import os
from pathlib import Path

import faiss
import numpy as np

INDEX_KINDS = ("auto", "flat", "hnsw")
"""``flat``: exact inner-product search; ``hnsw``: approximate graph search for large libraries;
``auto``: flat until the library is large enough for HNSW to pay (the store decides)."""
EXACT_AMONG = 20_000
"""An HNSW search restricted to at most this many ids scores each of them exactly (about 60 ms for
20 000 vectors here): a graph search under a selector that keeps a few per cent of the graph finds
well under half of the true top 30 (measured on 60 000 clustered 384-d vectors, efSearch 96-256)."""


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

    def search(self, query: np.ndarray, k: int, among: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The k nearest chunk ids to one query vector, best first, as (id, score); only ids in `among`
        when given. A flat index filters exactly with a FAISS selector; an HNSW one scores a small
        `among` exactly and over-fetches for a large one (a selector starves the graph search)."""
        if len(self) == 0 or k <= 0 or (among is not None and len(among) == 0):
            return []
        vector = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        if among is None:
            scores, ids = self._index.search(vector, k)
        elif self.kind == "flat":
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(among.astype(np.int64)))
            scores, ids = self._index.search(vector, k, params=params)
        elif len(among) <= EXACT_AMONG:
            return self._exact_among(vector[0], k, among.astype(np.int64))
        else:
            return self._overfetch_among(vector, k, among)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i != -1]

    def _exact_among(self, query: np.ndarray, k: int, among: np.ndarray) -> list[tuple[int, float]]:
        """Score every vector of `among` against the query; the k best."""
        scores = self._index.reconstruct_batch(among) @ query
        order = np.argsort(-scores, kind="stable")[:k]
        return [(int(among[i]), float(scores[i])) for i in order]

    def _overfetch_among(self, vector: np.ndarray, k: int, among: np.ndarray) -> list[tuple[int, float]]:
        """Search the whole graph for more neighbours until k of them are in `among` (or all are read)."""
        wanted = set(among.tolist())
        fetch = min(len(self), max(k, int(k * len(self) / len(wanted)) * 2))
        while True:
            scores, ids = self._index.search(vector, fetch, params=faiss.SearchParametersHNSW(efSearch=fetch))
            found = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if int(i) in wanted]
            if len(found) >= k or fetch >= len(self):
                return found[:k]
            fetch = min(len(self), fetch * 4)

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
