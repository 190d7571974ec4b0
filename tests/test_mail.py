"""E-mail end to end: .eml and .mbox loaded as messages, their attachments indexed as files of their own."""

from __future__ import annotations

import io
import mailbox
from email.message import EmailMessage
from pathlib import Path

import docx
import pytest
from conftest import make_pdf
from pytestqt.qtbot import QtBot

from app.gui.source_viewer import SourceViewer
from indexer.attachments import container_of, display_name, safe_name, source_file
from indexer.embedder import Embedder
from indexer.indexer import Indexer
from indexer.loaders import load
from indexer.scan import scan
from indexer.store import Store
from indexer.types import IssueKind

PDF_ONLY = "The turbine blades were inspected on the ninth of March and two cracks were found."
DOCX_ONLY = "The warranty covers corrosion of the hull for seven years."


def _message(subject: str, sender: str = "Alice Martin <alice@example.com>") -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "Bob Stone <bob@example.com>"
    message["Cc"] = "carol@example.com"
    message["Date"] = "Tue, 01 Oct 2024 10:00:00 +0000"
    message["Subject"] = subject
    return message


def _docx_bytes(text: str) -> bytes:
    document = docx.Document()
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _invoice(folder: Path, with_docx: bool = True) -> Path:
    """A mail with a two-page PDF report and (optionally) a Word attachment."""
    message = _message("Inspection report")
    message.set_content("Hello Bob,\nthe inspection report is attached.\n")
    pdf = folder.parent / "report.pdf"  # made once: reportlab stamps each new PDF with the time
    if not pdf.exists():
        make_pdf(pdf, ["Summary of the visit to the wind farm.", PDF_ONLY])
    message.add_attachment(pdf.read_bytes(), maintype="application", subtype="pdf", filename="report.pdf")
    if with_docx:
        message.add_attachment(
            _docx_bytes(DOCX_ONLY),
            maintype="application",
            subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
            filename="warranty.docx",
        )
    path = folder / "invoice.eml"
    path.write_bytes(message.as_bytes())
    return path


def _mail_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "mail"
    folder.mkdir()
    plain = _message("Garden plans")
    plain.set_content("Tomatoes need six hours of sun and deep watering twice a week.\n")
    (folder / "plain.eml").write_bytes(plain.as_bytes())
    html_only = _message("Newsletter", "News Desk <news@example.org>")
    html_only.set_content(
        "<html><head><style>p {color: red}</style></head><body><p>The <b>ferry</b> to Skye leaves at noon.</p>"
        "</body></html>",
        subtype="html",
    )
    (folder / "html.eml").write_bytes(html_only.as_bytes())
    _invoice(folder)
    broken = _message("Broken things")
    broken.set_content("Three files are attached; one of them is damaged.\n")
    truncated = make_pdf(tmp_path / "whole.pdf", ["A page that will be cut short."]).read_bytes()[:300]
    broken.add_attachment(truncated, maintype="application", subtype="pdf", filename="damaged.pdf")
    broken.add_attachment(b"\x00\x01binary", maintype="application", subtype="octet-stream", filename="blob.bin")
    broken.add_attachment("The spare key is under the blue flower pot.", filename="notes.txt")
    (folder / "broken.eml").write_bytes(broken.as_bytes())
    box = mailbox.mbox(folder / "archive.mbox")
    messages = [
        ("Boiler service", "The boiler was serviced and the pressure set to 1.5 bar."),
        ("Choir", "Rehearsal moves to Thursday."),
    ]
    for number, (subject, body) in enumerate(messages, start=1):
        message = _message(subject, f"Sender {number} <s{number}@example.com>")
        message.set_content(body)
        box.add(message)
    box.flush()
    box.close()
    export = folder / "Old inbox.mbox"
    export.mkdir()
    exported = mailbox.mbox(export / "mbox")
    message = _message("Exported mail")
    message.set_content("The lighthouse keeper retired in 1987.")
    exported.add(message)
    exported.flush()
    exported.close()
    return folder


@pytest.fixture
def mail(tmp_path: Path) -> Path:
    return _mail_folder(tmp_path)


def test_an_eml_is_one_page_with_its_headers_and_body(mail: Path) -> None:
    document = load(mail / "plain.eml")
    [page] = document.pages
    assert page.number == 1 and page.label == "message “Garden plans”"
    assert page.text == (
        "From: Alice Martin <alice@example.com>\nTo: Bob Stone <bob@example.com>\nCc: carol@example.com\n"
        "Date: Tue, 01 Oct 2024 10:00:00 +0000\nSubject: Garden plans\n\n"
        "Tomatoes need six hours of sun and deep watering twice a week."
    )
    assert document.attachments == []
    html_page = load(mail / "html.eml").pages[0]
    assert html_page.text.endswith("Subject: Newsletter\n\nThe ferry to Skye leaves at noon.")
    assert "<b>" not in html_page.text and "color" not in html_page.text


