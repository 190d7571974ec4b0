"""The sentence check against a claim set, before and after, measured in one run.

    python bench/verdict_bench.py                 # this checkout against main
    python bench/verdict_bench.py --before ''     # this checkout only
    python bench/verdict_bench.py --before REF    # against another commit
    python bench/verdict_bench.py --judge quality # this checkout also with the model as judge

Each line of `bench/eval/claims.jsonl` is a claim an answer might make and the real passage it is
checked against (`context`, the evidence sentence with its neighbours): a faithful paraphrase, or a
negated, inverted or detail-swapped version, or a claim the passage does not state. Every claim goes
through `rag.citations.cite` as a one-sentence draft over that one passage, with the real embedder. A
claim is *flagged* when its sentence is not supported (code before verdicts: `supported` false or no
marker; with verdicts: contradicted or not stated). Printed per kind: how many were flagged, how many
were called contradicted, and the check's time per sentence (median, embedding included).

Goals (issue #20): each contradicted kind and the unstated kind flagged >= 90 %, faithful <= 5 %,
verdict p50 <= 1.5 s per sentence on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLAIMS = ROOT / "bench" / "eval" / "claims.jsonl"
sys.path.insert(0, str(ROOT / "bench"))


def worker(claims_path: Path, model: str = "") -> None:
    """Check every claim with the code on sys.path (with `model` as judge when given); print one JSON
    line per claim."""
    from indexer.embedder import Embedder
    from indexer.types import Chunk, Hit
    from rag.citations import cite

    judge = None
    if model:
        from llm.loader import load_generator
        from rag.citations import judge_of

        judge = judge_of(load_generator(model))
        if judge is None:
            raise SystemExit(f"{model} is too small to judge (rag.citations.judge.JUDGE_MIN_PARAMETERS)")
    embedder = Embedder()
    embedder.embed(["warm up"])
    for line in claims_path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        context = item["context"]
        chunk = Chunk(1, 1, 0, len(context), context, id=1, path=f"/docs/{item['document']}.pdf")
        started = time.perf_counter()
        options = {"judge": judge} if judge else {}  # the code before verdicts has no judge argument
        answer = cite("", item["claim"], [Hit(chunk, 0.7)], embedder.embed, **options)
        seconds = time.perf_counter() - started
        checks = answer.sentences
        verdict = getattr(checks[0], "verdict", "") if checks else ""
        supported = bool(checks) and checks[0].supported and bool(checks[0].cites)
        print(
            "RESULT "
            + json.dumps(
                {"id": item["id"], "kind": item["kind"], "verdict": verdict, "supported": supported, "s": seconds}
            ),
            flush=True,
        )


def measure(code: Path, model: str = "") -> list[dict]:
    """Run the worker with the code in `code`."""
    script = f"import sys; sys.path.insert(0, {str(code)!r}); sys.path.insert(1, {str(ROOT / 'bench')!r}); "
    script += f"import verdict_bench; verdict_bench.worker(__import__('pathlib').Path({str(CLAIMS)!r}), {model!r})"
    done = subprocess.run([sys.executable, "-c", script], cwd=code, capture_output=True, text=True, check=False)
    rows = [json.loads(x.removeprefix("RESULT ")) for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    if not rows:
        raise SystemExit(f"the benchmark worker failed in {code}:\n{done.stderr[-3000:]}")
    return rows


def table(version: str, rows: list[dict]) -> list[str]:
    """Lines of the table for one version of the code."""
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_kind[row["kind"]].append(row)
    lines = []
    for kind in sorted(by_kind, key=lambda k: (k != "faithful", k)):
        group = by_kind[kind]
        flagged = sum(not r["supported"] for r in group)
        contradicted = sum(r["verdict"] == "contradicted" for r in group)
        lines.append(
            f"{version:<16} {kind:<11} {len(group):>4} {100 * flagged / len(group):>8.1f}% "
            f"{100 * contradicted / len(group):>12.1f}%"
        )
    seconds = sorted(r["s"] for r in rows)
    lines.append(
        f"{version:<16} {'all':<11} {len(rows):>4}   check p50 {1000 * statistics.median(seconds):.0f} ms, "
        f"p95 {1000 * seconds[int(0.95 * (len(seconds) - 1))]:.0f} ms per sentence"
    )
    return lines


def main() -> None:
    from index_bench import checkout

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="main", help="git ref of the code to compare with ('' for none)")
    parser.add_argument("--judge", default="", help="also check with this model as judge (a preset or path)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="footnotes-verdict-bench-") as folder:
        versions = {"this checkout": ROOT}
        if args.before:
            label = subprocess.run(
                ["git", "-C", str(ROOT), "rev-parse", "--short", args.before], capture_output=True, text=True
            ).stdout.strip()
            versions = {f"{args.before} {label}": checkout(args.before, Path(folder) / "before"), **versions}
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
        print(f"claims: {CLAIMS.relative_to(ROOT)}")
        print(f"{'code':<16} {'kind':<11} {'n':>4} {'flagged':>9} {'contradicted':>13}")
        runs = [(version, code, "") for version, code in versions.items()]
        runs += [(f"+ judge {args.judge}", ROOT, args.judge)] if args.judge else []
        for version, code, model in runs:
            for line in table(version, measure(code, model)):
                print(line, flush=True)
    print("goals: faithful flagged <= 5 %; every other kind flagged >= 90 %; check p50 <= 1500 ms per sentence")


if __name__ == "__main__":
    main()
