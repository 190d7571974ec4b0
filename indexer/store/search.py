"""Search of the chunks: dense (the vector index) and keyword (the FTS5 index, BM25)."""

from __future__ import annotations

import json
import re
from collections.abc import Collection

import numpy as np

from indexer.store.reads import CatalogueReads
from indexer.store.vector_cache import VectorCache
from indexer.types import Hit


class Search(VectorCache, CatalogueReads):
    """Dense and keyword search, optionally limited to chunk kinds and documents."""

    def search_dense(
        self,
        query_vector: np.ndarray,
        k: int,
        kinds: Collection[str] | None = None,
        documents: Collection[int] | None = None,
    ) -> list[Hit]:
        """Nearest chunks to a query vector by inner product (cosine on unit vectors); only chunks of
        `kinds` when given, asking the vector index for more until k of them are found or none is left;
        only chunks of the `documents` (ids) when given, searched among exactly their chunk ids."""
        index = self.vectors()
        if documents is not None:
            found = index.search(query_vector, k, among=self._chunk_ids_of(documents, kinds))
            chunks = self.chunks_by_id([i for i, _ in found])
            return [Hit(chunks[i], score) for i, score in found if i in chunks]
        fetch = k if kinds is None else min(len(index), 2 * k)
        while True:
            found = index.search(query_vector, fetch)
            chunks = self.chunks_by_id([i for i, _ in found])
            hits = [
                Hit(chunks[i], score)
                for i, score in found
                if i in chunks and (kinds is None or chunks[i].kind in kinds)
            ]
            if len(hits) >= k or fetch >= len(index) or kinds is None:
                return hits[:k]
            fetch = min(len(index), fetch * 4)

    def _chunk_ids_of(self, documents: Collection[int], kinds: Collection[str] | None) -> np.ndarray:
        """The ids of the chunks of these documents (of `kinds` when given)."""
        sql = "SELECT id FROM chunks WHERE doc_id IN (SELECT value FROM json_each(?))"
        params: list[object] = [json.dumps(sorted(documents))]
        if kinds is not None:
            sql += " AND kind IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(sorted(kinds)))
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def search_keyword(
        self, query: str, k: int, kinds: Collection[str] | None = None, documents: Collection[int] | None = None
    ) -> list[Hit]:
        """Chunks matching any word of the query (by its Porter stem: "installing" matches "installed"),
        ranked by FTS5's BM25 (score = -bm25, higher is better); only chunks of `kinds` and of the
        `documents` (ids) when given (filtered before the limit)."""
        terms = re.findall(r"\w+", query.lower())
        if not terms or k <= 0:
            return []
        match = " OR ".join(f'"{t}"' for t in dict.fromkeys(terms))
        sql = "SELECT chunks_fts.rowid, bm25(chunks_fts) FROM chunks_fts"
        params: list[object] = [match]
        if kinds is not None:
            wanted = sorted(set(kinds))
            sql += f" JOIN chunks c ON c.id = chunks_fts.rowid AND c.kind IN ({','.join('?' * len(wanted))})"
            params = [*wanted, match]
        if documents is not None:
            sql += " JOIN chunks s ON s.id = chunks_fts.rowid AND s.doc_id IN (SELECT value FROM json_each(?))"
            params.insert(len(params) - 1, json.dumps(sorted(documents)))
        sql += " WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts) LIMIT ?"
        with self._lock:
            rows = self._conn.execute(sql, [*params, k]).fetchall()
        chunks = self.chunks_by_id([r[0] for r in rows])
        return [Hit(chunks[i], -score) for i, score in rows if i in chunks]
