"""What a question may draw on: the whole library, or only some of its folders and files."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from indexer.store import LibraryStore


@dataclass(frozen=True)
class Scope:
    """The whole library (nothing chosen), or the documents under `folders` plus the `files` chosen.

    Paths are absolute, as the catalogue stores them."""

    folders: tuple[str, ...] = ()
    files: tuple[str, ...] = ()

    @classmethod
    def of_paths(cls, paths: list[Path]) -> Scope:
        """A scope of files and folders as given on the command line (existing folders count as folders)."""
        absolute = [Path(p).expanduser().absolute() for p in paths]
        return cls(
            folders=tuple(str(p) for p in absolute if p.is_dir()),
            files=tuple(str(p) for p in absolute if not p.is_dir()),
        )

    @property
    def whole(self) -> bool:
        """True when nothing is chosen: the whole library."""
        return not self.folders and not self.files

    def contains(self, path: str) -> bool:
        """True when a document at `path` is in scope."""
        if self.whole or path in self.files:
            return True
        return any(path.startswith(folder.rstrip(os.sep) + os.sep) for folder in self.folders)

    def document_ids(self, store: LibraryStore) -> frozenset[int] | None:
        """The ids of the library's documents in scope; None for the whole library."""
        if self.whole:
            return None
        return frozenset(d.id for d in store.documents() if self.contains(d.path))

    def describe(self) -> str:
        """``whole collection`` or ``2 files, 1 folder``, for the window and the CLI."""
        if self.whole:
            return "whole collection"
        parts = [(len(self.files), "file"), (len(self.folders), "folder")]
        return ", ".join(f"{n} {word}{'s' if n != 1 else ''}" for n, word in parts if n)

    def to_dict(self) -> dict[str, list[str]]:
        """A JSON-ready form."""
        return {"folders": list(self.folders), "files": list(self.files)}

    @classmethod
    def from_dict(cls, data: dict | None) -> Scope:
        """The inverse of `to_dict`; anything missing means the whole library."""
        data = data or {}
        return cls(tuple(data.get("folders", ())), tuple(data.get("files", ())))
