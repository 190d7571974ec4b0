"""Resident memory of answering with the bundled model (issue #21, item 6), measured in this process.

    python bench/memory_bench.py [--model quality] [--backend llama.cpp] [--questions 3]
    python bench/memory_bench.py --model light --backend transformers --switch

`--switch`: then, as the app does when llama.cpp arrives after its fallback (`llm.loader.llama_arrived`),
drop that model, load the quality one on llama.cpp, and answer the same questions again.

Indexes the Debian FAQ PDF into a temporary library, loads the embedder and the model as the app does,
answers the first N public questions, and prints the resident set size (VmRSS) and its peak (VmHWM)
after each step. The window adds Qt on top (about 150 MB).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
EVAL = ROOT.parent / "shared" / "eval" / "debian-faq"


def memory() -> str:
    """This process's resident memory now and at its peak, in GB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    now, peak = (int(fields[key].split()[0]) / 1024**2 for key in ("VmRSS", "VmHWM"))
    return f"resident {now:.2f} GB (peak {peak:.2f} GB)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="quality")
    parser.add_argument("--backend", default="llama.cpp")
    parser.add_argument("--questions", type=int, default=3)
    parser.add_argument("--switch", action="store_true", help="then switch to the quality model on llama.cpp")
    args = parser.parse_args()
    from indexer.embedder import Embedder
    from indexer.indexer import Indexer
    from indexer.store import Store
    from llm.loader import load_generator
    from rag.answer import Answerer

    print(f"started: {memory()}")
    embedder = Embedder()
    with tempfile.TemporaryDirectory(prefix="footnotes-memory-") as folder:
        store = Store(Path(folder))
        Indexer(store, embedder).run([EVAL / "debian-faq.en.pdf"])
        print(f"embedder loaded, FAQ indexed: {memory()}")
        generator = load_generator(args.model, backend=args.backend)
        print(f"{generator.describe()} loaded: {memory()}")
        questions = [json.loads(line)["question"] for line in (EVAL / "questions.jsonl").read_text().splitlines()]
        _ask(Answerer(store, embedder, generator), questions[: args.questions])
        if args.switch:
            del generator  # the app drops its answerer, and with it the model, the same way
            gc.collect()
            print(f"fallback dropped: {memory()}")
            generator = load_generator("quality", backend="llama.cpp")
            print(f"{generator.describe()} loaded: {memory()}")
            _ask(Answerer(store, embedder, generator), questions[: args.questions])
        store.close()


def _ask(answerer: object, questions: list[str]) -> None:
    for number, question in enumerate(questions, 1):
        answerer.ask(question)  # type: ignore[attr-defined]
        print(f"after question {number}: {memory()}")


if __name__ == "__main__":
    main()
