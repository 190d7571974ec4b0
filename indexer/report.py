"""What an index run tells: its progress, sent as it goes, and its report, returned at the end (the CLI,
the window and the MCP server say them to the user)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from indexer.attachments import lies_under
from indexer.scan import FileIssue


@dataclass
class IndexProgress:
    """A snapshot of a run for a progress bar; sent after every file and every embedded batch."""

    files_total: int = 0
    files_done: int = 0
    chunks_embedded: int = 0
    current_file: str = ""
    pages_read: int = 0
    """Pages of the current file parsed and chunked so far; its first chunks are embedded while it grows."""


@dataclass
class IndexReport:
    """What a run did."""

    indexed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    reclassified: list[str] = field(default_factory=list)
    """Unchanged files whose chunks' kinds (content, toc, index...) were set anew, without re-embedding."""
    removed: list[str] = field(default_factory=list)
    failed: list[FileIssue] = field(default_factory=list)
    skipped: list[FileIssue] = field(default_factory=list)
    partial: list[FileIssue] = field(default_factory=list)
    """Indexed files the loader passed over part of, one issue per note (`Document.notes`)."""
    missing: list[str] = field(default_factory=list)
    """Folders and files to index that were not found; what the library holds under them is kept."""
    empty: list[str] = field(default_factory=list)
    """Folders to index that are there but hold no file at all (the mount point of a drive not mounted
    looks so): what the library holds under them is kept, as for a missing one."""
    unreadable: list[str] = field(default_factory=list)
    """Folders under those indexed that the system would not list (permissions, a share's I/O error): what
    the library holds under them is kept, as for a missing one."""
    kept: list[str] = field(default_factory=list)
    """Documents kept because the folder or file they lie under was not found, could not be listed, or is
    an empty folder (an unplugged drive, a share not mounted, a colleague's folder in a shared library):
    only `forget` (``footnotes forget``, the window's *Remove from the library*) removes them."""
    chunks_embedded: int = 0
    pages: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    cancelled: bool = False

    def kept_roots(self) -> list[KeptRoot]:
        """The folders and files whose documents this run kept without seeing them (`missing`, `empty`,
        `unreadable`), each with why and how many of `kept` lie under it: what the CLI and the window say."""
        whys = (("not found", self.missing), ("empty folder", self.empty), ("unreadable folder", self.unreadable))
        return [
            KeptRoot(path, why, sum(lies_under(d, path) for d in self.kept)) for why, paths in whys for path in paths
        ]


@dataclass(frozen=True)
class KeptRoot:
    """A folder or file a run could not see whose documents stay in the library (`IndexReport.kept_roots`)."""

    path: str
    why: str
    """"not found", "empty folder" or "unreadable folder"."""
    documents: int
    """How many documents of the library lie under it (kept)."""

    @property
    def worth_saying(self) -> bool:
        """Whether a report names it: it kept documents, or was not there at all (an empty or unreadable
        folder that held nothing says nothing)."""
        return self.documents > 0 or self.why == "not found"


ProgressCallback = Callable[[IndexProgress], None]
