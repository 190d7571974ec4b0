"""How the store scales: build time, disk, memory and search latency at 10k, 100k and 1M chunks,
for each vector index kind, and the approximate kinds' recall@10 against exact search.

    python bench/scale.py [--sizes 10000 100000 1000000] [--queries 200] [--kinds flat hnsw ivf]
                          [--cache /work/scale-cache]

The catalogue is built once per size ("build s" for flat: SQLite rows, FTS5 and the flat index;
for the others: building the index from the stored vectors). Rows marked "main" search with main's
configuration before issue #13 (keyword lane: an OR of every query word, stop words too, filtered by
kind in the same SQL; dense and keyword one after the other; HNSW M=32, efSearch=96), the others with
this checkout's (no stop words, ids and BM25 first and the kinds after, the keyword lane on a worker
thread beside the dense one), in the same run on the same stores, index and queries, so "main ivf"
beside "ivf" is the keyword lane's and the concurrency's share alone. The keyword column searches
content chunks, as the answer path does. With --cache, built catalogues and indexes are kept there
and reused (delete the folder after changing the store's format).

What is real and what is synthetic: the first stores' chunks are real MiniLM embeddings of real
sentences (the Debian FAQ, 1 284 sentences, and the robustness corpus if fetched); the rest of each
store is synthetic: each vector a real one plus Gaussian noise (sigma 0.05 per dimension, so about 0.7
cosine to its centre), normalised, and each text 40 words drawn uniformly from the real vocabulary.
Such isotropic clouds are a harder case for approximate indexes than real embeddings, whose neighbours
lie on a low-dimensional surface, and uniform words make the keyword lane's postings flatter than real
text's. Queries are the embeddings of the first 12 words of real sentences. The "real" size measures
recall on real embeddings only. Latency percentiles are over the same queries for every index.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Collection
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indexer.embedder import Embedder
from indexer.loaders import load
from indexer.store import FileFacts, Store
from indexer.types import Chunk, Hit, Page
from rag.retriever import CONTENT_ONLY, RetrievalSettings, Retriever

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval" / "debian-faq"
CORPUS = Path.home() / ".cache" / "Footnotes" / "corpora"
PER_DOCUMENT = 1000


def real_sentences(limit: int) -> list[str]:
    """Sentences from the Debian FAQ and the fetched corpus, enough for the real-embedding store."""
    sentences: list[str] = []
    sources = [EVAL / "debian-faq.en.pdf", *sorted(CORPUS.glob("texlive-latex-recommended-doc/*.pdf"))]
    for path in sources:
        try:
            text = " ".join(p.text for p in load(path).pages)
        except Exception:  # noqa: BLE001 - a bad file only means fewer sentences
            continue
        sentences += [s for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split())) if 40 <= len(s) <= 400]
        if len(sentences) >= limit:
            break
    return sentences[:limit]


class MainStore(Store):
    """A store searched as main searched it before issue #13: its keyword SQL (an OR of every word of
    the query, stop words too, the kinds joined before the limit, on the store's one connection under
    its lock). Its HNSW index (M=32, efSearch 96) is unchanged in this checkout."""

    def search_keyword(
        self, query: str, k: int, kinds: Collection[str] | None = None, documents: Collection[int] | None = None
    ) -> list[Hit]:
        """main's `Search.search_keyword` (without the documents filter, which the bench does not use)."""
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
        sql += " WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts) LIMIT ?"
        with self._lock:
            rows = self._conn.execute(sql, [*params, k]).fetchall()
        chunks = self.chunks_by_id([r[0] for r in rows])
        return [Hit(chunks[i], -score) for i, score in rows if i in chunks]


