"""How the store scales: build time, disk, memory and search latency at 10k, 100k and 1M chunks,
for each vector index kind, the approximate kinds' recall@10 against exact search, and whether each
query still finds the sentence it was cut from.

    python bench/scale.py [--sizes 10000 100000 1000000] [--queries 200] [--kinds flat hnsw ivf]
                          [--budgets 100000 10000] [--no-main] [--postgres] [--cache /work/scale-cache]

The catalogue is built once per size ("build s" for flat: SQLite rows, FTS5 and the flat index;
for the others: building the index from the stored vectors). Rows marked "main" search with main's
configuration before issue #13 (keyword lane: an OR of every query word, stop words too, filtered by
kind in the same SQL; dense and keyword one after the other; HNSW M=32, efSearch=96), the others with
this checkout's (the question's rare words only, within a budget of postings, ids and BM25 first and
the kinds after, the keyword lane on a worker thread beside the dense one), in the same run on the
same stores, index and queries. `--budgets` adds a row per keyword postings budget
(`indexer.store.keywords.MAX_POSTINGS`), to show what the budget trades. `--postgres` adds a row for
the same chunks in a PostgreSQL + pgvector library written through the app's store (a local server
started by the `pgserver` package). The keyword column searches content chunks, as the answer path
does. With --cache, built catalogues, indexes and the exact neighbours are kept there and reused.

"known kw/hyb": the share of queries (the first 12 words of a real sentence in the store) whose own
sentence is among the keyword lane's top 10 / among the 5 passages hybrid retrieval gives an answer.
It is the quality check beside the latency: a keyword budget that is too small loses the sentence.

What is real and what is synthetic: the first stores' chunks are real MiniLM embeddings of real
sentences (the Debian FAQ, 1 284 sentences, and the robustness corpus if fetched); the rest of each
store is synthetic: each vector a real one plus Gaussian noise (sigma 0.05 per dimension, so about 0.7
cosine to its centre), normalised, and each text 100 words (about a 200-token chunk) drawn from the
real sentences' words with their frequencies there, so common words are common and rare ones rare, as
in real text (Zipf). The vocabulary is the real sentences' 2 700 words, far fewer than a real
library of a million chunks would hold, so a question's rarest words sit in many more chunks than in
real text (at 1M, a word seen once in the FAQ's sentences is in some 4 000 chunks): a hard case for the
keyword lane. (Until 2 December 2026 the text was 40 words drawn uniformly from the vocabulary,
whose postings were flatter; the README says which rows used which.) Isotropic vector clouds are
likewise a harder case for approximate indexes than real embeddings, whose neighbours lie on a
low-dimensional surface. Queries are the embeddings of the first 12 words of real sentences. The
"real" size measures recall on real embeddings only. Latency percentiles are over the same queries
for every row, each timed on a second pass over the queries (the first reads the store's pages into
the operating system's cache, and counts the words, as a library in use has them).
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
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indexer.embedder import Embedder
from indexer.loaders import load
from indexer.store import FileFacts, LibraryStore, Store, keywords, open_store
from indexer.store.sqlite import search
from indexer.types import Chunk, Hit, Page
from rag.retriever import CONTENT_ONLY, RetrievalSettings, Retriever

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval" / "debian-faq"
CORPUS = Path.home() / ".cache" / "Footnotes" / "corpora"
PER_DOCUMENT = 1000
WORDS_PER_CHUNK = 100
"""Words in a synthetic chunk: about what the indexer's 200-token chunks hold."""
TEXT_VERSION = "zipf100"
"""Names the synthetic text in the cache's store folders (the vector indexes depend on the vectors only,
which this does not change, so they are kept across text versions)."""


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


def build(store: LibraryStore, texts: list[str], vectors: np.ndarray) -> float:
    """Write the chunks into `store` as documents of PER_DOCUMENT chunks; seconds including its index."""
    started = time.perf_counter()
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


@dataclass
class Timings:
    """Seconds of each dense, keyword and hybrid search; the ids each dense search found; how many
    queries found the sentence they were cut from (keyword: in its top 10; hybrid: in the 5 passages
    an answer gets)."""

    dense: list[float] = field(default_factory=list)
    keyword: list[float] = field(default_factory=list)
    hybrid: list[float] = field(default_factory=list)
    found: list[list[int]] = field(default_factory=list)
    keyword_known: int = 0
    hybrid_known: int = 0


