"""E-books, slides, spreadsheets, OpenDocument text and images: real files written with the same
libraries, read back with their locations (chapter, slide, sheet and rows, section, frame)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest
from ebooklib import epub
from odf.opendocument import OpenDocumentSpreadsheet, OpenDocumentText
from odf.table import Table, TableCell, TableRow
from odf.text import H, List, ListItem, P
from PIL import Image, ImageDraw, ImageFont
from pptx import Presentation
from pptx.util import Inches

from indexer.embedder import Embedder
from indexer.indexer import Indexer
from indexer.loaders import LoadError, load
from indexer.ocr import INSTALL_HINT
from indexer.store import Store


def make_epub(path: Path) -> Path:
    """A book with a nav page, two chapters in the TOC and a third known only by its heading."""
    book = epub.EpubBook()
    book.set_identifier("footnotes-test-book")
    book.set_title("Gardening by the Sea")
    book.set_language("en")
    chapters = []
    for number, (title, body) in enumerate(
        [
            ("Salt and Soil", "<h1>Salt and Soil</h1><p>Sea kale tolerates salty spray.</p>"),
            ("Windbreaks", "<h2>Windbreaks</h2><p>Tamarisk hedges slow the gales.</p><p>Plant them in March.</p>"),
            ("", "<h1>Harvest Calendar</h1><p>Samphire is picked in July.</p>"),
        ],
        start=1,
    ):
        chapter = epub.EpubHtml(title=title or "x", file_name=f"text/ch{number}.xhtml", lang="en")
        chapter.content = f"<html><head><title>Gardening by the Sea</title></head><body>{body}</body></html>"
        book.add_item(chapter)
        chapters.append(chapter)
    book.toc = [
        epub.Link("text/ch1.xhtml", "Salt and Soil", "ch1"),
        epub.Link("text/ch2.xhtml#top", "Windbreaks", "ch2"),
    ]
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", *chapters]
    epub.write_epub(str(path), book)
    return path


def with_member(source: Path, target: Path, name: str, data: str) -> Path:
    """A copy of a ZIP package with one more member."""
    target.write_bytes(source.read_bytes())
    with zipfile.ZipFile(target, "a") as archive:
        archive.writestr(name, data)
    return target


ENCRYPTION_XML = """<?xml version="1.0"?>
<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" xmlns:enc="http://www.w3.org/2001/04/xmlenc#">
  <enc:EncryptedData><enc:EncryptionMethod Algorithm="{algorithm}"/>
    <enc:CipherData><enc:CipherReference URI="EPUB/text/ch1.xhtml"/></enc:CipherData></enc:EncryptedData>
</encryption>"""


def make_pptx(path: Path) -> Path:
    """Slide 1: a title, a bullet body, a table, a grouped text box and speaker notes; slide 2: no title."""
    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "Quarterly Review"
    slide.placeholders[1].text_frame.text = "Revenue rose in every region"
    table = slide.shapes.add_table(2, 2, Inches(1), Inches(4), Inches(4), Inches(1)).table
    for (row, column), text in {(0, 0): "Region", (0, 1): "Sales", (1, 0): "North", (1, 1): "42"}.items():
        table.cell(row, column).text = text
    group = slide.shapes.add_group_shape()
    group.shapes.add_textbox(Inches(6), Inches(6), Inches(2), Inches(1)).text_frame.text = "Grouped caption"
    slide.notes_slide.notes_text_frame.text = "Mention the new warehouse."
    blank = deck.slides.add_slide(deck.slide_layouts[6])
    blank.shapes.add_textbox(Inches(1), Inches(1), Inches(4), Inches(1)).text_frame.text = "Questions welcome"
    deck.save(str(path))
    return path


def make_xlsx(path: Path) -> Path:
    """Budget: a block at B2:D4 (a formula in D4, a two-line cell), a gap, a block at A7:B8; a second sheet."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Budget"
    for row in (["Item", "Cost", "Note"], ["Rent", 1200, "monthly\nin advance"], ["Total", 1200.0, None]):
        sheet.append([None, *row])
    sheet.insert_rows(1)
    sheet["D4"] = "=C3*2"
    sheet["A7"], sheet["B7"] = "Reviewed", True
    sheet["B8"] = 0.1 + 0.2
    book.create_sheet("Q1 Notes")["A1"] = "Ask the landlord about heating"
    book.save(str(path))
    # store the formula's result as Excel does when it saves (openpyxl writes formulas without one)
    return with_replaced(path, "xl/worksheets/sheet1.xml", "<f>C3*2</f><v></v>", "<f>C3*2</f><v>2400</v>")