def rss_mb() -> float:
    """Resident memory of this process."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


def build(folder: Path, texts: list[str], vectors: np.ndarray, kind: str) -> float:
    """Write the chunks into a store as documents of PER_DOCUMENT chunks; seconds including its index."""
    started = time.perf_counter()
    store = Store(folder, index_kind=kind)
    store.bind_embedder("bench", vectors.shape[1])
    store.vectors()
    for start in range(0, len(texts), PER_DOCUMENT):
        part = texts[start : start + PER_DOCUMENT]
        page = "\n".join(part)
        chunks, offset = [], 0
        for text in part:
            chunks.append(Chunk(0, 1, offset, offset + len(text), text))
            offset += len(text) + 1
        facts = FileFacts(f"/bench/doc{start // PER_DOCUMENT}.txt", str(start), len(page), 0.0)
        store.write_document(facts, "bench", [Page(1, page)], chunks, vectors[start : start + PER_DOCUMENT])
    store.save_vectors()
    store.close()
    return time.perf_counter() - started


def percentiles(samples: list[float]) -> str:
    """p50 / p95 in milliseconds."""
    return f"{np.percentile(samples, 50) * 1000:7.1f} / {np.percentile(samples, 95) * 1000:7.1f}"


def time_queries(
    store: Store, retriever: Retriever, query_texts: list[str], queries: np.ndarray
) -> tuple[list[float], list[float], list[float], list[list[int]]]:
    """Seconds of each dense, keyword and hybrid search, and the ids each dense search found."""
    dense, keyword, hybrid, found = [], [], [], []
    for text, vector in zip(query_texts, queries, strict=True):
        began = time.perf_counter()
        hits = store.search_dense(vector, 10)
        dense.append(time.perf_counter() - began)
        found.append([h.chunk.id for h in hits])
        began = time.perf_counter()
        store.search_keyword(" ".join(text.split()[:12]), 30, CONTENT_ONLY)
        keyword.append(time.perf_counter() - began)
        began = time.perf_counter()
        retriever.retrieve(text)
        hybrid.append(time.perf_counter() - began)
    return dense, keyword, hybrid, found


RealData = tuple[list[str], np.ndarray, list[str], np.ndarray]
"""Real sentences, their embeddings, the query texts, the queries' embeddings."""


def real_data(embedder: Embedder, limit: int, queries: int, cache: Path | None) -> RealData:
    """Real sentences, their embeddings, query texts and the queries' embeddings (kept in `cache`)."""
    saved = cache / f"real-{limit}-{queries}.npz" if cache else None
    if saved is not None and saved.exists():
        data = np.load(saved)
        texts = json.loads(str(data["texts"]))
        return texts["real"], data["real"], texts["queries"], data["queries"]
    real = real_sentences(limit)
    rng = np.random.default_rng(0)
    query_texts = [real[i] for i in rng.choice(len(real), min(queries, len(real)), replace=False)]
    real_vectors = embedder.embed(real)
    query_vectors = embedder.embed([" ".join(q.split()[:12]) for q in query_texts])
    if saved is not None:
        texts_json = json.dumps({"real": real, "queries": query_texts})
        np.savez(saved, real=real_vectors, queries=query_vectors, texts=np.array(texts_json))
    return real, real_vectors, query_texts, query_vectors


def store_data(size: int, real: list[str], real_vectors: np.ndarray) -> tuple[list[str], np.ndarray]:
    """`size` chunks: the real ones, then synthetic ones around them (the module docstring says how)."""
    extra = size - len(real)
    if extra <= 0:
        return real[:size], real_vectors[:size]
    rng = np.random.default_rng(size)
    vocabulary = np.array(sorted({w.lower() for s in real for w in re.findall(r"[A-Za-z]{3,}", s)}))
    centres = real_vectors[rng.integers(0, len(real), extra)]
    noisy = centres + rng.normal(0, 0.05, centres.shape).astype(np.float32)
    vectors = np.vstack([real_vectors, noisy / np.linalg.norm(noisy, axis=1, keepdims=True)])
    return real + [" ".join(rng.choice(vocabulary, 40)) for _ in range(extra)], vectors


