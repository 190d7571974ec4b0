"""The one exception a loader raises: a file that cannot be read, with a reason a user can act on."""

from __future__ import annotations


class LoadError(Exception):
    """A file could not be turned into text.

    `kind` is a short machine-readable category (``corrupt``, ``encrypted``, ``no-text``,
    ``empty``, ``binary``, ``unsupported``, ``too-large``); `reason` is the sentence shown to the user.
    """

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
