"""The `footnotes` commands over the library itself: index, forget, unlock, status, search (through the
Engine), check, collections, doctor."""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from app.core.collections import CollectionError
from app.core.errors import FileProblem, Interrupted, Locked, UsageError
from app.core.logs import debug_logging, redact
from app.core.options import (
    collections_of_user,
    library_location,
    open_engine,
    parse_scope,
    rebuilt_engine,
    user_settings,
)
from app.core.passages import passage
from indexer.attachments import display_name, lies_under
from indexer.chunker import ChunkSettings
from indexer.indexer import IndexProgress, IndexReport
from indexer.scan import FileIssue, ScanSettings
from indexer.types import Hit, IssueKind

logger = logging.getLogger("footnotes.cli")

SEARCH_MODES = ("hybrid", "dense", "keyword")
KIND_LABELS = {
    "toc": "contents page",
    "index": "index page",
    "bibliography": "bibliography",
    "lists": "list of figures or tables",
}


def cmd_collections(args: argparse.Namespace) -> int:
    """List, create, rename or delete collections (a delete needs --yes)."""
    collections = collections_of_user()
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


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cmd_index(args: argparse.Namespace) -> int:
    """Index files and folders (or refresh the library's known ones)."""
    settings = user_settings(args)  # checked before a --reindex discards anything
    chunking = ChunkSettings(settings.retrieval.chunk_tokens, args.overlap_tokens)
    opened = (
        rebuilt_engine(
            args, settings, _say, index_kind=args.index_kind
        )  # one whose embedder cannot load keeps the index
        if args.reindex
        else open_engine(args, settings, must_exist=False, index_kind=args.index_kind)
    )
    with opened as engine:
        if not args.paths and not engine.roots():
            raise UsageError("nothing to index: give files or folders, e.g. footnotes index ~/Documents")
        cancel = threading.Event()
        report = _run_with_bar(
            lambda progress: engine.index(
                [Path(p) for p in args.paths],
                progress,
                cancel,
                chunking=chunking,
                scanning=ScanSettings(max_file_mb=args.max_file_mb),
                status=_say,
            ),
            quiet=args.quiet,
        )
        _print_report(report, engine.location)
    if report.cancelled:
        return 130
    if args.paths and not (report.indexed or report.reused or report.unchanged):
        problems = len(report.failed) + len(report.skipped) + len(report.missing)
        if problems:
            raise FileProblem(f"none of the {problems} file(s) given could be indexed; see the reasons above")
    return 0


def _run_with_bar(run: Callable[[Callable[[IndexProgress], None]], IndexReport], quiet: bool) -> IndexReport:
    """`run` with a progress bar on stderr (with `quiet`: one plain progress line per step on stdout)."""
    from tqdm import tqdm

    bar = tqdm(total=0, unit="file", disable=quiet, file=sys.stderr, dynamic_ncols=True)

    def on_progress(state: IndexProgress) -> None:
        bar.total = state.files_total
        bar.n = state.files_done
        bar.set_postfix_str(f"{state.chunks_embedded} chunks · {Path(state.current_file).name}"[:60])
        if quiet:
            print(f"progress files={state.files_done}/{state.files_total} chunks={state.chunks_embedded}", flush=True)

    try:
        return run(on_progress)
    except KeyboardInterrupt:
        raise Interrupted("interrupted; the library keeps every file finished so far, rerun to resume") from None
    finally:
        bar.close()


def _print_report(report: IndexReport, folder: Path | str) -> None:
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
    _print_issues("Indexed in part", report.partial)
    for root in report.kept_roots():
        command = f"footnotes forget {shlex.quote(root.path)}"
        held = f"; its {root.documents} file(s) stay in the library ({command} removes them)" if root.documents else ""
        if root.worth_saying:
            print(f"  {root.why}: {root.path}{held}")
    if report.cancelled:
        print("Cancelled: finished files are kept; rerun to resume.")
    print(f"Library: {folder}")


def _log_report(report: IndexReport, folder: Path | str) -> None:
    """Every failure and skip with its reason (paths, never contents), then the run's totals."""
    for issue in report.failed:
        logger.warning("index failed: %s: %s (%s)", issue.path, issue.reason, issue.kind)
    for issue in report.skipped:
        logger.info("index skipped: %s: %s (%s)", issue.path, issue.reason, issue.kind)
    for issue in report.partial:
        logger.info("indexed in part: %s: %s", issue.path, issue.reason)
    for root in report.kept_roots():
        logger.info("index skipped: %s: %s, %d file(s) kept", root.path, root.why, root.documents)
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


