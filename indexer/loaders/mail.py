"""E-mail: single messages (.eml) and mailboxes (.mbox), their attachments loaded as files of their own.

A message becomes one page: a header block (From, To, Cc, Date, Subject, the attachments' names) and
its body (plain text preferred, else HTML reduced to its visible text). Each attachment of a type
Footnotes reads is written to a private temporary file and loaded by the loader for its type, and is
returned as an `Attachment` under a virtual path (`indexer.attachments`); one that cannot be read
carries its reason instead, so the message and the other attachments still index.

The loaders' registry (`indexer.loaders`), which holds this module's loaders, is the one that loads the
attachments: it hands itself in (`AnyFile`), so that this module does not import its own package.
"""

from __future__ import annotations

import hashlib
import mailbox
import mimetypes
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import cast

from indexer.attachments import attachment_path, safe_name
from indexer.loaders.errors import LoadError
from indexer.loaders.html import html_to_text
from indexer.loaders.text import decode_text
from indexer.types import Attachment, Document, IssueKind, Page

_HEADERS = ("From", "To", "Cc", "Date", "Subject")
_SUBJECT_LIMIT = 60
_PARSE_ERRORS = (ValueError, IndexError, TypeError, AttributeError, LookupError)
"""What the standard library's mail parsing raises on damaged headers and parts."""


@dataclass(frozen=True)
class AnyFile:
    """How a message's attachments are read: by the registry of every loader (`indexer.loaders`)."""

    is_supported: Callable[[Path], bool]
    """Whether Footnotes reads a file of this name's type."""
    load: Callable[[Path], Document]
    """The file loaded by the loader for its type (`LoadError` when it cannot be)."""


