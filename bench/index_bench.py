"""Index a folder or file into a throw-away library and compare the pipeline with the bare embedder.

    python bench/index_bench.py PATH [PATH ...]

Prints pages/s and chunks/s of the whole run (load + chunk + embed + store), then embeds the same
chunk texts again with the embedder alone, in the same process, so the ratio shows how much of the
indexing time is overhead beyond the model itself.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indexer.embedder import Embedder
from indexer.indexer import Indexer
from indexer.store import Store


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    args = parser.parse_args()
    embedder = Embedder()
    embedder.embed(["warm-up passage"] * 4)
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder))
        report = Indexer(store, embedder).run(args.paths)
        texts = [c.text for doc in store.documents() for c in store.document_chunks(doc.id)[0]]
        started = time.perf_counter()
        embedder.embed(texts)
        bare = time.perf_counter() - started
        store.close()
    chunks = len(texts)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, device {embedder.device}")
    print(f"files {len(report.indexed)}, pages {report.pages}, chunks {chunks}, failed {len(report.failed)}")
    print(
        f"pipeline:  {report.seconds:6.1f} s  {report.pages / report.seconds:6.1f} pages/s"
        f"  {chunks / report.seconds:6.1f} chunks/s"
    )
    print(f"embedder:  {bare:6.1f} s  {chunks / bare:6.1f} chunks/s (same chunks, model alone)")
    print(
        f"ratio pipeline/embedder: {report.seconds / bare:.2f}x "
        f"(embedding inside the pipeline took {report.embed_seconds:.1f} s)"
    )


if __name__ == "__main__":
    main()
