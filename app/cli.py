"""The `footnotes` command line: index, status, search, ask, chat, mcp, check, doctor; with no command, the window.

Global options (``--library``, ``--embedder``) work before or after the command. A user error is
one line on stderr with an exit code per kind (see `app.errors`); anything else keeps its
traceback and goes to the log (see `app.logs`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import NoReturn

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from app.collections import CollectionError, Collections, default_collections_dir
from app.engine import Engine, passage
from app.errors import (
    NO_WINDOW,
    CliError,
    ContextTooSmall,
    FileProblem,
    Interrupted,
    LibraryMissing,
    Locked,
    ModelProblem,
    UsageError,
    context_overflow_message,
    describe,
    exit_code,
    is_user_error,
)
from app.logs import app_version, debug_logging, log_file, redact, setup_logging
from indexer.attachments import display_name
from indexer.chunker import ChunkSettings
from indexer.embedder import Embedder
from indexer.indexer import Indexer, IndexProgress, IndexReport
from indexer.library import default_library_dir
from indexer.scan import FileIssue, ScanSettings
from indexer.store import CATALOGUE, Store
from indexer.types import Hit, IssueKind
from indexer.vectors import INDEX_KINDS
from llm.base import Generator
from llm.bundled import PRESETS, default_preset
from llm.device import DEVICES
from llm.loader import BACKENDS, load_generator, pick_backend
from llm.openai_backend import ServerError, ServerSettings, check_url
from rag.answer import Answerer, AnswerSettings, Conversation
from rag.citations import CitedAnswer
from rag.context import ContextOverflow, ContextPlan
from rag.export import FORMATS, export
from rag.retriever import RetrievalSettings, Retriever
from rag.scope import Scope

__all__ = ["CliError", "build_parser", "main"]

logger = logging.getLogger("footnotes.cli")

SEARCH_MODES = ("hybrid", "dense", "keyword")
KIND_LABELS = {
    "toc": "contents page",
    "index": "index page",
    "bibliography": "bibliography",
    "lists": "list of figures or tables",
}


def _library(args: argparse.Namespace) -> Path:
    if getattr(args, "collection", None):
        if args.library:
            raise UsageError("give --library or --collection, not both")
        try:
            return _collections().get(args.collection).library
        except CollectionError as exc:
            raise UsageError(str(exc)) from exc
    return Path(args.library).expanduser() if args.library else default_library_dir()


def _collections() -> Collections:
    return Collections(default_collections_dir(), default_library_dir())


def _scope(args: argparse.Namespace, store: Store) -> Scope | None:
    """The ``--scope`` paths as a Scope, refused when the library holds nothing under them."""
    if not getattr(args, "scope", None):
        return None
    scope = Scope.of_paths([Path(p) for p in args.scope])
    if not scope.document_ids(store):
        raise UsageError(f"the library holds no indexed file under {', '.join(args.scope)}; check --scope")
    return scope


def cmd_collections(args: argparse.Namespace) -> int:
    """List, create, rename or delete collections (a delete needs --yes)."""
    collections = _collections()
    wanted = {"list": 0, "create": 1, "rename": 2, "delete": 1}[args.action]
    if len(args.names) != wanted:
        raise UsageError(f"collections {args.action} takes {wanted} name(s), not {len(args.names)}")
    try:
        if args.action == "list":
            for collection in collections.list():
                print(f"{collection.name}\t{collection.library}")
        elif args.action == "create":
            print(f"Created {collections.create(args.names[0]).name}.")
        elif args.action == "rename":
            print(f"Renamed to {collections.rename(*args.names).name}.")
        elif args.action == "delete":
            if not args.yes:
                raise UsageError(f"deleting {args.names[0]} removes its index and chats; add --yes to confirm")
            collections.delete(args.names[0])
            print(f"Deleted {args.names[0]}.")
    except CollectionError as exc:
        raise UsageError(str(exc)) from exc
    return 0


def _open_store(args: argparse.Namespace, must_exist: bool = True, index_kind: str | None = None) -> Store:
    folder = _library(args)
    if must_exist and not (folder / CATALOGUE).exists():
        raise LibraryMissing(f"no library at {folder}; index something first: footnotes index PATH")
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
            raise UsageError("nothing to index: give files or folders, e.g. footnotes index ~/Documents")
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
    if args.paths and not (report.indexed or report.reused or report.unchanged):
        problems = len(report.failed) + len(report.skipped) + len(report.missing)
        if problems:
            raise FileProblem(f"none of the {problems} file(s) given could be indexed; see the reasons above")
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
        raise Interrupted("interrupted; the library keeps every file finished so far, rerun to resume") from None
    finally:
        bar.close()


def _print_report(report: IndexReport, folder: Path) -> None:
    _log_report(report, folder)
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


def _log_report(report: IndexReport, folder: Path) -> None:
    """Every failure and skip with its reason (paths, never contents), then the run's totals."""
    for issue in report.failed:
        logger.warning("index failed: %s: %s (%s)", issue.path, issue.reason, issue.kind)
    for issue in report.skipped:
        logger.info("index skipped: %s: %s (%s)", issue.path, issue.reason, issue.kind)
    for path in report.missing:
        logger.info("index skipped: %s: not found", path)
    logger.info(
        "index of %s: %d indexed, %d reused, %d unchanged, %d removed, %d failed, %d skipped, %d pages, "
        "%d chunks embedded in %.1f s (embedding %.1f s)%s",
        folder,
        len(report.indexed),
        len(report.reused),
        len(report.unchanged),
        len(report.removed),
        len(report.failed),
        len(report.skipped),
        report.pages,
        report.chunks_embedded,
        report.seconds,
        report.embed_seconds,
        ", cancelled" if report.cancelled else "",
    )