def time_queries(store: LibraryStore, retriever: Retriever, query_texts: list[str], queries: np.ndarray) -> Timings:
    """Time each query's dense, keyword and hybrid search, and check each finds its own sentence."""
    timings = Timings()
    for text, vector in zip(query_texts, queries, strict=True):
        began = time.perf_counter()
        hits = store.search_dense(vector, 10)
        timings.dense.append(time.perf_counter() - began)
        timings.found.append([h.chunk.id for h in hits])
        began = time.perf_counter()
        hits = store.search_keyword(" ".join(text.split()[:12]), 30, CONTENT_ONLY)
        timings.keyword.append(time.perf_counter() - began)
        timings.keyword_known += any(h.chunk.text == text for h in hits[:10])
        began = time.perf_counter()
        hits = retriever.retrieve(text)
        timings.hybrid.append(time.perf_counter() - began)
        timings.hybrid_known += any(text in h.chunk.text for h in hits)  # adjacent passages may be merged
    return timings


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


def word_frequencies(real: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The real sentences' words (as FTS5 splits them, lower case) and each one's share of their words."""
    counts: dict[str, int] = {}
    for sentence in real:
        for word in re.findall(r"\w+", sentence.lower()):
            counts[word] = counts.get(word, 0) + 1
    words = np.array(sorted(counts))
    weights = np.array([counts[w] for w in words], dtype=np.float64)
    return words, weights / weights.sum()


def store_data(size: int, real: list[str], real_vectors: np.ndarray) -> tuple[list[str], np.ndarray]:
    """`size` chunks: the real ones, then synthetic ones around them (the module docstring says how)."""
    extra = size - len(real)
    if extra <= 0:
        return real[:size], real_vectors[:size]
    rng = np.random.default_rng(size)
    centres = real_vectors[rng.integers(0, len(real), extra)]
    noisy = centres + rng.normal(0, 0.05, centres.shape).astype(np.float32)
    vectors = np.vstack([real_vectors, noisy / np.linalg.norm(noisy, axis=1, keepdims=True)])
    words, weights = word_frequencies(real)
    texts = list(real)
    for start in range(0, extra, 10_000):  # in blocks: 1M x 100 word indexes at once would be 800 MB
        drawn = rng.choice(len(words), size=(min(10_000, extra - start), WORDS_PER_CHUNK), p=weights)
        texts += [" ".join(row) for row in words[drawn].tolist()]
    return texts, vectors


def open_kind(folder: Path, kind: str, kept: Path, store_class: type[Store]) -> tuple[Store, float]:
    """The store opened with its index of `kind` (copied from `kept` when built before, else built
    and copied there); seconds spent building it (0 when it was kept)."""
    started = time.perf_counter()
    for old in folder.glob("vectors.g*.faiss"):
        old.unlink()
    store = store_class(folder, index_kind=kind)
    target = store.vector_cache.path(store.generation, kind)
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
        folder = keep / f"store-{size}-{TEXT_VERSION}"
        if not (folder / "built").exists():
            shutil.rmtree(folder, ignore_errors=True)
            texts, vectors = store_data(size, real, real_vectors)
            seconds = build(Store(folder, index_kind="flat"), texts, vectors)
            (folder / "built").write_text(f"{seconds:.1f}")
        seconds = float((folder / "built").read_text())
        exact = exact_neighbours(folder, keep / f"exact-{size}-{len(queries)}.json", queries)
        for label, kind, store_class, budget, split in configurations(
            args.kinds, args.no_main, args.budgets, args.splits
        ):
            keywords.MAX_POSTINGS = budget
            search.SPLIT_POSTINGS = split
            kept = keep / f"store-{size}.{kind}.faiss"
            before = rss_mb()
            store, built = open_kind(folder, kind, kept, store_class)
            memory = rss_mb() - before
            disk = sum(f.stat().st_size for f in folder.iterdir()) / 1048576
            as_main = store_class is MainStore  # main ran the lanes one after the other
            retriever = Retriever(store, embed_known, RetrievalSettings(top_k=5, concurrent_lanes=not as_main))
            time_queries(store, retriever, query_texts, queries)  # a first pass reads the store into the OS cache
            timings = time_queries(store, retriever, query_texts, queries)
            store.close()
            print_row(size, label, seconds if kind == "flat" else built, disk, f"{memory:.0f}", timings, exact)
        if args.postgres:
            measure_postgres(size, keep, data, embed_known, exact)


def exact_neighbours(folder: Path, saved: Path, queries: np.ndarray) -> list[list[int]]:
    """Each query's 10 nearest chunks by exact search (kept in `saved`): what recall is measured against."""
    if saved.exists():
        return json.loads(saved.read_text())
    store = Store(folder, index_kind="flat")
    exact = [[h.chunk.id for h in store.search_dense(vector, 10)] for vector in queries]
    store.close()
    saved.write_text(json.dumps(exact))
    return exact


def print_row(
    size: int, label: str, built: float, disk: float, memory: str, t: Timings, exact: list[list[int]]
) -> None:
    """One row of the table."""
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(t.found, exact, strict=True)])
    known = f"{t.keyword_known / len(t.found):.3f} / {t.hybrid_known / len(t.found):.3f}"
    print(
        f"{size:>9} {label:<10} {built:>8.1f} {disk:>8.0f} {memory:>7} {percentiles(t.dense):>18} "
        f"{percentiles(t.keyword):>18} {percentiles(t.hybrid):>18} {recall:>9.3f} {known:>13}",
        flush=True,
    )


