"""Virtual paths of files carried inside another file (a mail's attachments).

An attachment is indexed as its own document under its container's path, ``#``, its place in the
container, ``/`` and its file name: ``/mail/invoice.eml#2/report.pdf`` is the second attachment of
invoice.eml. In a mailbox the place names the message too: ``/mail/Inbox.mbox#14.1/report.pdf`` is the
first attachment of message 14. An attached mail's own attachments nest the same way
(``invoice.eml#1/forwarded.eml#1/table.docx``). Such a path does not exist on disk; its `source_file` does.
"""

from __future__ import annotations

import re
from pathlib import Path

_LAST = re.compile(r"#(\d+(?:\.\d+)?)/([^/]+)$")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]+")
CARRIERS = (".eml", ".mbox")
"""Extensions of the files that carry attachments (and a mail export's ``mbox`` file); after any other
path a ``#n/`` is part of an ordinary name (``Meeting #3/notes.txt``)."""
NAME_LIMIT = 120
"""Longest attachment file name kept in a path, in characters (the extension is kept)."""


def safe_name(name: str | None, fallback: str) -> str:
    """A file name usable as the last part of a virtual path: no folders, no control characters, not
    empty and not too long; `fallback` when nothing usable is left."""
    cleaned = _UNSAFE.sub("_", (name or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()
    if cleaned in ("", ".", ".."):
        return fallback
    if len(cleaned) > NAME_LIMIT:
        suffix = Path(cleaned).suffix[:16]
        cleaned = cleaned[: NAME_LIMIT - len(suffix)] + suffix
    return cleaned


def attachment_path(container: Path, place: str, name: str) -> Path:
    """The virtual path of the attachment at `place` (``2``, or ``14.1`` in a mailbox) named `name`."""
    return Path(f"{container}#{place}/{name}")


def attachment_prefix(container: str) -> str:
    """What the paths of every attachment of `container` (nested ones too) start with."""
    return f"{container}#"


def container_of(path: str) -> str | None:
    """The path of the file that carries this attachment, or None for a path that is not one."""
    match = _LAST.search(path)
    if match is None:
        return None
    container = Path(path[: match.start()])
    return str(container) if container.suffix.lower() in CARRIERS or container.name == "mbox" else None


def source_file(path: str) -> str:
    """The file on disk that holds `path`: the outermost container of an attachment, else `path` itself."""
    while (container := container_of(path)) is not None:
        path = container
    return path


def lies_under(path: str, root: str) -> bool:
    """True when the file that holds `path` (its `source_file`) is `root`, or lies in the folder `root`."""
    source = source_file(path)
    return source == root or source.startswith(root.rstrip("/") + "/")


def display_name(path: str) -> str:
    """A short name for a file or an attachment: ``report.pdf``, ``invoice.eml › report.pdf``."""
    names: list[str] = []
    while (container := container_of(path)) is not None:
        names.append(Path(path).name)
        path = container
    outer = Path(path)
    names.append(outer.parent.name if outer.name == "mbox" and outer.parent.suffix == ".mbox" else outer.name)
    return " › ".join(reversed(names))


def is_within(path: str, container: str) -> bool:
    """True when `path` is an attachment of `container`, directly or nested in another attachment."""
    while (outer := container_of(path)) is not None:
        if outer == container:
            return True
        path = outer
    return False