def _print_issues(title: str, issues: list[FileIssue]) -> None:
    if not issues:
        return
    print(f"{title} {len(issues)}:")
    unsupported = Counter(i.reason for i in issues if i.kind == IssueKind.UNSUPPORTED)
    for issue in issues:
        if issue.kind != IssueKind.UNSUPPORTED:
            print(f"  {issue.path}: {issue.reason}")
    for reason, count in unsupported.most_common():
        print(f"  {count} file(s): {reason}")


def cmd_unlock(args: argparse.Namespace) -> int:
    """Index a locked PDF with its password, asked for here and never stored."""
    import getpass

    path = Path(args.file).expanduser().absolute()
    if not path.is_file():
        raise FileProblem(f"no file at {path}; check the path")
    password = (
        sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass(f"Password for {path.name}: ")
    )
    with _open_store(args, must_exist=False) as store:
        report = Indexer(store, _embedder(args)).run([path], passwords={str(path): password})
        _print_report(report, store.folder)
    if report.indexed or report.reused or report.unchanged:
        return 0
    issue = next(iter(report.failed + report.skipped), None)
    if issue is not None and issue.kind == IssueKind.LOCKED:
        raise Locked(f"{issue.reason}; run footnotes unlock {path.name} again with the right password")
    reason = issue.reason if issue else "nothing was indexed"
    raise FileProblem(f"{path.name}: {reason}; check the file")


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


def _lazy_embed(args: argparse.Namespace, store: Store) -> Callable[[Sequence[str]], np.ndarray]:
    """An embed function that loads the embedder (and binds it to the library) on its first call only,
    so keyword search never waits for the model."""
    loaded: list[Embedder] = []

    def embed(texts: Sequence[str]) -> np.ndarray:
        if not loaded:
            embedder = _embedder(args)
            store.bind_embedder(embedder.name, embedder.dim)
            loaded.append(embedder)
        return loaded[0].embed(texts)

    return embed


def cmd_search(args: argparse.Namespace) -> int:
    """Print the passages the answering retriever finds for a query (hybrid, dense or keyword)."""
    if args.top_k < 1:
        raise UsageError(f"--top-k must be at least 1, not {args.top_k}")
    with _open_store(args) as store:
        retriever = Retriever(store, _lazy_embed(args, store), RetrievalSettings(top_k=args.top_k, mode=args.mode))
        hits = retriever.retrieve(args.query, include_noncontent=True, scope=_scope(args, store))
    logger.info(
        "search %s (%s, top %d): %d hit(s)",
        redact(args.query, debug_logging(), "query"),
        args.mode,
        args.top_k,
        len(hits),
    )
    if args.json:
        print(
            json.dumps([_hit_record(rank, hit) for rank, hit in enumerate(hits, start=1)], indent=2, ensure_ascii=False)
        )
        return 0
    if not hits:
        print("No passages found.")
    for rank, hit in enumerate(hits, start=1):
        excerpt = " ".join(hit.chunk.text.split())
        label = _kind_label(_kind(hit))
        print(f"{rank:>2}. {hit.score:.3f}  {display_name(hit.chunk.path)}  {hit.chunk.where}{label}")
        print(f"    {excerpt[:240]}{'…' if len(excerpt) > 240 else ''}")
    return 0


