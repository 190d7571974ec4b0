"""Finding the files to index under the paths a user gave."""

from __future__ import annotations

import fnmatch
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from indexer.loaders import is_supported
from indexer.loaders.mail import is_mail_export_extra

DEFAULT_IGNORE = (".*", "__pycache__", "node_modules", "*.tmp", "~$*", "*.part", "*.crdownload")
"""Name patterns skipped while walking folders: hidden files and folders (``.git`` too), caches, partial downloads."""


@dataclass(frozen=True)
class ScanSettings:
    """Which files a scan picks up."""

    ignore: tuple[str, ...] = DEFAULT_IGNORE
    max_file_mb: float = 100.0


@dataclass(frozen=True)
class FileIssue:
    """A file that was skipped or failed, and why, in words a user can act on."""

    path: str
    kind: str
    reason: str


@dataclass
class ScanResult:
    """Files to index, files passed over, and paths that do not exist."""

    files: list[Path] = field(default_factory=list)
    skipped: list[FileIssue] = field(default_factory=list)
    missing: list[Path] = field(default_factory=list)


def _ignored(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


def scan(paths: list[Path], settings: ScanSettings | None = None) -> ScanResult:
    """Walk files and folders (recursively, sorted), keeping supported files within the size limit."""
    settings = settings or ScanSettings()
    result = ScanResult()
    seen: set[Path] = set()
    limit = settings.max_file_mb * 1024 * 1024

    def consider(path: Path, explicit: bool) -> None:
        if path in seen:
            return
        seen.add(path)
        if not is_supported(path):
            if explicit or not _ignored(path.name, settings.ignore):
                suffix = path.suffix.lower() or "no extension"
                result.skipped.append(FileIssue(str(path), "unsupported", f"unsupported file type ({suffix})"))
            return
        size = path.stat().st_size
        if size > limit:
            result.skipped.append(
                FileIssue(
                    str(path),
                    "too-large",
                    f"too large ({size / 1048576:.0f} MB; the limit is {settings.max_file_mb:.0f} MB,"
                    " see --max-file-mb)",
                )
            )
            return
        result.files.append(path)

    for given in paths:
        path = Path(given).expanduser().absolute()
        if not path.exists():
            result.missing.append(path)
        elif path.is_file():
            consider(path, explicit=True)
        else:
            for folder, dirnames, filenames in os.walk(path):
                dirnames[:] = sorted(d for d in dirnames if not _ignored(d, settings.ignore))
                for name in sorted(filenames):
                    if not _ignored(name, settings.ignore):
                        file = Path(folder) / name
                        if file.is_file() and not is_mail_export_extra(file):
                            consider(file, explicit=False)
    return result


def content_hash(path: Path) -> str:
    """SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
