"""Indexing against the embedder's own pace, before and after, measured in one run.

    python bench/index_bench.py                  # the Debian FAQ PDF and a many-file folder, this code and main
    python bench/index_bench.py --before REF     # compare with another commit (default: main)
    python bench/index_bench.py --before ''      # this code only
    python bench/index_bench.py PATH [PATH ...]  # your own corpora, each a file or folder

For each corpus and each version of the code (the old one is `git archive`d into a temporary folder,
so nothing in the repository changes) a child process indexes the corpus into a throw-away library,
then re-indexes it unchanged, then embeds the same chunk texts with the embedder alone in the same
batches. It prints pipeline chunks/s, embedder-alone chunks/s, their ratio pipeline / embedder (goal
>= 0.85x: the pipeline loses at most 15% to parsing, chunking and writing) and the unchanged
re-index time against the first run's (goal >= 100x). Ratios are taken within one process, so a busy
machine slows both sides alike; the absolute rates are only as good as the machine is quiet.

The many-file folder is the sample library, the repository's Markdown and the loaders' Python
sources copied as .txt: some 20 distinct files of real prose and code.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FAQ_PDF = ROOT.parent / "shared" / "eval" / "debian-faq" / "debian-faq.en.pdf"
BATCH = 32
"""The batches the embedder alone gets: the pipeline's own (`indexer.indexer.EMBED_BATCH`)."""


@dataclass(frozen=True)
class Result:
    """One corpus indexed by one version of the code."""

    files: int
    pages: int
    chunks: int
    first_s: float
    again_s: float
    bare_s: float
    model_made_again: bool

    @property
    def ratio(self) -> float:
        """Pipeline chunks/s over embedder-alone chunks/s on the same chunks."""
        return self.bare_s / self.first_s

    @property
    def reindex_speedup(self) -> float:
        """How many times faster the unchanged re-index is than the first run."""
        return self.first_s / max(self.again_s, 1e-6)


def worker(corpus: Path) -> None:
    """Child process: index `corpus` with the code on sys.path and print one JSON line of results."""
    from indexer.embedder import Embedder
    from indexer.indexer import Indexer
    from indexer.store import Store

    embedder = Embedder()
    embedder.embed(["warm-up passage"] * 8)
    made: list[int] = []

    def make() -> Embedder:
        made.append(1)
        return embedder

    lazy = isinstance(getattr(Indexer, "embedder", None), property)  # the new code takes a maker
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder))
        first = Indexer(store, embedder).run([corpus])
        made.clear()
        again = Indexer(store, make if lazy else embedder).run([corpus])
        texts = [c.text for doc in store.documents() for c in store.document_chunks(doc.id)[0]]
        started = time.perf_counter()
        for start in range(0, len(texts), BATCH):
            embedder.embed(texts[start : start + BATCH])
        bare = time.perf_counter() - started
        store.close()
    result = Result(
        len(first.indexed), first.pages, len(texts), first.seconds, again.seconds, bare, bool(made) or not lazy
    )
    print("RESULT " + json.dumps(vars(result)))


def many_files(target: Path) -> Path:
    """The many-file corpus: sample library, Markdown and loader sources as text."""
    target.mkdir(parents=True)
    for path in sorted((ROOT / "assets" / "sample").iterdir()):
        shutil.copy(path, target / path.name)
    for path in [ROOT / "README.md", *sorted((ROOT / "assets" / "prompts").glob("*.md"))]:
        shutil.copy(path, target / f"{path.parent.name}-{path.name}")
    for path in sorted((ROOT / "indexer" / "loaders").glob("*.py")):
        shutil.copy(path, target / f"{path.stem}.py.txt")
    return target


def checkout(ref: str, target: Path) -> Path:
    """The code at `ref`, unpacked from `git archive` (the repository is left as it is)."""
    target.mkdir(parents=True)
    archive = target / "code.tar"
    with open(archive, "wb") as handle:
        subprocess.run(["git", "-C", str(ROOT), "archive", ref], stdout=handle, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    return target


def measure(code: Path, corpus: Path) -> Result:
    """Run the worker on `corpus` with the code in `code`."""
    script = f"import sys; sys.path.insert(0, {str(code)!r}); sys.path.insert(1, {str(ROOT / 'bench')!r}); "
    script += f"import index_bench; index_bench.worker(__import__('pathlib').Path({str(corpus)!r}))"
    done = subprocess.run([sys.executable, "-c", script], cwd=code, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        raise SystemExit(f"the benchmark worker failed in {code}:\n{done.stderr[-3000:]}")
    return Result(**json.loads(lines[-1].removeprefix("RESULT ")))


def row(name: str, version: str, r: Result) -> str:
    """One line of the table."""
    return (
        f"{name:<12} {version:<14} {r.files:>5} {r.pages:>5} {r.chunks:>6} {r.first_s:>7.1f} "
        f"{r.chunks / r.first_s:>9.1f} {r.chunks / r.bare_s:>9.1f} {r.ratio:>8.2f}x "
        f"{r.again_s * 1000:>9.0f} {r.reindex_speedup:>8.0f}x  {'yes' if r.model_made_again else 'no'}"
    )


def main() -> None:
    """Prepare the corpora, measure each version of the code on each, and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, help="corpora (default: the Debian FAQ PDF and a folder)")
    parser.add_argument("--before", default="main", help="git ref of the code to compare with ('' for none)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="footnotes-index-bench-") as folder:
        work = Path(folder)
        corpora = {p.name: p.absolute() for p in args.paths} or {
            "debian-faq": FAQ_PDF,
            "many-files": many_files(work / "many-files"),
        }
        versions = {"this checkout": ROOT}
        if args.before:
            label = subprocess.run(
                ["git", "-C", str(ROOT), "rev-parse", "--short", args.before], capture_output=True, text=True
            ).stdout.strip()
            versions = {f"{args.before} {label}": checkout(args.before, work / "before"), **versions}
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
        print(
            f"{'corpus':<12} {'code':<14} {'files':>5} {'pages':>5} {'chunks':>6} {'first s':>7} "
            f"{'pipe c/s':>9} {'embed c/s':>9} {'pipe/emb':>9} {'again ms':>9} {'1st/again':>9}  model loaded again"
        )
        for name, corpus in corpora.items():
            for version, code in versions.items():
                print(row(name, version, measure(code, corpus)), flush=True)
    print("goals: pipe/emb >= 0.85x (pipeline chunks/s over embedder-alone chunks/s), 1st/again >= 100x")


if __name__ == "__main__":
    main()