def test_a_mailbox_is_one_page_per_message(mail: Path) -> None:
    document = load(mail / "archive.mbox")
    assert [p.number for p in document.pages] == [1, 2]
    assert [p.label for p in document.pages] == [
        "message 1 “Boiler service” (Sender 1, 2024-10-01)",
        "message 2 “Choir” (Sender 2, 2024-10-01)",
    ]
    assert document.pages[0].text.endswith("The boiler was serviced and the pressure set to 1.5 bar.")
    assert [p.label for p in load(mail / "Old inbox.mbox" / "mbox").pages] == [
        "message 1 “Exported mail” (Alice Martin, 2024-10-01)"
    ]


def test_a_mail_without_text_or_attachments_is_empty(tmp_path: Path) -> None:
    empty = tmp_path / "empty.eml"
    empty.write_bytes(_message("Nothing").as_bytes())
    with pytest.raises(Exception, match="no text and no attachments") as raised:
        load(empty)
    assert getattr(raised.value, "kind", "") == "empty"


def test_attachments_are_loaded_as_files_of_their_own(mail: Path) -> None:
    document = load(mail / "invoice.eml")
    assert "Attachments: report.pdf, warranty.docx" in document.pages[0].text
    pdf, word = document.attachments
    assert pdf.path == Path(f"{mail / 'invoice.eml'}#1/report.pdf") and pdf.document is not None
    assert [p.number for p in pdf.document.pages] == [1, 2] and PDF_ONLY in pdf.document.pages[1].text
    assert word.path.name == "warranty.docx" and word.document is not None
    assert word.document.pages[0].text == DOCX_ONLY
    broken = load(mail / "broken.eml")
    assert [(a.path.name, a.error_kind) for a in broken.attachments] == [("damaged.pdf", "corrupt"), ("notes.txt", "")]
    assert broken.attachments[0].error and broken.attachments[0].document is None
    assert broken.notes == ["attachment 'blob.bin' passed over: its file type is not supported"]


def test_damaged_mime_is_read_as_far_as_it_goes(tmp_path: Path) -> None:
    path = tmp_path / "damaged.eml"
    path.write_bytes(
        b"From: =?utf-8?q?J=C3=BCrgen?= <j@example.com>\nSubject: Room change\nDate: not a date\n"
        b'Content-Type: multipart/mixed; boundary="XYZ"\n\n--XYZ\nContent-Type: text/plain; charset="x-made-up"\n\n'
        b"The meeting moved to room 4.\n--XYZ\nContent-Type: application/pdf\n"
        b'Content-Disposition: attachment; filename="cut.pdf"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK!!!\n'
    )
    document = load(path)
    assert document.pages[0].text == (
        "From: Jürgen <j@example.com>\nDate: not a date\nSubject: Room change\nAttachments: cut.pdf\n\n"
        "The meeting moved to room 4."
    )
    [attachment] = document.attachments
    assert attachment.path.name == "cut.pdf" and attachment.error_kind == "corrupt" and attachment.error


def test_a_forwarded_message_and_its_attachments_nest(tmp_path: Path) -> None:
    inner = _message("Original plan")
    inner.set_content("The bridge opens in May.")
    inner.add_attachment("Budget: 4 million.", filename="budget.txt")
    outer = _message("Fwd: Original plan")
    outer.set_content("See the message below.")
    outer.add_attachment(inner)
    path = tmp_path / "fwd.eml"
    path.write_bytes(outer.as_bytes())
    forwarded, budget = load(path).attachments
    assert forwarded.path == Path(f"{path}#1/Original plan.eml") and forwarded.document is not None
    assert forwarded.document.pages[0].text.endswith("The bridge opens in May.")
    assert budget.path == Path(f"{path}#1/Original plan.eml#1/budget.txt") and budget.document is not None
    assert budget.document.pages[0].text.strip() == "Budget: 4 million."


def test_an_attachment_without_an_extension_takes_its_content_types(tmp_path: Path) -> None:
    message = _message("Minutes")
    message.set_content("The minutes are attached.")
    message.add_attachment("Item 1: the roof is repaired in June.", filename="minutes")
    path = tmp_path / "minutes.eml"
    path.write_bytes(message.as_bytes())
    [attachment] = load(path).attachments
    assert attachment.path == Path(f"{path}#1/minutes.txt") and attachment.document is not None
    assert "the roof is repaired in June" in attachment.document.pages[0].text


def test_virtual_paths_name_their_mail() -> None:
    path = "/m/invoice.eml#1/forwarded.eml#2/table.docx"
    assert container_of(path) == "/m/invoice.eml#1/forwarded.eml"
    assert source_file(path) == "/m/invoice.eml"
    assert display_name(path) == "invoice.eml › forwarded.eml › table.docx"
    assert display_name("/m/Old inbox.mbox/mbox#3.1/a.pdf") == "Old inbox.mbox › a.pdf"
    assert container_of("/m/report.pdf") is None and container_of("/m/Meeting #3/notes.txt") is None
    assert display_name("/m/Meeting #3/notes.txt") == "notes.txt"
    assert safe_name("../../etc/passwd", "attachment-1") == "passwd"
    assert safe_name("  ", "attachment-1.pdf") == "attachment-1.pdf"


