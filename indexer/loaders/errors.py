"""The one exception a loader raises: a file that cannot be read, with a reason a user can act on."""

from __future__ import annotations

from indexer.types import IssueKind
from usererrors import Todo, UserError


class LoadError(UserError):
    """A file could not be turned into text.

    `kind` says why, as an `IssueKind` (a plain string is converted, so a kind sent back by the sandbox's
    process stays one); `reason` is the sentence shown to the user.
    """

    advice = Todo("check the file, or leave it out")

    def __init__(self, kind: IssueKind | str, reason: str) -> None:
        super().__init__(reason)
        self.kind = IssueKind(kind)
        self.reason = reason