def measure_postgres(
    size: int, keep: Path, data: RealData, embed: Callable[[list[str]], np.ndarray], exact: list[list[int]]
) -> None:
    """The same chunks in a PostgreSQL + pgvector library (a local server started by `pgserver`, kept in
    `keep`), written through the app's own store, and the same queries; one row. Its RSS column is
    left empty: the memory is the server's, in other processes."""
    import pgserver
    import psycopg

    server = pgserver.get_server(keep / "pg", cleanup_mode="stop")
    name = f"bench_{size}_{TEXT_VERSION}"
    marker = keep / f"pg-{name}.built"
    try:
        if not marker.exists():
            with psycopg.connect(server.get_uri(), autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name}")
                conn.execute(f"CREATE DATABASE {name}")
            texts, vectors = store_data(size, data[0], data[1])
            marker.write_text(f"{build(open_store(server.get_uri(name)), texts, vectors):.1f}")
        store = open_store(server.get_uri(name))
        with psycopg.connect(server.get_uri(name)) as conn:
            disk = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0] / 1048576
        retriever = Retriever(store, embed, RetrievalSettings(top_k=5))
        time_queries(store, retriever, data[2], data[3])  # warm, as the SQLite rows are
        timings = time_queries(store, retriever, data[2], data[3])
        store.close()
        print_row(size, "postgresql", float(marker.read_text()), disk, "", timings, exact)
    finally:
        server.cleanup()


def configurations(
    kinds: list[str], no_main: bool = False, budgets: list[int] | None = None, splits: list[int] | None = None
) -> list[tuple[str, str, type[Store], int, int]]:
    """(label, index kind, store class, keyword postings budget, split threshold) to measure: each kind as
    main searched it (unless `no_main`) and as this checkout does, once per budget and split threshold
    (labelled with them when there are several; a threshold of 0 never splits)."""
    budgets = budgets or [keywords.MAX_POSTINGS]
    splits = splits or [search.SPLIT_POSTINGS]
    rows = []
    for kind in kinds:
        rows += [] if no_main else [("main " + kind, kind, MainStore, keywords.MAX_POSTINGS, search.SPLIT_POSTINGS)]
        for budget in budgets:
            for split in splits:
                label = kind + (f" {budget // 1000}k" if len(budgets) > 1 else "")
                label += (f" split {split / 1000:g}k" if split else " unsplit") if len(splits) > 1 else ""
                rows += [(label, kind, Store, budget, split or 10**12)]
    return rows


def main() -> None:
    """Build each store, measure it, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 10_000, 100_000, 1_000_000], help="0: real only")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--real", type=int, default=10_000, help="real sentences embedded (the rest is synthetic)")
    parser.add_argument("--kinds", nargs="+", default=["flat", "hnsw", "ivf"], help="index kinds to measure")
    parser.add_argument("--cache", type=Path, help="keep built stores and indexes here and reuse them")
    parser.add_argument("--no-main", action="store_true", help="leave out the rows searched as main did")
    parser.add_argument(
        "--budgets", type=int, nargs="+", help="keyword postings budgets to compare (default: keywords.MAX_POSTINGS)"
    )
    parser.add_argument(
        "--splits",
        type=int,
        nargs="+",
        help="keyword split thresholds to compare (indexer.store.sqlite.search.SPLIT_POSTINGS; 0: never split)",
    )
    parser.add_argument("--postgres", action="store_true", help="also a PostgreSQL + pgvector library (pgserver)")
    args = parser.parse_args()
    if args.cache:
        args.cache.mkdir(parents=True, exist_ok=True)
    data = real_data(Embedder(), args.real, args.queries, args.cache)
    print(f"machine: {os.cpu_count()} cores; {len(data[0])} real sentences embedded; {len(data[2])} queries")
    print(
        f"{'chunks':>9} {'index':<10} {'build s':>8} {'disk MB':>8} {'RSS MB':>7} "
        f"{'dense p50/p95 ms':>18} {'keyword p50/p95':>18} {'hybrid p50/p95':>18} {'recall@10':>9} {'known kw/hyb':>13}"
    )
    for size in args.sizes:
        measure_size(len(data[0]) if size <= 0 else size, args, data)  # 0: the real sentences only


if __name__ == "__main__":
    main()
