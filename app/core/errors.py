"""User errors as the front ends report them: the exit code of each kind, and the one line for each front
end (see `usererrors`).

On the command line a user error is printed as ``footnotes: error: <what happened>; <what to do>`` and
exits with the code of its kind, so scripts can tell "no library" from "wrong password"; the window shows
the same line worded for the window in its status bar; the MCP server returns it as a tool error. A user
error is a `UserError` (every layer raises its own subclasses) or an `OSError` (a path that does not
exist, a full disk); anything else is a programming error and keeps its traceback.
"""

from __future__ import annotations

import errno

from app.core.collections import CollectionError
from indexer.embedder import EmbedderError
from indexer.loaders.errors import LoadError
from indexer.store import StoreError
from llm.bundled import BundledModelError
from llm.openai_backend import ServerError
from rag.context import ContextOverflow
from usererrors import CLI, InvalidValue, UserError

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

_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EDQUOT})


class CliError(UserError):
    """An error of the command line itself, to print as one line before exiting with `exit_code`."""

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


class Locked(CliError):
    """A locked file that the password given (or none) does not open."""

    exit_code = LOCKED


class FileProblem(CliError):
    """A file that does not exist, is unsupported, or cannot be read."""

    exit_code = FILE


class Interrupted(CliError):
    """The user pressed Ctrl+C."""

    exit_code = INTERRUPTED


USER_ERRORS: tuple[type[BaseException], ...] = (UserError, OSError)
"""What a user can act on, for ``except USER_ERRORS as exc: show(describe(exc, front))`` in the CLI, the
window and the MCP server: every layer's `UserError` (a library that cannot be opened, a file that cannot
be read, a model or embedder not installed, a server that refuses, a value that cannot work, a question
too long for the window), and the operating system's `OSError` (a path that does not exist or cannot be
read, a full disk)."""


EXIT_CODES: dict[type[BaseException], int] = {
    InvalidValue: USAGE,
    ServerError: USAGE,  # a server URL or model that does not work
    CollectionError: USAGE,
    BundledModelError: MODEL,
    ContextOverflow: CONTEXT,
    LoadError: FILE,
    OSError: FILE,
    StoreError: STORE,
    EmbedderError: EMBEDDER,
}
"""Exit code of each kind of user error (a `CliError` carries its own `exit_code`)."""


def is_user_error(exc: BaseException) -> bool:
    """True when `exc` is reported in one line, not as a bug with its traceback."""
    return isinstance(exc, USER_ERRORS)


def exit_code(exc: BaseException) -> int:
    """The exit code of a user error's kind."""
    if isinstance(exc, CliError):
        return exc.exit_code
    if isinstance(exc, OSError) and exc.errno in _DISK_ERRNOS:
        return STORE
    return next((EXIT_CODES[kind] for kind in type(exc).__mro__ if kind in EXIT_CODES), GENERIC)


def describe(exc: BaseException, front: str = CLI) -> str:
    """One line: what happened; what to do, worded for `front` (`usererrors.CLI` or `usererrors.WINDOW`)."""
    if isinstance(exc, UserError):
        message = exc.told(front)
    elif isinstance(exc, OSError):
        message = _describe_os_error(exc, front)
    else:
        message = str(exc) or type(exc).__name__
    return " ".join(message.split())


def _describe_os_error(exc: OSError, front: str) -> str:
    what = exc.strerror or str(exc)
    where = f": {exc.filename}" if exc.filename else ""
    if exc.errno in _DISK_ERRNOS:
        choose = "choose a writable --library" if front == CLI else "choose a writable library folder in Settings"
        return f"{what}{where}; free some space, or {choose}"
    return f"{what}{where}; check the path and its permissions"