def cmd_forget(args: argparse.Namespace) -> int:
    """Remove folders and files from the library on purpose, whether or not they are on this computer: the
    documents under them go, and a refresh no longer looks for them (it keeps what a missing folder held)."""
    paths = [Path(p).expanduser().absolute() for p in args.paths]
    with open_engine(args) as engine:
        roots = engine.roots()
        removed = engine.forget(paths)
        remaining = engine.roots()
        location = engine.location
    forgotten = [p for p in paths if any(lies_under(str(r), str(p)) for r in roots + [Path(r) for r in removed])]
    if not forgotten:
        raise UsageError(f"the library holds nothing under {', '.join(map(str, paths))}; check the path")
    if removed:
        print(f"Removed {len(removed)} file(s):")
        for path in removed:
            print(f"  {path}")
    for path in paths:
        count = sum(lies_under(r, str(path)) for r in removed)
        logger.info("forget %s: %d document(s) removed", path, count)
        if path not in forgotten:
            print(f"Nothing indexed under {path}.")
            continue
        outer = next((r for r in remaining if lies_under(str(path), str(r))), None)
        after = "a refresh no longer looks for it"
        if outer is not None and path.exists():
            after = f"it lies in {outer}, still indexed, so a refresh reads it again"
        print(f"Forgot {path}: {count} file(s) removed; {after}.")
    print(f"Library: {location}")
    return 0


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
    with open_engine(args, must_exist=False) as engine:
        report = engine.index([path], passwords={str(path): password}, status=_say)
        _print_report(report, engine.location)
    if report.indexed or report.reused or report.unchanged:
        return 0
    issue = next(iter(report.failed + report.skipped), None)
    if issue is not None and issue.kind == IssueKind.LOCKED:
        raise Locked(f"{issue.reason}; run footnotes unlock {path.name} again with the right password")
    reason = issue.reason if issue else "nothing was indexed"
    raise FileProblem(f"{path.name}: {reason}; check the file")


def cmd_status(args: argparse.Namespace) -> int:
    """Print what the library holds."""
    with open_engine(args) as engine:
        stats = engine.stats()
        print(f"Library:    {engine.location}")
        print(f"Documents:  {stats.documents} indexed, {stats.failed} failed")
        print(f"Pages:      {stats.pages}")
        print(f"Chunks:     {stats.chunks}")
        print(f"Embedder:   {stats.embedder or '-'} ({stats.dim or '-'} dimensions)")
        print(f"Index:      {stats.index_kind}")
        print(f"Disk:       {stats.disk_bytes / 1048576:.1f} MB")
        failures = [d for d in engine.catalogue() if d.status == "failed"]
        for doc in failures:
            print(f"  failed: {doc.path}: {doc.error}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    """Print the passages the answering retriever finds for a query (hybrid, dense or keyword)."""
    top_k = user_settings(args).retrieval.top_k
    engine = open_engine(args)
    try:
        scope = parse_scope(args, engine.store)
        hits = engine.search(args.query, scope=scope, mode=args.mode, include_noncontent=True, status=_say)
    finally:
        engine.close()
    logger.info(
        "search %s (%s, top %d): %d hit(s)",
        redact(args.query, debug_logging(), "query"),
        args.mode,
        top_k,
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


def cmd_check(args: argparse.Namespace) -> int:
    """Check the library's integrity; exit 1 when a problem is found."""
    with open_engine(args) as engine:
        problems = engine.check()
    for problem in problems:
        print(f"problem: {problem}")
        logger.warning("check: %s", problem)
    print("Library is sound." if not problems else f"{len(problems)} problem(s) found.")
    return 1 if problems else 0


def cmd_doctor(args: argparse.Namespace) -> int:
    """Report what this installation has and lacks; exit 1 when something essential is missing."""
    from app.core.doctor import run_doctor

    embedder = Path(args.embedder) if args.embedder else None
    embedding = user_settings(args).embedder  # --embedder-url and its model
    return run_doctor(library_location(args), embedder, verify=args.verify, embedding=embedding)
