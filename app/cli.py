"""The `footnotes` command line: index, status, search, ask, chat, check; with no command, the window."""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from indexer.chunker import ChunkSettings
from indexer.embedder import Embedder, EmbedderError
from indexer.indexer import Indexer, IndexProgress, IndexReport
from indexer.library import default_library_dir
from indexer.scan import FileIssue, ScanSettings
from indexer.store import CATALOGUE, Store, StoreError
from indexer.vectors import INDEX_KINDS
from llm.bundled import BundledModelError, default_preset
from llm.device import DEVICES
from llm.loader import BACKENDS, load_generator
from rag.answer import Answerer, AnswerSettings, Conversation
from rag.citations import CitedAnswer
from rag.context import ContextPlan
from rag.export import FORMATS, export
from rag.retriever import RetrievalSettings


class CliError(Exception):
    """An error to print as one line before exiting non-zero."""


def _library(args: argparse.Namespace) -> Path:
    return Path(args.library).expanduser() if args.library else default_library_dir()


def _open_store(args: argparse.Namespace, must_exist: bool = True, index_kind: str | None = None) -> Store:
    folder = _library(args)
    if must_exist and not (folder / CATALOGUE).exists():
        raise CliError(f"no library at {folder}; index something first: footnotes index PATH")
    return Store(folder, index_kind=index_kind)


def _embedder(args: argparse.Namespace) -> Embedder:
    print("Loading the embedding model…", file=sys.stderr, flush=True)
    return Embedder(Path(args.embedder) if args.embedder else None)


def cmd_index(args: argparse.Namespace) -> int:
    """Index files and folders (or refresh the library's known ones)."""
    folder = _library(args)
    if args.reindex:
        for file in list(folder.glob("catalogue.sqlite*")) + list(folder.glob("vectors.g*.faiss")):
            file.unlink()
    with _open_store(args, must_exist=False, index_kind=args.index_kind) as store:
        if not args.paths and not store.roots():
            raise CliError("nothing to index: give files or folders, e.g. footnotes index ~/Documents")
        indexer = Indexer(
            store,
            _embedder(args),
            chunking=ChunkSettings(args.chunk_tokens, args.overlap_tokens),
            scanning=ScanSettings(max_file_mb=args.max_file_mb),
        )
        cancel = threading.Event()
        report = _run_with_bar(indexer, [Path(p) for p in args.paths], cancel, quiet=args.quiet)
        _print_report(report, store.folder)
    if report.cancelled:
        return 130
    return 0


def _run_with_bar(indexer: Indexer, paths: list[Path], cancel: threading.Event, quiet: bool) -> IndexReport:
    from tqdm import tqdm

    bar = tqdm(total=0, unit="file", disable=quiet, file=sys.stderr, dynamic_ncols=True)

    def on_progress(state: IndexProgress) -> None:
        bar.total = state.files_total
        bar.n = state.files_done
        bar.set_postfix_str(f"{state.chunks_embedded} chunks · {Path(state.current_file).name}"[:60])
        if quiet:
            print(f"progress files={state.files_done}/{state.files_total} chunks={state.chunks_embedded}", flush=True)

    try:
        return indexer.run(paths or None, progress=on_progress, cancel=cancel)
    except KeyboardInterrupt:
        raise CliError("interrupted; the library keeps every file finished so far, rerun to resume") from None
    finally:
        bar.close()


def _print_report(report: IndexReport, folder: Path) -> None:
    done = len(report.indexed) + len(report.reused)
    rate = f"{report.pages / report.seconds:.1f} pages/s" if report.seconds and report.pages else ""
    print(
        f"Indexed {done} file(s): {report.pages} pages, {report.chunks_embedded} chunks embedded"
        f" in {report.seconds:.1f} s{' (' + rate + ')' if rate else ''}."
        f" Unchanged {len(report.unchanged)}, removed {len(report.removed)}."
    )
    _print_issues("Failed", report.failed)
    _print_issues("Skipped", report.skipped)
    for path in report.missing:
        print(f"  not found: {path}")
    if report.cancelled:
        print("Cancelled: finished files are kept; rerun to resume.")
    print(f"Library: {folder}")