@dataclass
class _Message:
    """One parsed message: its page text and label, and the attachments it carries."""

    text: str
    subject: str
    sender: str
    day: str
    has_body: bool
    attachments: list[Attachment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def is_mailbox_file(path: Path) -> bool:
    """True for the ``mbox`` file inside an Apple Mail or Thunderbird export folder ``Name.mbox/``."""
    return path.name == "mbox" and path.parent.suffix.lower() == ".mbox"


def is_mail_export_extra(path: Path) -> bool:
    """True for a file beside the ``mbox`` in an export folder (Apple Mail's ``table_of_contents`` and
    ``Info.plist``): only the mail app reads those, so a scan passes them over without a word."""
    return path.name != "mbox" and path.parent.suffix.lower() == ".mbox" and (path.parent / "mbox").is_file()


def load_eml(path: Path, files: AnyFile) -> Document:
    """Load one message as one page, labelled ``message “Subject”``, with its attachments (read by `files`)."""
    message = _read(_parse(path.read_bytes()), path, "", files)
    if not message.has_body and not message.attachments:
        raise LoadError(IssueKind.EMPTY, "the message has no text and no attachments")
    page = Page(number=1, text=message.text, label=f"message “{message.subject}”")
    return Document(path=path, pages=[page], extractor="email", notes=message.notes, attachments=message.attachments)


def load_mbox(path: Path, files: AnyFile) -> Document:
    """Load a mailbox, one page per message labelled ``message N “Subject” (From, date)``, with the
    attachments of every message (read by `files`)."""
    box = mailbox.mbox(path, create=False)
    try:
        pages: list[Page] = []
        attachments: list[Attachment] = []
        notes: list[str] = []
        for number, key in enumerate(box.keys(), start=1):
            message = _read(_parse(box.get_bytes(key)), path, f"{number}.", files)
            attachments += message.attachments
            notes += message.notes
            if message.has_body or message.attachments:
                pages.append(Page(number=number, text=message.text, label=_mbox_label(number, message)))
    finally:
        box.close()
    if not pages:
        raise LoadError(IssueKind.EMPTY, "the mailbox holds no messages with text or attachments")
    return Document(path=path, pages=pages, extractor="mbox", notes=notes, attachments=attachments)


def _parse(data: bytes) -> EmailMessage:
    return cast(EmailMessage, BytesParser(policy=policy.default).parsebytes(data))


def _mbox_label(number: int, message: _Message) -> str:
    details = ", ".join(part for part in (message.sender, message.day) if part)
    label = f"message {number} “{_short(message.subject, 40)}”"
    return f"{label} ({details})" if details else label


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _read(message: EmailMessage, container: Path, place: str, files: AnyFile) -> _Message:
    """The page text, label parts and attachments (read by `files`) of one message; `place` prefixes the
    attachments' places (``14.`` for message 14 of a mailbox)."""
    body_part = _body_part(message)
    body = _text_of(body_part) if body_part is not None else ""
    leaves = [p for p in _leaves(message) if p is not body_part and _is_attachment(p)]
    names = [safe_name(p.get_filename(), _fallback_name(p, n)) for n, p in enumerate(leaves, start=1)]
    headers = [f"{name}: {value}" for name in _HEADERS if (value := _header(message, name))]
    if names:
        headers.append(f"Attachments: {', '.join(names)}")
    result = _Message(
        text="\n".join(headers) + (f"\n\n{body}" if body else ""),
        subject=_short(_header(message, "Subject") or "(no subject)", _SUBJECT_LIMIT),
        sender=_sender(message),
        day=_day(message),
        has_body=bool(body),
    )
    with tempfile.TemporaryDirectory(prefix="footnotes-mail-") as folder:
        for n, (part, name) in enumerate(zip(leaves, names, strict=True), start=1):
            readable = _readable_name(part, name, files.is_supported)
            if readable is None:
                result.notes.append(f"attachment '{name}' passed over: its file type is not supported")
                continue
            scratch = Path(folder) / f"{n}{Path(readable).suffix.lower()}"
            virtual = attachment_path(container, f"{place}{n}", readable)
            result.attachments += _load_attachment(part, virtual, scratch, files.load)
    return result


def _header(message: EmailMessage, name: str) -> str:
    """A header's decoded value on one line, or the empty string when it is absent or unreadable."""
    try:
        value = message[name]
        return " ".join(str(value).split()) if value is not None else ""
    except _PARSE_ERRORS:
        return ""


def _sender(message: EmailMessage) -> str:
    """The sender's display name, else address, for a short label."""
    try:
        addresses = message["From"].addresses if message["From"] is not None else ()
    except _PARSE_ERRORS:
        addresses = ()
    if addresses:
        return _short(addresses[0].display_name or addresses[0].addr_spec, 30)
    return _short(_header(message, "From"), 30)


def _day(message: EmailMessage) -> str:
    """The message's date as YYYY-MM-DD, or the empty string."""
    try:
        when = message["Date"].datetime if message["Date"] is not None else None
    except _PARSE_ERRORS:
        when = None
    return when.strftime("%Y-%m-%d") if when is not None else ""


def _leaves(part: EmailMessage) -> list[EmailMessage]:
    """The non-multipart parts of a message in order; an attached message is one leaf."""
    if part.get_content_maintype() != "multipart":
        return [part]
    payload = part.get_payload()
    if not isinstance(payload, list):
        return []  # a damaged multipart without parts
    return [leaf for sub in payload if isinstance(sub, EmailMessage) for leaf in _leaves(sub)]


def _body_part(message: EmailMessage) -> EmailMessage | None:
    """The part holding the message's text: plain text preferred, else HTML."""
    try:
        part = message.get_body(preferencelist=("plain", "html"))
    except _PARSE_ERRORS:
        part = None
    if part is None:
        textual = [p for p in _leaves(message) if p.get_content_maintype() == "text" and not _is_attachment(p)]
        part = textual[0] if textual else None
    return part if isinstance(part, EmailMessage) and not _is_attachment(part) else None


def _is_attachment(part: EmailMessage) -> bool:
    """True for a part that is a file of its own: declared an attachment, named, or an attached message."""
    return part.is_attachment() or part.get_filename() is not None or part.get_content_type() == "message/rfc822"


def _text_of(part: EmailMessage) -> str:
    """A text part's content as the reader sees it: decoded, and HTML reduced to its visible text."""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError):
        content = None
    if not isinstance(content, str):
        raw = part.get_payload(decode=True)
        content = decode_text(raw) if isinstance(raw, bytes) else ""
    text = html_to_text(content) if part.get_content_subtype() == "html" else content
    return text.replace("\r\n", "\n").strip()


