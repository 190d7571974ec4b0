"""Reading hostile files safely: a time limit, crashes contained, locked PDFs, scans read by OCR."""

from __future__ import annotations

import io
import os
import signal
from pathlib import Path

import pytest
from conftest import FAQ_PDF, encrypt_pdf, faq_file, make_pdf

from indexer.embedder import Embedder
from indexer.indexer import Indexer
from indexer.loaders import LoadError
from indexer.ocr import tesseract_available
from indexer.sandbox import SandboxedLoader, SandboxSettings
from indexer.store import Store
from indexer.types import Page


def test_a_file_past_the_time_limit_is_skipped_and_the_next_one_reads(tmp_path: Path) -> None:
    small = make_pdf(tmp_path / "small.pdf", ["A short page about owls."])
    with SandboxedLoader(SandboxSettings(timeout_s=0.05)) as slow_limit:
        with pytest.raises(LoadError) as caught:
            slow_limit.load(faq_file(FAQ_PDF))  # 73 pages: some 0.4 s of PDFium, far more than 50 ms
        assert caught.value.kind == "timeout"
    with SandboxedLoader() as loader:
        assert "owls" in loader.load(small).pages[0].text


def test_a_parser_crash_costs_only_that_file(tmp_path: Path) -> None:
    small = make_pdf(tmp_path / "small.pdf", ["A short page about owls."])
    line = "Minutes of the parish council, read into the record in full and without abridgement. "
    big = make_pdf(tmp_path / "big.pdf", [f"Page {n}. " + line * 24 for n in range(800)])  # 1.7 MB of text
    with SandboxedLoader() as loader:
        loader.load(small)  # the child is up
        pages = loader.stream(big)
        assert isinstance(next(pages), Page)  # the child is reading the big file, and cannot have sent it all:
        os.kill(loader._process.pid, signal.SIGKILL)  # its pages are far more than the pipe holds
        with pytest.raises(LoadError) as caught:
            for _ in pages:
                pass
        assert caught.value.kind == "crashed"
        assert "owls" in loader.load(small).pages[0].text  # a fresh child took over


def test_a_locked_pdf_opens_with_its_password_which_is_never_stored(tmp_path: Path, embedder: Embedder) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    plain = make_pdf(tmp_path / "plain.pdf", ["Account statement.", "The balance on 1 March was 4,210 crowns."])
    locked = encrypt_pdf(plain, folder / "statement.pdf", user_password="hunter2-secret")
    store = Store(tmp_path / "lib")
    indexer = Indexer(store, embedder)
    first = indexer.run([folder])
    assert [(i.kind, Path(i.path).name) for i in first.failed] == [("locked", "statement.pdf")]
    wrong = indexer.run([folder], passwords={str(locked): "nope"})
    assert "does not open it" in wrong.failed[0].reason
    unlocked = indexer.run([folder], passwords={str(locked): "hunter2-secret"})
    assert [Path(p).name for p in unlocked.indexed] == ["statement.pdf"]
    assert [h.chunk.page for h in store.search_keyword("balance crowns", 3)] == [2]
    store.close()
    for file in (tmp_path / "lib").iterdir():  # catalogue, its WAL, the vector cache
        assert b"hunter2-secret" not in file.read_bytes(), file.name


@pytest.mark.skipif(not tesseract_available(), reason="Tesseract is not installed (apt install tesseract-ocr)")
def test_a_scanned_pdf_is_read_by_ocr_with_its_page_numbers(tmp_path: Path) -> None:
    from PIL import Image, ImageDraw, ImageFont
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    font_path = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    font = ImageFont.truetype(str(font_path), 48) if font_path.exists() else ImageFont.load_default(size=48)
    scan = tmp_path / "scan.pdf"
    pdf = canvas.Canvas(str(scan), pagesize=A4)
    for line in ("The cellar key hangs", "behind the blue door"):
        image = Image.new("L", (1654, 2339), 255)  # A4 at 200 dpi, one line of print
        ImageDraw.Draw(image).text((150, 300), line, fill=0, font=font)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        buffer.seek(0)
        pdf.drawImage(ImageReader(buffer), 0, 0, *A4)
        pdf.showPage()
    pdf.save()
    with SandboxedLoader() as loader:
        document = loader.load(scan)
    assert "tesseract" in document.extractor
    assert "cellar key" in document.pages[0].text.lower()
    assert "blue door" in document.pages[1].text.lower()