def _print_issues(title: str, issues: list[FileIssue]) -> None:
    if not issues:
        return
    print(f"{title} {len(issues)}:")
    unsupported = Counter(i.reason for i in issues if i.kind == "unsupported")
    for issue in issues:
        if issue.kind != "unsupported":
            print(f"  {issue.path}: {issue.reason}")
    for reason, count in unsupported.most_common():
        print(f"  {count} file(s): {reason}")


def cmd_unlock(args: argparse.Namespace) -> int:
    """Index a locked PDF with its password, asked for here and never stored."""
    import getpass

    path = Path(args.file).expanduser().absolute()
    if not path.is_file():
        raise CliError(f"no file at {path}")
    password = (
        sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass(f"Password for {path.name}: ")
    )
    with _open_store(args, must_exist=False) as store:
        report = Indexer(store, _embedder(args)).run([path], passwords={str(path): password})
        _print_report(report, store.folder)
    return 0 if report.indexed else 1


def cmd_status(args: argparse.Namespace) -> int:
    """Print what the library holds."""
    with _open_store(args) as store:
        stats = store.stats()
        print(f"Library:    {stats.folder}")
        print(f"Documents:  {stats.documents} indexed, {stats.failed} failed")
        print(f"Pages:      {stats.pages}")
        print(f"Chunks:     {stats.chunks}")
        print(f"Embedder:   {stats.embedder or '-'} ({stats.dim or '-'} dimensions)")
        print(f"Index:      {stats.index_kind}")
        print(f"Disk:       {stats.disk_bytes / 1048576:.1f} MB")
        failures = [d for d in store.documents() if d.status == "failed"]
        for doc in failures:
            print(f"  failed: {doc.path}: {doc.error}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    """Print the passages nearest to a query."""
    with _open_store(args) as store:
        embedder = _embedder(args)
        store.bind_embedder(embedder.name, embedder.dim)
        hits = store.search_dense(embedder.embed([args.query])[0], args.top_k)
        if not hits:
            print("No passages found.")
        for rank, hit in enumerate(hits, start=1):
            excerpt = " ".join(hit.chunk.text.split())
            print(f"{rank:>2}. {hit.score:.3f}  {Path(hit.chunk.path).name}  p. {hit.chunk.page}")
            print(f"    {excerpt[:240]}{'…' if len(excerpt) > 240 else ''}")
    return 0


def _answerer(args: argparse.Namespace, store: Store) -> Answerer:
    embedder = _embedder(args)
    store.bind_embedder(embedder.name, embedder.dim)
    started = time.perf_counter()
    generator = load_generator(
        args.model or default_preset(),
        args.backend,
        args.device,
        status=lambda message: print(message, file=sys.stderr, flush=True),
    )
    print(f"Model ready in {time.perf_counter() - started:.0f} s.", file=sys.stderr, flush=True)
    settings = AnswerSettings(retrieval=RetrievalSettings(top_k=args.top_k))
    return Answerer(store, embedder, generator, settings)


def _answer(
    answerer: Answerer, question: str, conversation: Conversation | None, args: argparse.Namespace
) -> CitedAnswer:
    def show_plan(plan: ContextPlan | None) -> None:
        if args.show_context and plan is not None:
            print(plan.describe(), file=sys.stderr, flush=True)

    stream = None if args.json else (lambda token: print(token, end="", flush=True))
    answer = answerer.ask(question, conversation, on_token=stream, on_plan=show_plan)
    if args.json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
    else:
        print()
        _print_sources(answer)
    return answer


def _print_sources(answer: CitedAnswer) -> None:
    if answer.withheld:
        print("(withheld: no sentence of that draft was supported by the sources)")
    if answer.removed_markers:
        print(f"(removed citations that pointed at no source: {answer.removed_markers})")
    for check in answer.weak_sentences:
        print(f"(weakly supported: “{check.text}”: {check.reason})")
    for n in answer.cited:
        chunk = answer.sources[n]
        excerpt = " ".join(chunk.text.split())
        print(f"[{n}] {Path(chunk.path).name}, p. {chunk.page}: {excerpt[:160]}{'…' if len(excerpt) > 160 else ''}")


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer one question with citations."""
    with _open_store(args) as store:
        answerer = _answerer(args, store)
        answer = _answer(answerer, args.question, None, args)
    if args.export:
        print(f"Exported to {export([answer], Path(args.export))}", file=sys.stderr)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    """A small REPL with follow-up questions; an empty line or EOF ends it."""
    with _open_store(args) as store:
        answerer = _answerer(args, store)
        conversation = Conversation()
        while True:
            try:
                question = input("\nyou> ").strip()
            except EOFError:
                break
            if not question or question in ("exit", "quit"):
                break
            _answer(answerer, question, conversation, args)
    if args.export and conversation.turns:
        print(f"Exported to {export([t.answer for t in conversation.turns], Path(args.export))}", file=sys.stderr)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Check the library's integrity; exit 1 when a problem is found."""
    with _open_store(args) as store:
        problems = store.check()
    for problem in problems:
        print(f"problem: {problem}")
    print("Library is sound." if not problems else f"{len(problems)} problem(s) found.")
    return 1 if problems else 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="footnotes", description="Answers from your own files, with footnotes.")
    parser.add_argument("--library", help=f"library folder (default: {default_library_dir()})")
    parser.add_argument("--embedder", help="a local sentence-transformers model folder (default: bundled MiniLM)")
    commands = parser.add_subparsers(dest="command")

    index = commands.add_parser("index", help="index files and folders")
    index.add_argument("paths", nargs="*", help="files or folders (default: refresh what was indexed before)")
    index.add_argument("--max-file-mb", type=float, default=ScanSettings.max_file_mb, help="skip larger files")
    index.add_argument("--chunk-tokens", type=int, default=ChunkSettings.max_tokens)
    index.add_argument("--overlap-tokens", type=int, default=ChunkSettings.overlap_tokens)
    index.add_argument("--index-kind", choices=INDEX_KINDS, help="flat (exact) or hnsw (approximate, large libraries)")
    index.add_argument("--reindex", action="store_true", help="discard the library's index and build it anew")
    index.add_argument("--quiet", action="store_true", help="plain progress lines instead of a bar")
    index.set_defaults(func=cmd_index)

    unlock = commands.add_parser("unlock", help="index a password-protected PDF (the password is never stored)")
    unlock.add_argument("file")
    unlock.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    unlock.set_defaults(func=cmd_unlock)

    status = commands.add_parser("status", help="what the library holds")
    status.set_defaults(func=cmd_status)

    search = commands.add_parser("search", help="print the passages nearest to a query")
    search.add_argument("query")
    search.add_argument("-k", "--top-k", type=int, default=5)
    search.set_defaults(func=cmd_search)

    for name, func, helptext in (
        ("ask", cmd_ask, "answer a question with citations"),
        ("chat", cmd_chat, "ask questions with follow-ups"),
    ):
        sub = commands.add_parser(name, help=helptext)
        if name == "ask":
            sub.add_argument("question")
        sub.add_argument("--model", help="'quality', 'light', or a local GGUF file or model folder")
        sub.add_argument("--backend", choices=BACKENDS, default="auto")
        sub.add_argument("--device", choices=DEVICES, default="auto")
        sub.add_argument("--top-k", type=int, default=RetrievalSettings.top_k, help="passages given to the model")
        sub.add_argument("--show-context", action="store_true", help="print how the context window is spent")
        sub.add_argument("--json", action="store_true", help="print the cited answer as JSON")
        sub.add_argument("--export", help=f"also write the answer to a file ({', '.join(FORMATS)})")
        sub.set_defaults(func=func)

    check = commands.add_parser("check", help="verify the library's integrity")
    check.set_defaults(func=cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `footnotes` console script."""
    args = build_parser().parse_args(argv)
    if args.command is None:
        from app.window import run_app

        return run_app(Path(args.library).expanduser() if args.library else None)
    try:
        return int(args.func(args))
    except (CliError, StoreError, EmbedderError, BundledModelError, ValueError, OSError) as exc:
        print(f"footnotes: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
