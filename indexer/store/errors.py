"""What goes wrong with a library, in sentences a user can act on."""

from __future__ import annotations

import errno
from pathlib import Path

from usererrors import Todo, UserError


class StoreError(UserError):
    """The library cannot be opened or used as asked."""

    advice = Todo(
        "choose another --library, or run footnotes check on this one",
        "choose another library folder in Settings, or check this one from a terminal: footnotes check",
    )


NEWER_SCHEMA = Todo(
    "update Footnotes to the version that wrote it, or choose another --library or --store",
    "update Footnotes to the version that wrote it, or choose another library in Settings",
)
"""What to do about a library that a newer Footnotes wrote."""


def database_todo(url: str) -> Todo:
    """What to do about a library on a database server that failed (`url` without its password)."""
    return Todo(
        "check that the database server is running and reachable from this computer and that the URL is right "
        f"(footnotes doctor --store {url} looks at both, and at pgvector)",
        "check that the database server is running and reachable from this computer and that the URL in "
        f"Settings is right (in a terminal, footnotes doctor --store {url} looks at both, and at pgvector)",
    )


class EmbedderMismatch(StoreError):
    """The library was built with another embedding model than the one offered."""


def embedder_mismatch(built: tuple[str, int], offered: tuple[str, int]) -> EmbedderMismatch:
    """The refusal of `offered` (name, dimension) by a library `built` with another embedder: which one
    built it, how to use that one again, and how to re-index with the one offered. Names with `` @ `` are
    embeddings servers (`indexer.remote_embedder`); the others are local models."""
    name, dim = built
    if " @ " in name:
        model, _, url = name.partition(" @ ")
        again = Todo(
            f"use that server again (--embedder-url {url} --embedder-model {model})",
            f"use that server again (in Settings, Embeddings: {url}, model {model})",
        )
    else:
        again = Todo(
            "use that local model again (no --embedder-url)",
            "use that local model again (no embeddings server URL in Settings)",
        )
    return EmbedderMismatch(
        f"this library was built with the embedder '{name}' ({dim} dimensions), not '{offered[0]}' "
        f"({offered[1]}), and their vectors cannot be compared",
        Todo(
            f"{again.cli}, or re-index the library with the new one (footnotes index --reindex, which rebuilds it "
            "from the files) or choose another --library or --store",
            f"{again.window}, or choose another library folder in Settings (the window cannot rebuild this one "
            "with the new embedder yet: in a terminal, footnotes index --reindex does, from the files)",
        ),
    )


def write_failure(folder: Path, exc: BaseException) -> StoreError:
    """The error for a failed write, in a sentence a user can act on; the library is unchanged by it."""
    message = str(exc).lower()
    if "full" in message or getattr(exc, "errno", None) == errno.ENOSPC:
        return StoreError(
            f"the disk holding the library is full ({folder}); nothing was lost", "free some space and rerun"
        )
    if "readonly" in message or "read-only" in message or getattr(exc, "errno", None) in (errno.EROFS, errno.EACCES):
        return StoreError(
            f"the library folder is read-only ({folder}); nothing was lost",
            Todo("choose a writable --library", "choose a writable library folder in Settings"),
        )
    return StoreError(f"could not write to the library at {folder}: {exc}; nothing was lost")
