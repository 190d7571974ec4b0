"""ZIP-based files (Office Open XML, OpenDocument, EPUB): turn a locked or damaged package into a clear
`LoadError` before a parser meets it and fails with a message no user can act on."""

from __future__ import annotations

import zipfile
from pathlib import Path

from indexer.loaders.errors import LoadError
from indexer.types import IssueKind

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""The first bytes of an OLE compound file: what Office writes instead of a ZIP when a password is set."""


def package_names(path: Path, what: str, required: str) -> list[str]:
    """The member names of a ZIP package; `what` names the format in messages (``PowerPoint file``) and
    `required` is a member every such file holds (``[Content_Types].xml``).

    Raises LoadError ``encrypted`` for a password-protected Office file, ``empty`` for an empty file, and
    ``corrupt`` for one that is not a complete ZIP archive (a truncated download, say) or lacks `required`.
    """
    with open(path, "rb") as handle:
        head = handle.read(len(OLE_MAGIC))
    if not head:
        raise LoadError(IssueKind.EMPTY, "the file is empty")
    if head == OLE_MAGIC:
        raise LoadError(
            IssueKind.ENCRYPTED,
            f"password-protected {what} (or an older format renamed): save it again without a password",
        )
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except zipfile.BadZipFile as exc:
        raise LoadError(IssueKind.CORRUPT, f"damaged {what}: it is not a complete ZIP archive") from exc
    if required not in names:
        raise LoadError(IssueKind.CORRUPT, f"not a valid {what}: the archive has no {required}")
    return names


def read_member(path: Path, name: str) -> bytes:
    """The bytes of one member of a ZIP package, or b"" when it has none by that name."""
    with zipfile.ZipFile(path) as archive:
        try:
            return archive.read(name)
        except KeyError:
            return b""
