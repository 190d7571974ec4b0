"""The Debian FAQ answer bench of issue #9: retrieval and cited answers on three question sets, before and now.

    python bench/answer_bench.py [--model light|quality|PATH] [--backend auto|transformers|llama.cpp]
        [--answers 20,20,10] [--sets public,paraphrase,unanswerable] [--baseline REF | --no-baseline]
        [--max-new-tokens N] [--json OUT] [--server N]

Question sets: the 120 public questions of ../shared/eval/debian-faq/questions.jsonl, the paraphrased ones
of bench/eval/paraphrase.jsonl (a user's words, not the FAQ's headings) and the unanswerable ones of
bench/eval/unanswerable.jsonl. Each side ("before" = the code at --baseline REF, checked out into a temporary
git worktree; "now" = this working tree) runs as a separate worker process of this same file: it indexes the
PDF into a temporary library with its own code, measures page-strict hybrid retrieval (hit@1, hit@5) on every
answerable question, answers the first N questions of each set, and writes its raw results as JSON. The
parent prints one table, before and now side by side, with the goals of issue #9 beside each row.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections import deque
from datetime import datetime
from pathlib import Path

from answer_figures import ANSWERABLE, figures, print_table, table_rows

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
EVAL = REPO.parent / "shared" / "eval" / "debian-faq"
SET_FILES = {
    "public": EVAL / "questions.jsonl",
    "paraphrase": HERE / "eval" / "paraphrase.jsonl",
    "unanswerable": HERE / "eval" / "unanswerable.jsonl",
    "manuals-answerable": HERE / "eval" / "manuals_answerable.jsonl",
    "manuals-unanswerable": HERE / "eval" / "manuals_unanswerable.jsonl",
    "followups": HERE / "eval" / "followups.jsonl",
}
"""Sets with a gold page: retrieval and the cited page are measured on them."""
DEFAULT_ANSWERS = {
    "public": 20,
    "paraphrase": 20,
    "unanswerable": 10,
    "manuals-answerable": 10,
    "manuals-unanswerable": 40,
    "followups": 20,
}
MANUALS = ("debian-faq.en.pdf", "debian-reference.en.pdf", "bashref.pdf")
"""The library of three long manuals the manuals sets are asked of (bench/eval/get_manuals.py)."""
DEFAULT_BASELINE = "0e0811e"


# ---------------------------------------------------------------- the worker (runs with one side's code)


def log(message: str) -> None:
    """Progress for the parent, which echoes the worker's stderr."""
    print(message, file=sys.stderr, flush=True)


def import_code(code: Path) -> dict:
    """The project's classes from the tree at `code`, checked to come from there (not the editable install)."""
    sys.path.insert(0, str(code))
    from indexer.embedder import Embedder
    from indexer.indexer import Indexer
    from indexer.store import Store
    from llm.loader import load_generator
    from rag.answer import Answerer, AnswerSettings, Conversation
    from rag.retriever import RetrievalSettings, Retriever

    for module in ("indexer.store", "rag.answer", "rag.retriever", "llm.loader"):
        origin = Path(sys.modules[module].__file__).resolve()
        if not origin.is_relative_to(code.resolve()):
            raise RuntimeError(f"{module} was imported from {origin}, not from {code}")
    return {
        "Embedder": Embedder,
        "Indexer": Indexer,
        "Store": Store,
        "load_generator": load_generator,
        "AnswerSettings": AnswerSettings,
        "Answerer": Answerer,
        "Conversation": Conversation,
        "RetrievalSettings": RetrievalSettings,
        "Retriever": Retriever,
    }


def retrieval_pages(api: dict, store, embedder, questions: list[dict]) -> list[dict]:
    """Pages of the top 5 hybrid hits (the answer path's retriever) for each question, best first."""
    retriever = api["Retriever"](store, embedder.embed, api["RetrievalSettings"](top_k=5))
    rows = []
    for q in questions:
        hits = retriever.retrieve(q["question"])
        rows.append({"id": q["id"], "gold": q["gold_page_1based"], "pages": [h.chunk.page for h in hits]})
    return rows