def _kind(hit: Hit) -> str:
    return hit.chunk.kind or "content"


def _kind_label(kind: str) -> str:
    """``  [contents page]`` for a non-content chunk; nothing for ordinary content."""
    return "" if kind == "content" else f"  [{KIND_LABELS.get(kind, kind)}]"


def _hit_record(rank: int, hit: Hit) -> dict[str, object]:
    return {"rank": rank, **asdict(passage(hit))}


def _load_model(args: argparse.Namespace) -> Generator:
    """The generator asked for, with each way it can fail turned into a user error of its kind."""
    if args.backend == "server":
        return _connect_server(args)
    spec = _checked_model(args)  # checks the options before a slow load
    try:
        return load_generator(
            spec, args.backend, args.device, status=lambda message: print(message, file=sys.stderr, flush=True)
        )
    except (ValueError, OSError) as exc:
        name = Path(spec).name
        raise ModelProblem(f"cannot load the model {name}: {exc}; give a GGUF file or a model folder") from exc


def _server_settings(args: argparse.Namespace) -> ServerSettings:
    """The model server the ``--server-*`` options name."""
    return ServerSettings(args.server_url, args.server_model or "", args.allow_remote, args.server_context)


def _connect_server(args: argparse.Namespace) -> Generator:
    """The model server the ``--server-*`` options name; one that cannot be used is a model problem."""
    try:
        return load_generator(
            backend="server",
            server=_server_settings(args),
            status=lambda message: print(message, file=sys.stderr, flush=True),
        )
    except ServerError as exc:
        raise ModelProblem(str(exc)) from exc


def _answerer(args: argparse.Namespace, store: Store) -> Answerer:
    started = time.perf_counter()
    generator = _load_model(args)
    print(f"Model ready in {time.perf_counter() - started:.0f} s.", file=sys.stderr, flush=True)
    logger.info("model ready in %.1f s: %s", time.perf_counter() - started, generator.describe())
    embedder = _embedder(args)
    store.bind_embedder(embedder.name, embedder.dim)
    settings = AnswerSettings(retrieval=RetrievalSettings(top_k=args.top_k))
    return Answerer(store, embedder, generator, settings)


def _answer(
    answerer: Answerer,
    question: str,
    conversation: Conversation | None,
    args: argparse.Namespace,
    scope: Scope | None = None,
) -> CitedAnswer:
    def show_plan(plan: ContextPlan | None) -> None:
        if args.show_context and plan is not None:
            print(plan.describe(), file=sys.stderr, flush=True)

    streamed: list[str] = []

    def stream(token: str) -> None:
        streamed.append(token)
        print(token, end="", flush=True)

    try:
        on_token = None if args.json else stream
        answer = answerer.ask(question, conversation, on_token=on_token, on_plan=show_plan, scope=scope)
    except ContextOverflow as exc:
        raise ContextTooSmall(context_overflow_message(answerer.generator.context_window)) from exc
    _log_answer(answerer.generator, question, answer)
    if args.json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
    else:
        print()
        if checked := checked_line("".join(streamed), answer):
            print(checked)
        _print_sources(answer)
    return answer


def checked_line(streamed: str, answer: CitedAnswer) -> str | None:
    """The answer as checked, when it differs from the draft the terminal showed while it streamed (the
    check moved, added or removed markers): the sources printed below number that text, not the draft."""
    if answer.refused or " ".join(streamed.split()) == " ".join(answer.text.split()):
        return None
    return f"Checked: {answer.text}"


