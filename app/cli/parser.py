"""The `footnotes` command line's arguments: index, forget, status, search, ask, chat, mcp, check, doctor
(`app.main` runs them; with no command, the window).

Global options (``--library``, ``--embedder``) work before or after the command. The settings flags
(``--model``, ``--top-k``, ``--chunk-tokens``, …) and ``--preset`` come from the declaration in
`app.core.settings`. The commands themselves live
in `app.cli.library` (the library) and `app.cli.answer` (answers).
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable
from typing import NoReturn

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from app.cli.answer import cmd_ask, cmd_chat
from app.cli.library import (
    SEARCH_MODES,
    cmd_check,
    cmd_collections,
    cmd_doctor,
    cmd_forget,
    cmd_index,
    cmd_search,
    cmd_status,
    cmd_unlock,
)
from app.core.logs import app_version
from app.core.settings import PRESETS_VALUES, add_arguments
from indexer.chunker import ChunkSettings
from indexer.library import default_library_dir
from indexer.scan import ScanSettings
from indexer.vectors import INDEX_KINDS
from rag.export import FORMATS

__all__ = ["build_parser"]

logger = logging.getLogger("footnotes.cli")

MODEL_SETTINGS = ("model", "server", "retrieval.top_k", "embedder")
"""The settings flags of the commands that answer (ask, chat, mcp)."""


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
    add_arguments(parser, ("store",))  # a shared library on PostgreSQL, in place of --library


def _settings_options(sub: argparse.ArgumentParser, paths: tuple[str, ...]) -> None:
    """``--preset`` and the flags of the settings under `paths` (see `app.core.settings.add_arguments`)."""
    sub.add_argument("--preset", choices=tuple(PRESETS_VALUES), help="start from a named preset's settings")
    add_arguments(sub, paths)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = _Parser(prog="footnotes", description="Answers from your own files, with footnotes.")
    parser.add_argument("--version", action="version", version=f"footnotes {app_version()}")
    _global_options(parser, suppress=False)
    common = _Parser(add_help=False)
    _global_options(common, suppress=True)
    commands = parser.add_subparsers(dest="command")

    def command(name: str, func: Callable[[argparse.Namespace], int] | None, helptext: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, parents=[common], help=helptext, description=helptext)
        sub.set_defaults(func=func)
        return sub

    index = command("index", cmd_index, "index files and folders")
    index.add_argument("paths", nargs="*", help="files or folders (default: refresh what was indexed before)")
    index.add_argument("--max-file-mb", type=float, default=ScanSettings.max_file_mb, help="skip larger files")
    add_arguments(index, ("retrieval.chunk_tokens", "embedder"))
    index.add_argument("--overlap-tokens", type=int, default=ChunkSettings.overlap_tokens)
    index.add_argument("--index-kind", choices=INDEX_KINDS, help="flat (exact), ivf (large libraries) or hnsw")
    index.add_argument("--reindex", action="store_true", help="discard the library's index and build it anew")
    index.add_argument("--quiet", action="store_true", help="plain progress lines instead of a bar")

    forget = command("forget", cmd_forget, "remove folders and files from the library, there or not")
    forget.add_argument("paths", nargs="+", metavar="PATH", help="folders or files indexed before")

    unlock = command("unlock", cmd_unlock, "index a password-protected PDF (the password is never stored)")
    unlock.add_argument("file")
    unlock.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add_arguments(unlock, ("embedder",))

    command("status", cmd_status, "what the library holds")

    search = command("search", cmd_search, "print the passages an answer would draw on")
    search.add_argument("query")
    _settings_options(search, ("retrieval.top_k", "embedder"))
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
        _settings_options(sub, MODEL_SETTINGS)
        sub.add_argument("--show-context", action="store_true", help="print how the context window is spent")
        sub.add_argument("--json", action="store_true", help="print the cited answer as JSON")
        sub.add_argument("--export", help=f"also write the answer to a file ({', '.join(FORMATS)})")

    mcp = command("mcp", None, "serve the library to another assistant over MCP (stdin and stdout)")
    _settings_options(mcp, MODEL_SETTINGS)

    command("check", cmd_check, "verify the library's integrity")

    collections = command("collections", cmd_collections, "list, create, rename or delete collections")
    collections.add_argument("action", nargs="?", choices=("list", "create", "rename", "delete"), default="list")
    collections.add_argument("names", nargs="*", help="create NAME, rename OLD NEW, delete NAME")
    collections.add_argument("--yes", action="store_true", help="confirm a delete")

    doctor = command("doctor", cmd_doctor, "report what this installation has and lacks")
    doctor.add_argument("--verify", action="store_true", help="also hash the bundled models (slow: about 1 GB read)")
    add_arguments(doctor, ("embedder",))  # an embeddings server to look at (--store is a global option)
    return parser
