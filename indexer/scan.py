"""Finding the files to index under the paths a user gave."""

from __future__ import annotations

import fnmatch
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from indexer.loaders import is_supported
from indexer.loaders.mail import is_mail_export_extra
from indexer.types import IssueKind

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
    kind: IssueKind
    reason: str


@dataclass
class ScanResult:
    """Files to index, files passed over, paths that do not exist, and folders that could not be listed."""

    files: list[Path] = field(default_factory=list)
    skipped: list[FileIssue] = field(default_factory=list)
    missing: list[Path] = field(default_factory=list)
    unreadable: list[Path] = field(default_factory=list)
    """Folders the system would not list (permissions, a share's I/O error): their files are unknown, not
    gone, so what the library holds under them is kept. Each is in `skipped` too, with the reason."""


def _ignored(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


def scan(paths: list[Path], settings: ScanSettings | None = None) -> ScanResult:
    """Walk files and folders (recursively, sorted), keeping supported files within the size limit."""
    settings = settings or ScanSettings()
    result = ScanResult()
    seen: set[Path] = set()
    for given in paths:
        path = Path(given).expanduser().absolute()
        if not os.path.exists(path):  # os.path's: False, not EACCES, for a path in a folder that may not be read
            result.missing.append(path)
            continue
        is_file = os.path.isfile(path)
        candidates = [(path, True)] if is_file else [(f, False) for f in _walk(path, settings.ignore, result)]
        for file, explicit in candidates:
            if file not in seen:
                seen.add(file)
                _consider(file, explicit, settings, result)
    return result


def _walk(folder: Path, ignore: tuple[str, ...], result: ScanResult) -> Iterator[Path]:
    """The files under a folder, sorted, but for ignored names and the extra files of a mail export; a
    folder that cannot be listed goes to `result.unreadable` (os.walk would pass over it in silence)."""

    def unreadable(error: OSError) -> None:
        where = Path(error.filename or folder)
        result.unreadable.append(where)
        reason = f"cannot list this folder ({error.strerror or error}); what the library holds from it is kept"
        result.skipped.append(FileIssue(str(where), IssueKind.UNREADABLE, reason))

    for root, dirnames, filenames in os.walk(folder, onerror=unreadable):
        dirnames[:] = sorted(d for d in dirnames if not _ignored(d, ignore))
        for name in sorted(filenames):
            file = Path(root) / name
            if not _ignored(name, ignore) and os.path.isfile(file) and not is_mail_export_extra(file):
                yield file


def _consider(path: Path, explicit: bool, settings: ScanSettings, result: ScanResult) -> None:
    """Keep a supported file within the size limit, else say why it is passed over (an unsupported file
    found in a folder only when its name is not ignored; one named by the user always)."""
    if not is_supported(path):
        if explicit or not _ignored(path.name, settings.ignore):
            suffix = path.suffix.lower() or "no extension"
            result.skipped.append(FileIssue(str(path), IssueKind.UNSUPPORTED, f"unsupported file type ({suffix})"))
        return
    try:
        size = path.stat().st_size
    except OSError as exc:  # listed, but the system will not tell about it (a folder readable, not searchable)
        result.skipped.append(FileIssue(str(path), IssueKind.UNREADABLE, f"cannot read it ({exc.strerror or exc})"))
        return
    if size > settings.max_file_mb * 1024 * 1024:
        reason = f"too large ({size / 1048576:.0f} MB; the limit is {settings.max_file_mb:.0f} MB, see --max-file-mb)"
        result.skipped.append(FileIssue(str(path), IssueKind.TOO_LARGE, reason))
        return
    result.files.append(path)


def content_hash(path: Path) -> str:
    """SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
