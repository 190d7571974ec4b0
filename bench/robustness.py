"""Read every PDF of a corpus the way the indexer does, and account for each one.

    python bench/robustness.py [CORPUS] [--timeout 60] [--memory-mb 2048] [--workers 2] [--limit N]

Each file goes through the indexer's sandboxed loader (a child process with a time limit and a
memory ceiling) and the chunker. The table counts files indexed, skipped with a reason (by kind),
timed out and crashed; any reason that is not one of the known, actionable kinds is listed as
unexplained. Default corpus: what bench/fetch_corpora.py gathered.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indexer.chunker import Chunker
from indexer.embedder import Embedder
from indexer.loaders import LoadError
from indexer.sandbox import SandboxedLoader, SandboxSettings

ACTIONABLE = {
    "corrupt": "damaged: re-download or repair it",
    "locked": "needs a password: footnotes unlock FILE",
    "encrypted": "encryption this build cannot open",
    "no-text": "no text to read: OCR found none (or Tesseract is not installed)",
    "empty": "empty",
    "too-large": "too large for the memory ceiling",
    "timeout": "over the time limit",
    "crashed": "the parser crashed",
}


def main() -> None:
    """Run the corpus and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=Path.home() / ".cache" / "Footnotes" / "corpora")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--memory-mb", type=int, default=2048)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()
    files = sorted(args.corpus.rglob("*.pdf"))[: args.limit or None]
    spans = Embedder().token_spans_factory
    settings = SandboxSettings(timeout_s=args.timeout, memory_mb=args.memory_mb)
    outcomes: dict[Path, tuple[str, str, float, int]] = {}
    started = time.perf_counter()

    def work(batch: list[Path]) -> None:
        chunker = Chunker(spans())
        with SandboxedLoader(settings) as loader:
            for path in batch:
                began = time.perf_counter()
                try:
                    document = loader.load(path)
                    chunks = chunker.chunk_pages(0, document.pages)
                    outcomes[path] = ("indexed", document.extractor, time.perf_counter() - began, len(chunks))
                except LoadError as exc:
                    outcomes[path] = (exc.kind, exc.reason, time.perf_counter() - began, 0)

    with ThreadPoolExecutor(args.workers) as pool:
        list(pool.map(work, [files[i :: args.workers] for i in range(args.workers)]))
    elapsed = time.perf_counter() - started

    kinds = Counter(outcome[0] for outcome in outcomes.values())
    extractors = Counter(o[1] for o in outcomes.values() if o[0] == "indexed")
    slowest = max(outcomes.items(), key=lambda item: item[1][2])
    print(
        f"{len(files)} PDFs from {len({p.parent for p in files})} sources in {elapsed:.0f} s "
        f"(limit {args.timeout:.0f} s and {args.memory_mb} MB per file, {args.workers} workers)"
    )
    print(f"{'outcome':<12}{'files':>6}  meaning")
    for kind, count in kinds.most_common():
        print(
            f"{kind:<12}{count:>6}  {'read and chunked' if kind == 'indexed' else ACTIONABLE.get(kind, 'UNEXPLAINED')}"
        )
    print("extractors: " + ", ".join(f"{name} {count}" for name, count in extractors.most_common()))
    print(f"chunks: {sum(o[3] for o in outcomes.values())}; slowest file: {slowest[0].name} ({slowest[1][2]:.1f} s)")
    unexplained = [(p, o) for p, o in outcomes.items() if o[0] not in ACTIONABLE and o[0] != "indexed"]
    for path, outcome in unexplained:
        print(f"UNEXPLAINED {path}: {outcome[1]}")
    by_source = Counter((p.parent.name, o[0]) for p, o in outcomes.items())
    for source in sorted({p.parent.name for p in files}):
        row = ", ".join(f"{kind} {count}" for (name, kind), count in sorted(by_source.items()) if name == source)
        print(f"  {source}: {row}")


if __name__ == "__main__":
    main()