def _log_answer(generator: Generator, question: str, answer: CitedAnswer) -> None:
    """The answer's model, backend and timings; the question only as its size unless debugging."""
    timing = ", ".join(f"{key}={value:.3g}" for key, value in answer.timing.items())
    logger.info(
        "answer to %s by %s (%s on %s): %d source(s) cited%s; %s",
        redact(question, debug_logging()),
        answer.model or generator.name,
        generator.backend,
        generator.device,
        len(answer.cited),
        ", withheld" if answer.withheld else "",
        timing or "no timings",
    )


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
        print(f"[{n}] {display_name(chunk.path)}, {chunk.where}: {excerpt[:160]}{'…' if len(excerpt) > 160 else ''}")


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer one question with citations."""
    with _open_store(args) as store:
        scope = _scope(args, store)
        answerer = _answerer(args, store)
        answer = _answer(answerer, args.question, None, args, scope)
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


def _checked_model(args: argparse.Namespace) -> str:
    """The model asked for, with its path and backend options checked now (the model itself loads later);
    for a model server, its URL (the server is asked when the model is first needed)."""
    if args.backend == "server":
        try:
            check_url(_server_settings(args))
        except ServerError as exc:
            raise ModelProblem(str(exc)) from exc
        return args.server_model or ""
    spec = args.model or default_preset()
    model = Path(PRESETS[spec].filename) if spec in PRESETS else Path(spec).expanduser()
    if spec not in PRESETS and not model.exists():
        raise ModelProblem(
            f"no model at {model}; give --model {' or '.join(PRESETS)}, a local GGUF file or a model folder"
        )
    try:
        pick_backend(model, args.backend, args.device)
    except ValueError as exc:
        raise UsageError(describe(exc)) from exc
    return spec


def cmd_mcp(args: argparse.Namespace) -> int:
    """Serve the library over the Model Context Protocol on stdin and stdout until the client closes."""
    from app.mcp_server import serve

    if args.top_k < 1:
        raise UsageError(f"--top-k must be at least 1, not {args.top_k}")
    folder = _library(args)
    if not (folder / CATALOGUE).exists():
        raise LibraryMissing(f"no library at {folder}; index something first: footnotes index PATH")
    model = _checked_model(args)
    server = _server_settings(args) if args.backend == "server" else None
    return serve(Engine(folder, model=model, backend=args.backend, device=args.device, top_k=args.top_k, server=server))


def cmd_check(args: argparse.Namespace) -> int:
    """Check the library's integrity; exit 1 when a problem is found."""
    with _open_store(args) as store:
        problems = store.check()
    for problem in problems:
        print(f"problem: {problem}")
        logger.warning("check: %s", problem)
    print("Library is sound." if not problems else f"{len(problems)} problem(s) found.")
    return 1 if problems else 0


