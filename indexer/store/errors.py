"""What goes wrong with a library, in sentences a user can act on."""

from __future__ import annotations

import errno
from pathlib import Path


class StoreError(Exception):
    """The library cannot be opened or used as asked."""


class EmbedderMismatch(StoreError):
    """The library was built with another embedding model than the one offered."""


def embedder_mismatch(built: tuple[str, int], offered: tuple[str, int]) -> EmbedderMismatch:
    """The refusal of `offered` (name, dimension) by a library `built` with another embedder: which one
    built it, how to use that one again, and how to re-index with the one offered. Names with `` @ `` are
    embeddings servers (`indexer.remote_embedder`); the others are local models."""
    name, dim = built
    if " @ " in name:
        model, _, url = name.partition(" @ ")
        again = f"use that server again (--embedder-url {url} --embedder-model {model})"
    else:
        again = "use that local model again (no --embedder-url)"
    return EmbedderMismatch(
        f"this library was built with the embedder '{name}' ({dim} dimensions), not '{offered[0]}' "
        f"({offered[1]}), and their vectors cannot be compared; {again}, or re-index the library with the new "
        "one (footnotes index --reindex, which rebuilds it from the files) or choose another --library or --store"
    )


def explain_write_error(folder: Path, exc: BaseException) -> str:
    """A sentence a user can act on for a failed write; the library is unchanged by it."""
    message = str(exc).lower()
    if "full" in message or getattr(exc, "errno", None) == errno.ENOSPC:
        return f"the disk holding the library is full ({folder}); free some space and rerun: nothing was lost"
    if "readonly" in message or "read-only" in message or getattr(exc, "errno", None) in (errno.EROFS, errno.EACCES):
        return f"the library folder is read-only ({folder}); choose a writable --library: nothing was lost"
    return f"could not write to the library at {folder}: {exc}; nothing was lost"
