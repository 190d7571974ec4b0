"""Loaders on real files: page numbers, encodings, markup, Word, and every kind of bad input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import docx
import pytest
from conftest import FAQ_PDF, encrypt_pdf, faq_file, make_pdf

from indexer.loaders import LoadError, load
from indexer.loaders import pdf as pdf_loader
from indexer.loaders.pdf import pdfium_text, text_damage

SAMPLE = "Café naïve, déjà vu; Ørsted’s façade."


def test_pdf_pages_keep_their_numbers(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "three.pdf", ["Alpha page talks of apples.", "Beta page: bananas.", "Gamma: cherries."])
    document = load(pdf)
    assert [p.number for p in document.pages] == [1, 2, 3]
    assert "bananas" in document.pages[1].text
    assert "cherries" in document.pages[2].text
    assert document.extractor == "pypdfium2"


def test_debian_faq_is_read_by_pdfium_with_the_words_pdfminer_finds() -> None:
    from pypdf import PdfReader

    raw = PdfReader(str(faq_file(FAQ_PDF))).pages[8].extract_text()
    assert "Thisdocumentgivesfrequentlyaskedquestions" in raw  # the pypdf defect pdfminer was once needed for
    document = load(faq_file(FAQ_PDF))
    assert document.extractor == "pypdfium2" and document.notes == []
    assert len(document.pages) == 73
    page = document.pages[8].text
    assert "This document gives frequently asked questions" in page
    assert "pointers to other docu-\nmentation will be given" in page  # PDFium's U+FFFE made "-" LF again
    miner = pdf_loader._Pdfminer(FAQ_PDF, None)
    try:
        assert page.split() == (miner.text(8) or "").split()  # the same words, in the same order
    finally:
        miner.close()
    text = "\n".join(p.text for p in document.pages)
    assert not {"\r", "\ufffe", "\x00"} & set(text)
    assert [w for w in text.split() if len(w) > 25 and w.isalpha()] == []  # no glued words left on any page


def test_pdfium_text_is_normalised_like_the_other_extractors() -> None:
    raw = "If applicable, pointers to other docu\ufffementation will be given.\r\nSecond line\rthird"
    assert pdfium_text(raw) == "If applicable, pointers to other docu-\nmentation will be given.\nSecond line\nthird"


PROSE = "The lighthouse keeper climbs the spiral stairs each evening to light the great lamp. " * 4


def _glue(marker: str) -> Callable[[str], str]:
    """A stand-in for `pdfium_text` that runs the words of pages holding `marker` together, as a damaged
    extraction would."""

    def glued(raw: str) -> str:
        text = pdfium_text(raw)
        return text.replace(" ", "") if marker in text else text

    return glued


def test_pdf_whose_pdfium_text_is_damaged_is_read_by_pdfminer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pdf = make_pdf(tmp_path / "glued.pdf", [PROSE, "Keeper's log " + PROSE])
    monkeypatch.setattr(pdf_loader, "pdfium_text", _glue("lighthouse"))
    document = load(pdf)
    assert document.extractor == "pdfminer.six"
    assert "The lighthouse keeper climbs the spiral stairs" in document.pages[1].text
    assert document.notes[0].startswith("pypdfium2 text was damaged (")
    assert document.notes[0].endswith("of characters on the first pages); read with pdfminer.six")


def test_one_damaged_page_is_rescued_by_pdfminer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pages = [f"Page {n}. {PROSE}" for n in range(1, 5)] + ["A storm broke the lantern glass. " + PROSE]
    pdf = make_pdf(tmp_path / "one-bad-page.pdf", pages)
    monkeypatch.setattr(pdf_loader, "pdfium_text", _glue("storm"))
    document = load(pdf)
    assert document.extractor == "pypdfium2+pdfminer.six"
    assert "A storm broke the lantern glass." in document.pages[4].text
    assert document.notes == ["pypdfium2 text was damaged on 1 of 5 pages; those read with pdfminer.six"]


def _pdf_with_hidden_text(path: Path) -> Path:
    """A page of prose with white, 1-point and invisible lines, and a picture with its text layer (invisible
    text over an image, as a scanner writes it), which is what the page shows and stays."""
    import io

    from PIL import Image
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=A4)
    pdf.drawString(50, 800, PROSE[:90])
    pdf.setFillColorRGB(1, 1, 1)
    pdf.drawString(50, 780, "WHITE-SECRET line.")
    pdf.setFillColorRGB(0, 0, 0)
    pdf.setFont("Helvetica", 1)
    pdf.drawString(50, 770, "TINY-SECRET line.")
    pdf.setFont("Helvetica", 12)
    for y, words, on_image in ((750, "MODE3-SECRET line.", False), (560, "Scanned words stay.", True)):
        if on_image:
            picture = io.BytesIO()
            Image.new("RGB", (400, 100), "white").save(picture, "PNG")
            picture.seek(0)
            pdf.drawImage(ImageReader(picture), 50, 520, 400, 100)
        text = pdf.beginText(50, y)
        text.setTextRenderMode(3)
        text.textLine(words)
        text.setTextRenderMode(0)
        pdf.drawText(text)
    pdf.showPage()
    pdf.save()
    return path


@pytest.mark.parametrize("damaged", [False, True], ids=["pdfium", "pdfminer"])
def test_pdf_text_no_reader_sees_is_left_out_by_either_extractor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damaged: bool
) -> None:
    if damaged:  # PDFium's text glued everywhere: pdfminer.six reads the file
        monkeypatch.setattr(pdf_loader, "pdfium_text", _glue(""))
    document = load(_pdf_with_hidden_text(tmp_path / "hidden.pdf"))
    text = document.pages[0].text
    assert document.extractor == ("pdfminer.six" if damaged else "pypdfium2")
    assert "lighthouse keeper" in text and "Scanned words stay." in text
    assert not any(secret in text for secret in ("WHITE-SECRET", "TINY-SECRET", "MODE3-SECRET"))
    assert document.notes[-1].startswith("50 characters of hidden text left out")  # 17 + 16 + 17, spaces aside


def test_pdf_pdfium_cannot_open_is_read_by_pypdf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pypdfium2

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise pypdfium2.PdfiumError("Failed to load document (PDFium: Data format error).")

    pdf = make_pdf(tmp_path / "odd.pdf", ["Alpha page talks of apples.", "Beta page: bananas."])
    monkeypatch.setattr(pypdfium2, "PdfDocument", refuse)
    document = load(pdf)
    assert document.extractor == "pypdf" and document.notes == []
    assert "bananas" in document.pages[1].text


def test_text_damage_measures_glued_words_and_spares_unspaced_scripts() -> None:
    assert text_damage("The quick brown fox jumps over the lazy dog. " * 5) < 0.01
    assert text_damage("Thequickbrownfoxjumpsoverthelazydog andthecatsleptinthewarmsun.") > 0.5
    assert text_damage("日本語の文章には単語の間に空白がありませんがそれは正常です。" * 3) == 0.0
    assert text_damage("\ufffd\ufffd (cid:12)(cid:13) abc") > 0.5


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("utf8.txt", SAMPLE.encode("utf-8")),
        ("bom.txt", b"\xef\xbb\xbf" + SAMPLE.encode("utf-8")),
        (
            "latin1.txt",
            ("Ein Bericht über Käse und Brötchen, sehr schön. " * 3 + "Café naïve façade").encode("latin-1"),
        ),
        ("utf16.txt", SAMPLE.encode("utf-16")),
        ("utf16le-nobom.md", SAMPLE.encode("utf-16-le")),
    ],
)
def test_text_encodings_read_correctly(tmp_path: Path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    text = load(path).pages[0].text
    assert "\ufeff" not in text
    assert "Café naïve" in text
    assert "façade" in text


def test_form_feeds_split_text_into_pages(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("# One\nfirst page\r\n\fsecond page\n")
    pages = load(path).pages
    assert [(p.number, p.text) for p in pages] == [(1, "# One\nfirst page\n"), (2, "second page\n")]


def test_html_keeps_visible_text_only(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>Trip notes</title><style>p{color:red}</style></head><body>"
        "<script>alert('x')</script><h1>Lisbon</h1><p>Tram&nbsp;28 &amp; pastéis.</p>"
        "<noscript>enable js</noscript><p>Second<br>line</p></body></html>"
    )
    text = load(path).pages[0].text
    assert text.startswith("Trip notes")
    assert "Lisbon" in text and "Tram 28 & pastéis." in text
    assert "Second\nline" in text
    for hidden in ("alert", "color:red", "enable js"):
        assert hidden not in text


def test_docx_paragraphs_and_tables(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_heading("Quarterly report", level=1)
    document.add_paragraph("Revenue grew by twelve percent.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Region", "Sales"
    table.cell(1, 0).text, table.cell(1, 1).text = "North", "42"
    path = tmp_path / "report.docx"
    document.save(str(path))
    text = load(path).pages[0].text
    assert text.index("Quarterly report") < text.index("Revenue grew") < text.index("North\t42")


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    good = make_pdf(tmp_path / "good.pdf", ["Some real text on a page."])
    corrupt = tmp_path / "corrupt.pdf"
    corrupt.write_bytes(good.read_bytes()[:400])
    binary = tmp_path / "binary.txt"
    binary.write_bytes(bytes(range(256)) * 20)
    empty = tmp_path / "empty.md"
    empty.write_bytes(b"")
    return {
        "corrupt": corrupt,
        "locked": encrypt_pdf(good, tmp_path / "locked.pdf", user_password="secret"),
        "binary": binary,
        "empty": empty,
        "no-text": make_pdf(tmp_path / "scan.pdf", ["", ""], image_only=True),
        "unsupported": tmp_path / "clip.mp4",
    }


def test_bad_files_raise_load_error_with_a_reason(tmp_path: Path) -> None:
    for kind, path in _bad_files(tmp_path).items():
        with pytest.raises(LoadError) as caught:
            load(path)
        assert caught.value.kind == kind, (path, caught.value.reason)
        assert caught.value.reason


def test_pdf_with_empty_user_password_opens_without_asking(tmp_path: Path) -> None:
    plain = make_pdf(tmp_path / "plain.pdf", ["Restricted printing but readable text."])
    locked = encrypt_pdf(plain, tmp_path / "owner-only.pdf", user_password="")
    assert "readable text" in load(locked).pages[0].text