def cmd_doctor(args: argparse.Namespace) -> int:
    """Report what this installation has and lacks; exit 1 when something essential is missing."""
    from app.doctor import run_doctor

    return run_doctor(_library(args), Path(args.embedder) if args.embedder else None, verify=args.verify)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, like every other user error."""

    def error(self, message: str) -> NoReturn:
        """Print ``footnotes: error: <message>; see <prog> --help`` and exit 2."""
        self.exit(2, f"footnotes: error: {message}; see {self.prog} --help\n")


def _global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """``--library`` and ``--embedder``: real defaults on the main parser, SUPPRESS on each command's,
    so the option works on either side of the command without one erasing the other."""
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--library", default=default, help=f"library folder (default: {default_library_dir()})")
    parser.add_argument(
        "--embedder", default=default, help="a local sentence-transformers model folder (default: bundled MiniLM)"
    )
    parser.add_argument("--collection", default=default, help="use this collection's library (see: collections)")


def _model_options(sub: argparse.ArgumentParser) -> None:
    """The options that choose the model and how many passages it reads (ask, chat, mcp)."""
    sub.add_argument("--model", help="'quality', 'light', or a local GGUF file or model folder")
    sub.add_argument("--backend", choices=BACKENDS, default="auto")
    sub.add_argument("--device", choices=DEVICES, default="auto")
    sub.add_argument("--server-url", default=ServerSettings.url, help="OpenAI-compatible server (--backend server)")
    sub.add_argument("--server-model", help="the server's model name (default: the first it lists)")
    sub.add_argument("--server-context", type=int, default=0, help="server model's window (default: ask it)")
    sub.add_argument("--allow-remote", action="store_true", help="allow a server on another machine")
    sub.add_argument("--top-k", type=int, default=RetrievalSettings.top_k, help="passages given to the model")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = _Parser(prog="footnotes", description="Answers from your own files, with footnotes.")
    parser.add_argument("--version", action="version", version=f"footnotes {app_version()}")
    _global_options(parser, suppress=False)
    common = _Parser(add_help=False)
    _global_options(common, suppress=True)
    commands = parser.add_subparsers(dest="command")

    def command(name: str, func: Callable[[argparse.Namespace], int], helptext: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, parents=[common], help=helptext, description=helptext)
        sub.set_defaults(func=func)
        return sub

    index = command("index", cmd_index, "index files and folders")
    index.add_argument("paths", nargs="*", help="files or folders (default: refresh what was indexed before)")
    index.add_argument("--max-file-mb", type=float, default=ScanSettings.max_file_mb, help="skip larger files")
    index.add_argument("--chunk-tokens", type=int, default=ChunkSettings.max_tokens)
    index.add_argument("--overlap-tokens", type=int, default=ChunkSettings.overlap_tokens)
    index.add_argument("--index-kind", choices=INDEX_KINDS, help="flat (exact) or hnsw (approximate, large libraries)")
    index.add_argument("--reindex", action="store_true", help="discard the library's index and build it anew")
    index.add_argument("--quiet", action="store_true", help="plain progress lines instead of a bar")

    unlock = command("unlock", cmd_unlock, "index a password-protected PDF (the password is never stored)")
    unlock.add_argument("file")
    unlock.add_argument("--password-stdin", action="store_true", help="read the password from standard input")

    command("status", cmd_status, "what the library holds")

    search = command("search", cmd_search, "print the passages an answer would draw on")
    search.add_argument("query")
    search.add_argument("-k", "--top-k", type=int, default=5)
    search.add_argument("--mode", choices=SEARCH_MODES, default="hybrid", help="retrieval mode (default: hybrid)")
    search.add_argument("--json", action="store_true", help="print the hits as a JSON list")
    search.add_argument("--scope", action="append", metavar="PATH", help="search only this file or folder (repeatable)")

    for name, func, helptext in (
        ("ask", cmd_ask, "answer a question with citations"),
        ("chat", cmd_chat, "ask questions with follow-ups"),
    ):
        sub = command(name, func, helptext)
        if name == "ask":
            sub.add_argument("question")
            sub.add_argument("--scope", action="append", metavar="PATH", help="answer only from this file or folder")
        _model_options(sub)
        sub.add_argument("--show-context", action="store_true", help="print how the context window is spent")
        sub.add_argument("--json", action="store_true", help="print the cited answer as JSON")
        sub.add_argument("--export", help=f"also write the answer to a file ({', '.join(FORMATS)})")

    _model_options(command("mcp", cmd_mcp, "serve the library to another assistant over MCP (stdin and stdout)"))

    command("check", cmd_check, "verify the library's integrity")

    collections = command("collections", cmd_collections, "list, create, rename or delete collections")
    collections.add_argument("action", nargs="?", choices=("list", "create", "rename", "delete"), default="list")
    collections.add_argument("names", nargs="*", help="create NAME, rename OLD NEW, delete NAME")
    collections.add_argument("--yes", action="store_true", help="confirm a delete")

    doctor = command("doctor", cmd_doctor, "report what this installation has and lacks")
    doctor.add_argument("--verify", action="store_true", help="also hash the bundled models (slow: about 1 GB read)")
    return parser


def _fail(exc: BaseException) -> int:
    """Print a user error as one line, log it, and return its exit code."""
    message = describe(exc)
    code = exit_code(exc)
    print(f"footnotes: error: {message}", file=sys.stderr)
    logger.warning("error (exit %d, %s): %s", code, type(exc).__name__, message)
    return code


def _open_window(args: argparse.Namespace) -> int:
    """The window, after checking that Qt can open one here (Qt's own failure is an abort that names no fix)."""
    from app.platform_check import window_problem

    problem = window_problem()
    if problem:
        print(f"footnotes: {problem}", file=sys.stderr)
        return NO_WINDOW
    from app.window import run_app

    return run_app(Path(args.library).expanduser() if args.library else None, collection=args.collection)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `footnotes` console script."""
    args = build_parser().parse_args(argv)
    if args.command is None:
        return _open_window(args)
    setup_logging("cli")
    logger.info("command: %s", args.command)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return _fail(Interrupted("interrupted; rerun the command when you are ready"))
    except Exception as exc:
        if is_user_error(exc):
            return _fail(exc)
        logger.exception("unexpected error in footnotes %s", args.command)
        print(f"footnotes: unexpected error; the log {log_file()} has the details", file=sys.stderr)
        raise


if __name__ == "__main__":
    sys.exit(main())
