"""What goes wrong with a library, in sentences a user can act on."""

from __future__ import annotations

import errno
from pathlib import Path


class StoreError(Exception):
    """The library cannot be opened or used as asked."""


class EmbedderMismatch(StoreError):
    """The library was built with another embedding model than the one offered."""


def explain_write_error(folder: Path, exc: BaseException) -> str:
    """A sentence a user can act on for a failed write; the library is unchanged by it."""
    message = str(exc).lower()
    if "full" in message or getattr(exc, "errno", None) == errno.ENOSPC:
        return f"the disk holding the library is full ({folder}); free some space and rerun: nothing was lost"
    if "readonly" in message or "read-only" in message or getattr(exc, "errno", None) in (errno.EROFS, errno.EACCES):
        return f"the library folder is read-only ({folder}); choose a writable --library: nothing was lost"
    return f"could not write to the library at {folder}: {exc}; nothing was lost"