def open_kind(folder: Path, kind: str, kept: Path, store_class: type[Store]) -> tuple[Store, float]:
    """The store opened with its index of `kind` (copied from `kept` when built before, else built
    and copied there); seconds spent building it (0 when it was kept)."""
    started = time.perf_counter()
    for old in folder.glob("vectors.g*.faiss"):
        old.unlink()
    store = store_class(folder, index_kind=kind)
    target = store._vector_path(store.generation, kind)
    if kept.exists():
        shutil.copy(kept, target)
        store.vectors()
        return store, 0.0
    store.save_vectors()
    seconds = time.perf_counter() - started
    shutil.copy(target, kept)
    return store, seconds


def measure_size(size: int, args: argparse.Namespace, data: RealData) -> None:
    """Build (or reuse) the store of `size` chunks and print one row per configuration."""
    real, real_vectors, query_texts, queries = data
    by_query = dict(zip(query_texts, queries, strict=True))

    def embed_known(texts: list[str]) -> np.ndarray:
        return np.stack([by_query[t] for t in texts])  # the queries were embedded once, above

    with tempfile.TemporaryDirectory() as scratch:
        keep = args.cache or Path(scratch)
        folder = keep / f"store-{size}"
        seconds = 0.0
        if not (folder / "built").exists():
            shutil.rmtree(folder, ignore_errors=True)
            texts, vectors = store_data(size, real, real_vectors)
            seconds = build(folder, texts, vectors, "flat")
            (folder / "built").write_text(f"{seconds:.1f}")
        seconds = float((folder / "built").read_text())
        exact: list[list[int]] = []
        for label, kind, store_class in configurations(args.kinds):
            kept = keep / f"store-{size}.{kind}.faiss"
            before = rss_mb()
            store, built = open_kind(folder, kind, kept, store_class)
            memory = rss_mb() - before
            disk = sum(f.stat().st_size for f in folder.iterdir()) / 1048576
            as_main = store_class is MainStore  # main ran the lanes one after the other
            retriever = Retriever(store, embed_known, RetrievalSettings(top_k=5, concurrent_lanes=not as_main))
            dense, keyword, hybrid, found = time_queries(store, retriever, query_texts, queries)
            exact = exact or found  # flat comes first: exact search
            recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact, strict=True)])
            store.close()
            shown = seconds if kind == "flat" else built
            print(
                f"{size:>9} {label:<10} {shown:>8.1f} {disk:>8.0f} {memory:>7.0f} {percentiles(dense):>18} "
                f"{percentiles(keyword):>18} {percentiles(hybrid):>18} {recall:>9.3f}",
                flush=True,
            )


def configurations(kinds: list[str]) -> list[tuple[str, str, type[Store]]]:
    """(label, index kind, store class) to measure: flat first, then the others, each as main searched
    it and as this checkout does."""
    rows = [("main flat", "flat", MainStore), ("flat", "flat", Store)]
    for kind in kinds:
        if kind != "flat":
            rows += [("main " + kind, kind, MainStore), (kind, kind, Store)]
    return rows


def main() -> None:
    """Build each store, measure it, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 10_000, 100_000, 1_000_000], help="0: real only")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--real", type=int, default=10_000, help="real sentences embedded (the rest is synthetic)")
    parser.add_argument("--kinds", nargs="+", default=["flat", "hnsw", "ivf"], help="index kinds to measure")
    parser.add_argument("--cache", type=Path, help="keep built stores and indexes here and reuse them")
    args = parser.parse_args()
    if args.cache:
        args.cache.mkdir(parents=True, exist_ok=True)
    data = real_data(Embedder(), args.real, args.queries, args.cache)
    print(f"machine: {os.cpu_count()} cores; {len(data[0])} real sentences embedded; {len(data[2])} queries")
    print(
        f"{'chunks':>9} {'index':<10} {'build s':>8} {'disk MB':>8} {'RSS MB':>7} "
        f"{'dense p50/p95 ms':>18} {'keyword p50/p95':>18} {'hybrid p50/p95':>18} {'recall@10':>9}"
    )
    for size in args.sizes:
        measure_size(len(data[0]) if size <= 0 else size, args, data)  # 0: the real sentences only


if __name__ == "__main__":
    main()