def test_scan_picks_up_a_mail_export_folder(mail: Path) -> None:
    (mail / "Old inbox.mbox" / "table_of_contents").write_bytes(b"\x00\x01index")
    (mail / "Old inbox.mbox" / "Info.plist").write_text("<plist/>")
    result = scan([mail])
    found = {p.relative_to(mail).as_posix() for p in result.files}
    assert found == {"plain.eml", "html.eml", "invoice.eml", "broken.eml", "archive.mbox", "Old inbox.mbox/mbox"}
    assert result.skipped == []


def test_a_folder_of_mail_indexes_messages_and_attachments(mail: Path, tmp_path: Path, embedder: Embedder) -> None:
    store = Store(tmp_path / "lib")
    report = Indexer(store, embedder).run([mail])
    invoice = str(mail / "invoice.eml")
    assert f"{invoice}#1/report.pdf" in report.indexed and f"{invoice}#2/warranty.docx" in report.indexed
    assert f"{mail / 'broken.eml'}#3/notes.txt" in report.indexed
    assert {str(mail / n) for n in ("plain.eml", "html.eml", "broken.eml", "archive.mbox")} <= set(report.indexed)
    assert str(mail / "Old inbox.mbox" / "mbox") in report.indexed
    [failure] = report.failed
    assert failure.path == f"{mail / 'broken.eml'}#1/damaged.pdf" and failure.kind == "corrupt" and failure.reason
    recorded = store.document(failure.path)
    assert recorded is not None and recorded.status == "failed" and recorded.error == failure.reason
    # The unsupported attachment is not lost in silence: the mail is reported as indexed in part.
    [partial] = report.partial
    assert partial.path == str(mail / "broken.eml") and partial.kind == IssueKind.PARTIAL
    assert partial.reason == "attachment 'blob.bin' passed over: its file type is not supported"

    pdf = store.document(f"{invoice}#1/report.pdf")
    assert pdf is not None and pdf.page_count == 2 and pdf.extractor
    assert PDF_ONLY in (store.page_text(pdf.id, 2) or "")
    word = store.document(f"{invoice}#2/warranty.docx")
    assert word is not None and store.page_text(word.id, 1) == DOCX_ONLY
    mbox = store.document(str(mail / "archive.mbox"))
    assert mbox is not None and mbox.page_count == 2

    hit = store.search_dense(embedder.embed(["When were the turbine blades inspected?"])[0], 1)[0]
    assert hit.chunk.path == f"{invoice}#1/report.pdf" and hit.chunk.page == 2
    assert PDF_ONLY in hit.chunk.text
    assert store.check() == []


def test_unchanged_mail_is_not_re_embedded_and_a_deleted_one_takes_its_attachments(
    mail: Path, tmp_path: Path, embedder: Embedder
) -> None:
    store = Store(tmp_path / "lib")
    indexer = Indexer(store, embedder)
    indexer.run([mail])
    again = indexer.run([mail])
    assert again.chunks_embedded == 0 and again.indexed == [] and again.removed == []
    (mail / "invoice.eml").unlink()
    report = indexer.run()
    invoice = str(mail / "invoice.eml")
    assert sorted(report.removed) == [invoice, f"{invoice}#1/report.pdf", f"{invoice}#2/warranty.docx"]
    assert store.search_keyword("turbine", 5) == [] and store.search_keyword("corrosion", 5) == []
    assert store.document(str(mail / "plain.eml")) is not None
    assert store.check() == []


def test_a_changed_mail_keeps_unchanged_attachments_and_drops_gone_ones(
    mail: Path, tmp_path: Path, embedder: Embedder
) -> None:
    store = Store(tmp_path / "lib")
    indexer = Indexer(store, embedder)
    indexer.run([mail])
    invoice = str(mail / "invoice.eml")
    pdf_before = store.document(f"{invoice}#1/report.pdf")
    _invoice(mail, with_docx=False)
    report = indexer.run([mail])
    assert report.indexed == [invoice]
    assert f"{invoice}#1/report.pdf" in report.unchanged and report.removed == [f"{invoice}#2/warranty.docx"]
    pdf_after = store.document(f"{invoice}#1/report.pdf")
    assert pdf_before is not None and pdf_after is not None and pdf_after.id == pdf_before.id
    assert store.search_keyword("corrosion", 5) == []
    assert store.check() == []


def test_the_source_viewer_shows_an_attachments_stored_text(
    qtbot: QtBot, mail: Path, tmp_path: Path, embedder: Embedder
) -> None:
    store = Store(tmp_path / "lib")
    Indexer(store, embedder).run([mail / "invoice.eml"])
    hit = store.search_keyword("turbine blades inspected", 1)[0]
    viewer = SourceViewer()
    qtbot.addWidget(viewer)
    viewer.show_chunk(hit.chunk, store.page_text(hit.chunk.doc_id, hit.chunk.page))
    assert viewer.stack.currentWidget() is viewer.text_view
    assert viewer.highlighted_text == hit.chunk.text and PDF_ONLY in viewer.highlighted_text
    assert "invoice.eml › report.pdf" in viewer.title.text()
    assert viewer.note.text() == "This is an attachment of invoice.eml; showing its indexed text."
    assert viewer.open_button.isEnabled()  # it opens the mail
