"""How the store scales: build time, disk, memory and search latency at 10k, 100k and 1M chunks,
for the exact (flat) and approximate (HNSW) vector index, and HNSW's recall against exact search.

    python bench/scale.py [--sizes 10000 100000 1000000] [--queries 200]

The catalogue is built once per size ("build s" for flat: SQLite rows, FTS5 and the flat index;
for HNSW: building the graph from the stored vectors). The 10k store holds real embeddings of real
sentences (the Debian FAQ and the robustness corpus, if fetched); larger stores add synthetic
vectors drawn around those (clustered like real embeddings) and synthetic text, which is enough to
measure the store. Latency percentiles are over the same
queries for every index, measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indexer.embedder import Embedder
from indexer.loaders import load
from indexer.store import FileFacts, Store
from indexer.types import Chunk, Page
from rag.retriever import RetrievalSettings, Retriever

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
        store.search_keyword(" ".join(text.split()[:12]), 30)
        keyword.append(time.perf_counter() - began)
        began = time.perf_counter()
        retriever.retrieve(text)
        hybrid.append(time.perf_counter() - began)
    return dense, keyword, hybrid, found


def main() -> None:
    """Build each store, measure it, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--real", type=int, default=10_000, help="real sentences embedded (the rest is synthetic)")
    args = parser.parse_args()
    embedder = Embedder()
    real = real_sentences(args.real)
    real_vectors = embedder.embed(real)
    rng = np.random.default_rng(0)
    vocabulary = np.array(sorted({w.lower() for s in real for w in re.findall(r"[A-Za-z]{3,}", s)}))
    query_texts = [real[i] for i in rng.choice(len(real), args.queries, replace=False)]
    queries = embedder.embed([" ".join(q.split()[:12]) for q in query_texts])
    by_query = dict(zip(query_texts, queries, strict=True))

    def embed_known(texts: list[str]) -> np.ndarray:
        return np.stack([by_query[t] for t in texts])  # the queries were embedded once, above

    print(f"machine: {os.cpu_count()} cores; {len(real)} real sentences embedded; {args.queries} queries")
    print(
        f"{'chunks':>9} {'index':<5} {'build s':>8} {'disk MB':>8} {'RSS MB':>7} "
        f"{'dense p50/p95 ms':>18} {'keyword p50/p95':>18} {'hybrid p50/p95':>18} {'recall@10':>9}"
    )
    for size in args.sizes:
        extra = size - len(real)
        if extra > 0:
            centres = real_vectors[rng.integers(0, len(real), extra)]
            noisy = centres + rng.normal(0, 0.05, centres.shape).astype(np.float32)
            vectors = np.vstack([real_vectors, noisy / np.linalg.norm(noisy, axis=1, keepdims=True)])
            texts = real + [" ".join(rng.choice(vocabulary, 40)) for _ in range(extra)]
        else:
            vectors, texts = real_vectors[:size], real[:size]
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            seconds = build(folder, texts, vectors, "flat")
            exact: list[list[int]] = []
            for kind in ("flat", "hnsw"):
                before = rss_mb()
                started = time.perf_counter()
                store = Store(folder, index_kind=kind)
                store.save_vectors()  # HNSW: built here from the catalogue's vectors
                if kind == "hnsw":
                    seconds = time.perf_counter() - started
                memory = rss_mb() - before
                disk = sum(f.stat().st_size for f in folder.iterdir()) / 1048576
                retriever = Retriever(store, embed_known, RetrievalSettings(top_k=5))
                dense, keyword, hybrid, found = time_queries(store, retriever, query_texts, queries)
                if kind == "flat":
                    exact, recall = found, "1.000"
                else:
                    recall = f"{np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact, strict=True)]):.3f}"
                store.close()
                print(
                    f"{size:>9} {kind:<5} {seconds:>8.1f} {disk:>8.0f} {memory:>7.0f} {percentiles(dense):>18} "
                    f"{percentiles(keyword):>18} {percentiles(hybrid):>18} {recall:>9}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