def answer_record(q: dict, answer, seconds: float) -> dict:
    """The fields of one `CitedAnswer` the table needs, JSON-ready."""
    timing = {k: float(v) for k, v in (getattr(answer, "timing", None) or {}).items() if isinstance(v, int | float)}
    return {
        "id": q["id"],
        "question": q["question"],
        "gold": q.get("gold_page_1based"),
        "cited_pages": sorted({answer.sources[n].page for n in answer.cited if n in answer.sources}),
        "refused": bool(answer.refused),
        "timing": timing,
        "wall_seconds": seconds,
        "text": answer.text,
    }


def answer_sets(api: dict, store, embedder, job: dict) -> tuple[dict, dict]:
    """Answers to the first N questions of each set, and facts about the generator."""
    started = time.perf_counter()
    generator = api["load_generator"](job["model"], backend=job["backend"])
    facts = {"load_seconds": time.perf_counter() - started, "backend": getattr(generator, "backend", "?")}
    facts["generator"] = generator.describe() if hasattr(generator, "describe") else str(generator)
    settings = api["AnswerSettings"]()
    if job.get("max_new_tokens"):
        settings = api["AnswerSettings"](max_new_tokens=job["max_new_tokens"])
    answerer = api["Answerer"](store, embedder, generator, settings)
    results: dict[str, list[dict]] = {}
    for name, questions in job["sets"].items():
        chosen = questions[: job["answers"].get(name, 0)]
        results[name] = []
        for i, q in enumerate(chosen, start=1):
            conversation = None
            if "first" in q:  # a follow-up: its first question is asked before it, in the same conversation
                conversation = api["Conversation"]()
                answerer.ask(q["first"], conversation)
            began = time.perf_counter()
            answer = answerer.ask(q["question"], conversation)
            results[name].append(answer_record(q, answer, time.perf_counter() - began))
            log(f"answer {name} {i}/{len(chosen)}: {time.perf_counter() - began:.1f} s, refused={answer.refused}")
    return results, facts


def run_worker(code: Path, job_file: Path, out_file: Path) -> None:
    """Index the PDF with the code at `code`, measure retrieval and answers, write the raw results."""
    job = json.loads(job_file.read_text())
    api = import_code(code)
    result: dict = {"code": str(code), "python": sys.version.split()[0]}
    embedder = api["Embedder"]()
    with tempfile.TemporaryDirectory(prefix="footnotes-bench-") as folder:
        store = api["Store"](Path(folder))
        started = time.perf_counter()
        api["Indexer"](store, embedder).run([Path(p) for p in job["pdfs"]])
        result["index_seconds"] = time.perf_counter() - started
        log(f"indexed {', '.join(Path(p).name for p in job['pdfs'])} in {result['index_seconds']:.1f} s")
        result["retrieval"] = {
            name: retrieval_pages(api, store, embedder, qs) for name, qs in job["sets"].items() if name in ANSWERABLE
        }
        log("retrieval done: " + ", ".join(f"{k} {len(v)}" for k, v in result["retrieval"].items()))
        result["answers"], facts = answer_sets(api, store, embedder, job)
        result.update(facts)
        store.close()
    out_file.write_text(json.dumps(result, indent=1))


# ---------------------------------------------------------------- the parent: run both sides, print the table


def load_set(name: str) -> list[dict]:
    """The questions of one set, from its JSON-lines file."""
    return [json.loads(line) for line in SET_FILES[name].read_text().splitlines() if line.strip()]


def default_model() -> str:
    """The app's default preset (``quality`` when installed, else ``light``)."""
    sys.path.insert(0, str(REPO))
    try:
        from llm.bundled import default_preset

        return default_preset()
    except (ImportError, SyntaxError, AttributeError, NameError):  # the tree may be mid-edit; the bench still runs
        return "quality"