def with_replaced(path: Path, member: str, old: str, new: str) -> Path:
    """Rewrite one member of a ZIP package in place, replacing `old` by `new`."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    text = members[member].decode()
    assert old in text
    members[member] = text.replace(old, new).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _ods_row(*values: str | float, repeated: int = 1) -> TableRow:
    row = TableRow(numberrowsrepeated=repeated) if repeated > 1 else TableRow()
    for value in values:
        if isinstance(value, float):
            cell = TableCell(valuetype="float", value=value)
            cell.addElement(P(text=f"{value:g}"))
        elif value:
            cell = TableCell(valuetype="string")
            cell.addElement(P(text=value))
        else:
            cell = TableCell()
        row.addElement(cell)
    return row


def make_ods(path: Path) -> Path:
    """Stock: rows 1-2, then 3 repeated empty rows, then rows 6-7 with a formula and its cached value;
    a trailing run of a million empty rows, as LibreOffice writes."""
    document = OpenDocumentSpreadsheet()
    table = Table(name="Stock")
    table.addElement(_ods_row("Fruit", "Boxes"))
    table.addElement(_ods_row("Apples", 12.0))
    table.addElement(_ods_row("", repeated=3))
    table.addElement(_ods_row("", "Pears", 7.0))
    total = TableRow()
    total.addElement(TableCell())
    label = TableCell(valuetype="string")
    label.addElement(P(text="Total"))
    formula = TableCell(valuetype="float", value=19, formula="of:=[.B2]+[.C6]")
    formula.addElement(P(text="19"))
    for cell in (label, formula):
        total.addElement(cell)
    table.addElement(total)
    table.addElement(_ods_row("", repeated=1_048_000))
    document.spreadsheet.addElement(table)
    document.save(str(path))
    return path


def make_odt(path: Path) -> Path:
    """A preamble, then two headed sections holding paragraphs, a list and a table."""
    document = OpenDocumentText()
    body = document.text
    body.addElement(P(text="Written for the allotment society."))
    body.addElement(H(outlinelevel=1, text="Installation"))
    body.addElement(P(text="Unpack the greenhouse kit on level ground."))
    steps = List()
    for step in ("Bolt the frame", "Fit the glass"):
        item = ListItem()
        item.addElement(P(text=step))
        steps.addElement(item)
    body.addElement(steps)
    body.addElement(H(outlinelevel=2, text="Usage"))
    table = Table(name="Temperatures")
    for row in (("Month", "Degrees"), ("May", "18")):
        table_row = TableRow()
        for value in row:
            cell = TableCell()
            cell.addElement(P(text=value))
            table_row.addElement(cell)
        table.addElement(table_row)
    body.addElement(table)
    document.save(str(path))
    return path


def _text_image(lines: list[str]) -> Image.Image:
    image = Image.new("RGB", (1400, 120 + 110 * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=64)
    for index, line in enumerate(lines):
        draw.text((60, 60 + 110 * index), line, fill="black", font=font)
    return image


def make_png(path: Path) -> Path:
    _text_image(["Invoice number 4417", "Total due seventy euros"]).save(path)
    return path


def make_tiff(path: Path) -> Path:
    first, second = _text_image(["First page about lighthouses"]), _text_image(["Second page about harbours"])
    first.save(path, save_all=True, append_images=[second])
    return path


def truncated(source: Path, target: Path) -> Path:
    """A copy cut in half, like an interrupted download."""
    data = source.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return target


# -- EPUB ---------------------------------------------------------------------------------------


def test_epub_chapters_in_spine_order_named_by_toc_or_heading(tmp_path: Path) -> None:
    document = load(make_epub(tmp_path / "book.epub"))
    assert [p.label for p in document.pages] == [
        "chapter 1 “Salt and Soil”",
        "chapter 2 “Windbreaks”",
        "chapter 3 “Harvest Calendar”",
    ]
    assert [p.number for p in document.pages] == [1, 2, 3]
    assert document.pages[1].text == "Windbreaks\n\nTamarisk hedges slow the gales.\n\nPlant them in March."
    assert "Gardening by the Sea" not in document.pages[0].text  # the <title> is the book's, not the chapter's
    assert document.extractor == "ebooklib"


def test_epub_with_drm_is_encrypted_but_font_obfuscation_is_not(tmp_path: Path) -> None:
    book = make_epub(tmp_path / "book.epub")
    drm = with_member(
        book,
        tmp_path / "drm.epub",
        "META-INF/encryption.xml",
        ENCRYPTION_XML.format(algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"),
    )
    with pytest.raises(LoadError) as caught:
        load(drm)
    assert caught.value.kind == "encrypted" and "DRM" in caught.value.reason
    fonts = with_member(
        book,
        tmp_path / "fonts.epub",
        "META-INF/encryption.xml",
        ENCRYPTION_XML.format(algorithm="http://www.idpf.org/2008/embedding"),
    )
    assert len(load(fonts).pages) == 3


# -- PowerPoint ---------------------------------------------------------------------------------


def test_pptx_slides_with_tables_groups_and_notes(tmp_path: Path) -> None:
    document = load(make_pptx(tmp_path / "deck.pptx"))
    first, second = document.pages
    assert (first.number, first.label) == (1, "slide 1 “Quarterly Review”")
    assert first.text.splitlines()[0] == "Quarterly Review"
    for expected in ("Revenue rose in every region", "Region | Sales\nNorth | 42", "Grouped caption"):
        assert expected in first.text
    assert first.text.endswith("Notes:\nMention the new warehouse.")
    assert (second.number, second.label, second.text) == (2, "slide 2", "Questions welcome")


# -- spreadsheets -------------------------------------------------------------------------------


def test_xlsx_blocks_of_rows_with_cached_formula_values(tmp_path: Path) -> None:
    document = load(make_xlsx(tmp_path / "budget.xlsx"))
    assert [(p.label, p.first_line, p.line_kind) for p in document.pages] == [
        ("Budget!B:D", 2, "rows"),
        ("Budget!A:B", 7, "rows"),
        ("'Q1 Notes'!A:A", 1, "rows"),
    ]
    rows = document.pages[0].text.split("\n")
    assert rows == ["Item | Cost | Note", "Rent | 1200 | monthly in advance", "Total | 1200 | 2400"]
    assert document.pages[1].text == "Reviewed | TRUE\n | 0.3"
    assert document.pages[2].text == "Ask the landlord about heating"
    assert document.notes == []


def test_ods_rows_keep_their_numbers_through_repeated_rows(tmp_path: Path) -> None:
    document = load(make_ods(tmp_path / "stock.ods"))
    assert [(p.label, p.first_line) for p in document.pages] == [("Stock!A:B", 1), ("Stock!B:C", 6)]
    assert document.pages[0].text == "Fruit | Boxes\nApples | 12"
    assert document.pages[1].text == "Pears | 7\nTotal | 19"
    assert document.extractor == "odfpy"


def test_a_huge_sheet_is_cut_with_a_note(tmp_path: Path) -> None:
    from indexer.loaders import sheets

    document = OpenDocumentSpreadsheet()
    table = Table(name="Log")
    table.addElement(_ods_row("event", "ok", repeated=sheets.MAX_CELLS))  # two cells a row: only half fit
    document.spreadsheet.addElement(table)
    document.save(str(tmp_path / "log.ods"))
    loaded = load(tmp_path / "log.ods")
    assert len(loaded.pages) == 1
    assert loaded.pages[0].text.count("\n") + 1 == sheets.MAX_CELLS // 2
    assert loaded.notes == [
        f"Only the first {sheets.MAX_CELLS:,} cells were read: sheet “Log” from row {sheets.MAX_CELLS // 2 + 1}"
        " on, and the sheets after it, are not indexed."
    ]


# -- OpenDocument text --------------------------------------------------------------------------


def test_odt_sections_by_heading(tmp_path: Path) -> None:
    document = load(make_odt(tmp_path / "guide.odt"))
    assert [(p.number, p.label) for p in document.pages] == [(1, "beginning"), (2, "§ Installation"), (3, "§ Usage")]
    assert document.pages[0].text == "Written for the allotment society."
    assert document.pages[1].text == (
        "Installation\n\nUnpack the greenhouse kit on level ground.\n\n- Bolt the frame\n- Fit the glass"
    )
    assert document.pages[2].text == "Usage\n\nMonth | Degrees\nMay | 18"


# -- images -------------------------------------------------------------------------------------


def test_png_is_read_by_ocr(tmp_path: Path) -> None:
    document = load(make_png(tmp_path / "invoice.png"))
    (page,) = document.pages
    assert page.label == "image"
    assert "Invoice number 4417" in page.text and "seventy euros" in page.text
    assert document.extractor == "tesseract"


def test_multipage_tiff_keeps_its_pages(tmp_path: Path) -> None:
    pages = load(make_tiff(tmp_path / "scan.tiff")).pages
    assert [(p.number, p.label) for p in pages] == [(1, ""), (2, "")]
    assert "lighthouses" in pages[0].text and "harbours" in pages[1].text


def test_image_without_text_or_without_tesseract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blank = tmp_path / "blank.png"
    Image.new("RGB", (400, 300), "white").save(blank)
    with pytest.raises(LoadError) as caught:
        load(blank)
    assert caught.value.kind == "no-text"
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH where no tesseract is found
    with pytest.raises(LoadError) as caught:
        load(make_png(tmp_path / "invoice.png"))
    assert caught.value.kind == "no-text" and INSTALL_HINT in caught.value.reason


# -- bad files and the whole pipeline -----------------------------------------------------------


def _good_files(folder: Path) -> list[Path]:
    return [
        make_epub(folder / "book.epub"),
        make_pptx(folder / "deck.pptx"),
        make_xlsx(folder / "budget.xlsx"),
        make_ods(folder / "stock.ods"),
        make_odt(folder / "guide.odt"),
        make_png(folder / "invoice.png"),
    ]


def test_truncated_and_locked_files_say_why(tmp_path: Path) -> None:
    for good in _good_files(tmp_path):
        with pytest.raises(LoadError) as caught:
            load(truncated(good, tmp_path / f"cut-{good.name}"))
        assert caught.value.kind == "corrupt", (good.name, caught.value.reason)
        assert caught.value.reason
    locked = tmp_path / "locked.xlsx"
    locked.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))  # what Excel writes with a password
    with pytest.raises(LoadError) as caught:
        load(locked)
    assert caught.value.kind == "encrypted" and "password" in caught.value.reason
    entry = '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"'
    with_replaced(
        make_odt(tmp_path / "locked.odt"),
        "META-INF/manifest.xml",
        f"{entry}/>",
        f'{entry}><manifest:encryption-data manifest:checksum="AAAA"/></manifest:file-entry>',
    )
    with pytest.raises(LoadError) as caught:
        load(tmp_path / "locked.odt")
    assert caught.value.kind == "encrypted" and "password" in caught.value.reason


def test_indexing_a_folder_of_every_type_accounts_for_every_file(tmp_path: Path, embedder: Embedder) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    good = _good_files(folder)
    bad = [truncated(path, folder / f"cut-{path.name}") for path in good]
    store = Store(tmp_path / "library")
    report = Indexer(store, embedder).run([folder])
    assert sorted(Path(p).name for p in report.indexed) == sorted(p.name for p in good)
    assert {Path(i.path).name: i.kind for i in report.failed} == {p.name: "corrupt" for p in bad}
    assert all(i.reason for i in report.failed)
    assert report.skipped == [] and report.missing == []
    texts = {hit.chunk.text for hit in store.search_keyword("samphire", 5)}
    assert any("Samphire is picked in July." in text for text in texts)
    rows = [hit.chunk.text for hit in store.search_keyword("landlord", 5)]
    assert rows == ["Ask the landlord about heating"]
    assert store.check() == []