def _attached_message(part: EmailMessage) -> EmailMessage | None:
    """The message a ``message/rfc822`` part carries, else None."""
    if part.get_content_type() != "message/rfc822":
        return None
    inner = part.get_payload()
    return inner[0] if isinstance(inner, list) and inner and isinstance(inner[0], EmailMessage) else None


def _fallback_name(part: EmailMessage, number: int) -> str:
    """A name for an attachment that has none: an attached message by its subject, else by its place."""
    inner = _attached_message(part)
    subject = _header(inner, "Subject") if inner is not None else ""
    fallback = f"attachment-{number}{_suffix_for(part)}"
    return safe_name(subject.replace("/", "-").replace("\\", "-") + ".eml", fallback) if subject else fallback


def _payload(part: EmailMessage) -> bytes | None:
    """An attachment's bytes (an attached message as its full source); None when they cannot be decoded."""
    try:
        if part.get_content_type() == "message/rfc822":
            message = _attached_message(part)
            return message.as_bytes() if message is not None else None
        raw = part.get_payload(decode=True)
    except _PARSE_ERRORS:
        return None
    return raw if isinstance(raw, bytes) else None


def _suffix_for(part: EmailMessage) -> str:
    """The file extension its content type implies, for an attachment without a usable name."""
    if part.get_content_type() == "message/rfc822":
        return ".eml"
    return mimetypes.guess_extension(part.get_content_type()) or ""


def _readable_name(part: EmailMessage, name: str, is_supported: Callable[[Path], bool]) -> str | None:
    """The attachment's name with an extension Footnotes reads (its content type's when its own name has
    none: ``scan`` sent as a PDF becomes ``scan.pdf``), or None when Footnotes reads no file of its type."""
    if is_supported(Path(name)):
        return name
    implied = _suffix_for(part)
    return name + implied if implied and is_supported(Path(name + implied)) else None


def _load_attachment(
    part: EmailMessage, virtual: Path, scratch: Path, load: Callable[[Path], Document]
) -> list[Attachment]:
    """The attachment, written to `scratch`, loaded by `load` (the loader for its type), and any it carries
    in turn."""
    data = _payload(part)
    if data is None:
        return [
            Attachment(
                virtual, hashlib.sha256(b"").hexdigest(), 0, None, IssueKind.CORRUPT, "the attachment is damaged"
            )
        ]
    digest = hashlib.sha256(data).hexdigest()
    scratch.write_bytes(data)
    try:
        document = load(scratch)
    except LoadError as exc:
        if exc.kind == IssueKind.LOCKED:  # a password can only be given for a file on disk
            exc = LoadError(IssueKind.ENCRYPTED, "locked PDF attachment: save it from the mail and index it on its own")
        return [Attachment(virtual, digest, len(data), None, exc.kind, exc.reason)]
    finally:
        scratch.unlink(missing_ok=True)
    nested = [_rehome(a, scratch, virtual) for a in document.attachments]
    return [Attachment(virtual, digest, len(data), replace(document, path=virtual, attachments=[])), *nested]


def _rehome(attachment: Attachment, scratch: Path, virtual: Path) -> Attachment:
    """An attachment of an attached file, moved from under its scratch file's path to under `virtual`."""
    path = Path(str(virtual) + str(attachment.path)[len(str(scratch)) :])
    document = replace(attachment.document, path=path) if attachment.document is not None else None
    return replace(attachment, path=path, document=document)