def library_files(library: str) -> list[str]:
    """The PDFs of the library the questions are asked of; the manuals are fetched once if missing."""
    if library == "faq":
        return [str(EVAL / "debian-faq.en.pdf")]
    found = subprocess.run(
        [sys.executable, str(HERE / "eval" / "get_manuals.py")], check=True, capture_output=True, text=True
    ).stdout.split()
    paths = [p for p in found if Path(p).name in MANUALS]
    if len(paths) != len(MANUALS):
        raise SystemExit(f"get_manuals.py gave {found}, not the three manuals {MANUALS}")
    return paths


def parse_answers(text: str, sets: list[str]) -> dict[str, int]:
    """``--answers``: one N for every set, or ``public,paraphrase,unanswerable`` counts such as ``20,20,10``."""
    values = [int(v) for v in text.split(",")]
    if len(values) == 1:
        return dict.fromkeys(sets, values[0])
    names = [n for n in SET_FILES if n in sets]
    if len(values) != len(names):
        raise SystemExit(f"--answers: give one count, or one per set ({', '.join(names)})")
    return dict(zip(names, values, strict=True))


def run_side(label: str, code: Path, job_file: Path, folder: Path) -> dict:
    """Run this file as a worker with the code at `code` (PYTHONPATH and cwd there); its stderr is echoed."""
    script = folder / "answer_bench_worker.py"  # a copy outside both trees: its folder lands on sys.path
    shutil.copyfile(__file__, script)
    shutil.copyfile(HERE / "answer_figures.py", folder / "answer_figures.py")  # what the copy imports
    out_file = folder / f"{label}.json"
    env = {**os.environ, "PYTHONPATH": str(code), "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, str(script), "--worker", "--code", str(code), "--job", str(job_file)]
    command += ["--out", str(out_file)]
    started = time.perf_counter()
    tail: deque[str] = deque(maxlen=25)
    with subprocess.Popen(
        command, cwd=code, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        for line in process.stdout:
            tail.append(line.rstrip())
            print(f"  [{label}] {line.rstrip()}", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - started
    if process.returncode != 0 or not out_file.exists():
        return {"error": f"worker exited with {process.returncode}", "log_tail": list(tail), "seconds": seconds}
    result = json.loads(out_file.read_text())
    result["seconds"] = seconds
    return result


def git(*args: str) -> str:
    """Output of a git command on this repository."""
    return subprocess.run(["git", "-C", str(REPO), *args], check=True, capture_output=True, text=True).stdout.strip()


def run_baseline(ref: str, job_file: Path, folder: Path) -> dict:
    """Check `ref` out into a temporary worktree, run the worker there, remove the worktree."""
    tree = folder / "baseline"
    git("worktree", "add", "--detach", str(tree), ref)
    try:
        return run_side("before", tree, job_file, folder)
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=False)
        subprocess.run(["git", "-C", str(REPO), "worktree", "prune"], check=False)


# ---------------------------------------------------------------- figures


def cpu_model() -> str:
    """The CPU's model name, from /proc/cpuinfo where there is one."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def print_header(args: argparse.Namespace, answers: dict[str, int], sizes: dict[str, int]) -> None:
    """Machine, date and configuration."""
    load = " / ".join(f"{v:.1f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    print(f"date: {datetime.now().astimezone().isoformat(timespec='minutes')}")
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, {platform.machine()}, load average {load}")
    print(f"model {args.model}, backend {args.backend}; python {platform.python_version()}")
    print(
        "sets: " + ", ".join(f"{name} {sizes[name]} questions ({answers.get(name, 0)} answered)" for name in args.sets)
    )


def print_side_facts(label: str, result: dict | None) -> None:
    """What each worker ran with, or why it failed."""
    if result is None:
        return
    if "error" in result:
        print(f"{label}: FAILED ({result['error']}); last lines of its log:")
        for line in result.get("log_tail", [])[-12:]:
            print(f"    {line}")
        return
    print(f"{label}: {result.get('generator', '?')} [{result.get('backend', '?')}], {result['seconds']:.0f} s in all")


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (``--limit`` is the old name of ``--answers``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="preset or path (default: the app's default preset)")
    parser.add_argument("--backend", default="auto", choices=["auto", "transformers", "llama.cpp"])
    parser.add_argument("--answers", "--limit", default=None, help="questions answered per set: N or 20,20,10")
    parser.add_argument("--sets", default="public,paraphrase,unanswerable")
    parser.add_argument(
        "--library",
        choices=["faq", "manuals"],
        default="faq",
        help="index the Debian FAQ (default) or the three manuals of bench/eval/get_manuals.py (FAQ, Debian "
        "Reference, Bash manual: the manuals-* sets are asked of them)",
    )
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="git ref of 'before' (default %(default)s)")
    parser.add_argument("--no-baseline", action="store_true", help="measure only the current code")
    parser.add_argument("--max-new-tokens", type=int, default=None, help="cap on answer length (default: app's)")
    parser.add_argument("--json", type=Path, default=None, help="save every raw result here")
    parser.add_argument(
        "--server",
        type=int,
        default=0,
        metavar="N",
        help="also time the first token through a local OpenAI-compatible server against in-process llama.cpp "
        "on N questions (bench/server_bench.py, same model and prompts)",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--code", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--job", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.worker:
        args.sets = [s.strip() for s in args.sets.split(",") if s.strip()]
        unknown = set(args.sets) - set(SET_FILES)
        if unknown:
            parser.error(f"unknown sets: {', '.join(sorted(unknown))}")
    return args


def main() -> None:
    """Run both sides and print the table."""
    args = parse_args()
    if args.worker:
        run_worker(args.code, args.job, args.out)
        return
    args.model = args.model or default_model()
    sets = {name: load_set(name) for name in args.sets}
    answers = parse_answers(args.answers, args.sets) if args.answers else {n: DEFAULT_ANSWERS[n] for n in args.sets}
    golds = {q["id"]: q.get("gold_answer", "") for qs in sets.values() for q in qs}
    print_header(args, answers, {k: len(v) for k, v in sets.items()})
    job = {
        "pdfs": library_files(args.library),
        "model": args.model,
        "backend": args.backend,
        "max_new_tokens": args.max_new_tokens,
        "answers": answers,
        "sets": sets,
    }
    with tempfile.TemporaryDirectory(prefix="footnotes-answer-bench-") as tmp:
        folder = Path(tmp)
        job_file = folder / "job.json"
        job_file.write_text(json.dumps(job))
        before = None if args.no_baseline else run_baseline(args.baseline, job_file, folder)
        now = run_side("now", REPO, job_file, folder)
    ref = git("rev-parse", "--short", args.baseline) if not args.no_baseline else ""
    print()
    print_side_facts(f"before ({ref})", before)
    print_side_facts("now", now)
    print()
    header = ["figure", *([f"before ({ref})"] if before is not None else []), "now"]
    header += [*(["now/before"] if before is not None else []), "goal", "now meets"]
    before_figures = figures(before, golds) if before is not None else None
    print_table(header, table_rows(before_figures, figures(now, golds)))
    if args.json:
        args.json.write_text(json.dumps({"job": job, "before": before, "now": now, "baseline": ref}, indent=1))
        print(f"\nraw results: {args.json}")
    if args.server:
        print("\nFirst token through a model server (llama-cpp-python's, on 127.0.0.1) against in-process llama.cpp:")
        sys.stdout.flush()
        bench = [sys.executable, str(HERE / "server_bench.py"), "--model", args.model, "--questions", str(args.server)]
        subprocess.run(bench, check=False)


if __name__ == "__main__":
    main()
