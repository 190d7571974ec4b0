"""The FAISS side of a store: vectors keyed by chunk id, exact or approximate search."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np

INDEX_KINDS = ("auto", "flat", "ivf", "hnsw")
"""``flat``: exact inner-product search; ``ivf``: inverted lists of 8-bit quantised vectors, the
candidates re-ranked by their exact vectors (large libraries: a quarter of flat's memory, full recall);
``hnsw``: approximate graph search over float vectors; ``auto``: flat until the library is large enough
for ``ivf`` to pay (the store decides)."""
ExactVectors = Callable[[np.ndarray], np.ndarray]
"""Float32 vectors of the given chunk ids, in their order (the catalogue's): what ``ivf`` re-ranks with."""
IVF_PROBES = 64
"""Inverted lists an ``ivf`` search reads (of about 4 sqrt(N)): recall@10 0.99-1.0 against exact search
at 100k and 1M chunks with RERANK_FACTOR 5 (bench/scale.py); 16 lose a few per cent at 1M."""
RERANK_FACTOR = 5
"""An ``ivf`` search takes this many times k candidates by quantised score, then re-ranks them exactly:
8-bit codes order near neighbours wrongly by about 0.005 cosine, less than their spacing at this depth."""
EXACT_AMONG = 20_000
"""An HNSW search restricted to at most this many ids scores each of them exactly (about 60 ms for
20 000 vectors here): a graph search under a selector that keeps a few per cent of the graph finds
well under half of the true top 30 (measured on 60 000 clustered 384-d vectors, efSearch 96-256)."""


class VectorIndex:
    """FAISS index of unit vectors whose ids are chunk row ids."""

    def __init__(self, dim: int, kind: str = "flat", exact: ExactVectors | None = None) -> None:
        if kind not in ("flat", "ivf", "hnsw"):
            raise ValueError(f"unknown index kind {kind!r}; choose flat, ivf or hnsw")
        if kind == "ivf" and exact is None:
            raise ValueError("an ivf index needs the exact vectors to re-rank with")
        self.dim, self.kind, self._exact = dim, kind, exact
        # an ivf index is made by `train` (it needs sample vectors); it keeps chunk ids itself
        self._index = faiss.IndexIDMap2(self._make_inner()) if kind != "ivf" else None

    @property
    def trained(self) -> bool:
        """False for an ``ivf`` index that has not yet seen its sample (`train`); it holds nothing then."""
        return self._index is not None

    def train(self, sample: np.ndarray, expected: int) -> None:
        """Make an ``ivf`` index for about `expected` vectors: its lists are the k-means cells of `sample`."""
        lists = ivf_lists(expected)
        sample = np.ascontiguousarray(sample, dtype=np.float32)
        quantizer = faiss.IndexFlatIP(self.dim)
        index = faiss.IndexIVFScalarQuantizer(
            quantizer, self.dim, lists, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        index.train(sample)
        index.nprobe = min(lists, IVF_PROBES)
        self._index = index

    def _make_inner(self) -> faiss.Index:
        if self.kind == "hnsw":
            inner = faiss.IndexHNSWFlat(self.dim, 32, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = 80
            inner.hnsw.efSearch = 96
            return inner
        return faiss.IndexFlatIP(self.dim)

    def __len__(self) -> int:
        return int(self._index.ntotal) if self._index is not None else 0

    @property
    def lists(self) -> int:
        """How many inverted lists an ``ivf`` index has (0 for the others and before `train`)."""
        return int(self._index.nlist) if self.kind == "ivf" and self._index is not None else 0

    @property
    def probes(self) -> int:
        """How many inverted lists an ``ivf`` search reads (IVF_PROBES, or all when there are fewer)."""
        return int(self._index.nprobe) if self.lists else 0

    @probes.setter
    def probes(self, count: int) -> None:
        if not self.lists:
            raise ValueError("only a trained ivf index reads inverted lists")
        self._index.nprobe = max(1, min(count, self.lists))

    @property
    def supports_removal(self) -> bool:
        """HNSW graphs cannot drop vectors; such an index is rebuilt instead."""
        return self.kind != "hnsw"

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under the given chunk ids."""
        if not self.trained:
            raise RuntimeError("an ivf index is trained on a sample before vectors are added")
        if len(ids):
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))

    def remove(self, ids: np.ndarray) -> None:
        """Remove the vectors of these chunk ids (flat indexes only)."""
        if not self.supports_removal:
            raise NotImplementedError("an HNSW index is rebuilt rather than edited")
        if len(ids) and self.trained:
            self._index.remove_ids(ids.astype(np.int64))

    def ids(self) -> np.ndarray:
        """All chunk ids held (in insertion order, except ``ivf``: list by list)."""
        if not self.trained:
            return np.zeros(0, dtype=np.int64)
        if self.kind != "ivf":
            return faiss.vector_to_array(self._index.id_map).astype(np.int64)
        lists = self._index.invlists
        parts = [
            faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
            for i in range(self._index.nlist)
            if lists.list_size(i)
        ]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)

    def search(self, query: np.ndarray, k: int, among: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The k nearest chunk ids to one query vector, best first, as (id, score); only ids in `among`
        when given. A flat index filters exactly with a FAISS selector; an HNSW one scores a small
        `among` exactly and over-fetches for a large one (a selector starves the graph search)."""
        if len(self) == 0 or k <= 0 or (among is not None and len(among) == 0):
            return []
        vector = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        if self.kind == "ivf":
            return self._ivf_search(vector, k, among)
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

    def _ivf_search(self, vector: np.ndarray, k: int, among: np.ndarray | None) -> list[tuple[int, float]]:
        """RERANK_FACTOR * k candidates by quantised score, re-ranked by exact cosine. With `among`, every
        list is read but only its ids scored (a selector in an IVF scan skips the others cheaply), so a
        scope finds its true nearest chunks however small it is."""
        fetch = min(len(self), k * RERANK_FACTOR)
        if among is None:
            _, ids = self._index.search(vector, fetch)
        else:
            selector = faiss.IDSelectorBatch(among.astype(np.int64))
            params = faiss.SearchParametersIVF(sel=selector, nprobe=self._index.nlist)
            _, ids = self._index.search(vector, fetch, params=params)
        candidates = ids[0][ids[0] != -1]
        if not len(candidates):
            return []
        assert self._exact is not None
        scores = self._exact(candidates) @ vector[0]
        order = np.argsort(-scores, kind="stable")[:k]
        return [(int(candidates[i]), float(scores[i])) for i in order]

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
        if not self.trained:
            raise RuntimeError("an untrained ivf index holds nothing to save")
        tmp = path.with_suffix(path.suffix + ".tmp")
        faiss.write_index(self._index, str(tmp))
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, dim: int, kind: str, exact: ExactVectors | None = None) -> VectorIndex:
        """Read an index written by `save` (an ``ivf`` one with the exact vectors it re-ranks with)."""
        index = cls(dim, kind, exact)
        loaded = faiss.read_index(str(path))
        if loaded.d != dim:
            raise ValueError(f"{path} holds {loaded.d}-dimensional vectors, expected {dim}")
        if kind == "ivf":
            loaded.nprobe = min(loaded.nlist, IVF_PROBES)
        index._index = loaded  # read_index already returns the concrete IndexIDMap2 (or IVF index)
        return index


def ivf_lists(vectors: int) -> int:
    """Inverted lists for an ``ivf`` index of this many vectors: about 4 sqrt(N), the usual balance of
    scanning the centroids against scanning the lists (1 265 at 100k, 4 000 at 1M)."""
    return max(1, min(vectors // 39, round(4 * math.sqrt(max(vectors, 1)))))
