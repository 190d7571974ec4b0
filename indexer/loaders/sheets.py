"""Spreadsheets: Excel (.xlsx) through openpyxl, OpenDocument (.ods) through odfpy.

Each block of consecutive non-empty rows of a sheet is one page, one line per row (cells joined with
`` | ``), labelled with the sheet and its columns (``Budget!A:F``) and starting at the row number of its
first row, so a passage can be named ``Budget!A2:F40``. Formulas give their cached values.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import openpyxl
from odf import teletype
from odf.element import Element
from odf.namespaces import OFFICENS, TABLENS, TEXTNS
from odf.opendocument import load as load_odf
from openpyxl.utils import get_column_letter

from indexer.loaders.errors import LoadError
from indexer.loaders.opendoc import check_odf_password, odf_children, table_rows
from indexer.loaders.package import package_names
from indexer.types import Document, IssueKind, Page

MAX_CELLS = 1_000_000
"""Cells read per workbook (counted over each row's span of columns); the rest is left out, with a note."""
MAX_COLUMN = 16_384
"""The widest sheet Excel and LibreOffice make; a file claiming more is cut there."""

Row = tuple[int, dict[int, str]]
"""A non-empty row: its 1-based number and the text of its non-empty cells by 1-based column."""


@dataclass
class _Budget:
    """Cells a workbook may still spend, and the note saying where reading stopped."""

    cells_left: int = MAX_CELLS
    note: str = ""


def cell_text(value: object) -> str:
    """A cell value as one line of text: whole floats without ``.0``, dates in ISO form, no line breaks."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return f"{value:.15g}"
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return " ".join(str(value).split())


def _sheet_ref(name: str) -> str:
    """A sheet name as a reference writes it: quoted when it holds spaces or punctuation."""
    return name if re.fullmatch(r"[^\W\d]\w*", name) else "'" + name.replace("'", "''") + "'"


def _capped(sheet: str, rows: Iterable[Row], budget: _Budget) -> Iterator[Row]:
    """The non-empty rows of a sheet until the workbook's cell budget is spent."""
    for number, cells in rows:
        if not cells:
            continue
        cost = max(cells) - min(cells) + 1
        if cost > budget.cells_left:
            budget.note = (
                f"Only the first {MAX_CELLS:,} cells were read: sheet “{sheet}” from row {number} on,"
                " and the sheets after it, are not indexed."
            )
            return
        budget.cells_left -= cost
        yield number, cells


def _blocks(rows: Iterable[Row]) -> Iterator[list[Row]]:
    """Group rows into runs of consecutive row numbers."""
    block: list[Row] = []
    for row in rows:
        if block and row[0] != block[-1][0] + 1:
            yield block
            block = []
        block.append(row)
    if block:
        yield block


def _block_page(sheet: str, block: list[Row], number: int) -> Page:
    """One page for a block: a line per row over the block's columns, named ``Sheet!A:F`` from its first row."""
    low = min(min(cells) for _, cells in block)
    high = max(max(cells) for _, cells in block)
    lines = [" | ".join(cells.get(column, "") for column in range(low, high + 1)) for _, cells in block]
    label = f"{_sheet_ref(sheet)}!{get_column_letter(low)}:{get_column_letter(high)}"
    return Page(number=number, text="\n".join(lines), label=label, first_line=block[0][0], line_kind="rows")


def _workbook_document(path: Path, sheets: Iterable[tuple[str, Iterable[Row]]], extractor: str) -> Document:
    """Pages for the blocks of every sheet, in order, within the cell budget."""
    budget = _Budget()
    pages: list[Page] = []
    for name, rows in sheets:
        for block in _blocks(_capped(name, rows, budget)):
            pages.append(_block_page(name, block, len(pages) + 1))
        if budget.note:
            break
    if not pages:
        raise LoadError(IssueKind.EMPTY, "the workbook holds no data")
    return Document(path=path, pages=pages, extractor=extractor, notes=[budget.note] if budget.note else [])


def _xlsx_rows(values: Iterable[tuple[object, ...]]) -> Iterator[Row]:
    for number, row in enumerate(values, start=1):
        yield number, {column: text for column, value in enumerate(row, start=1) if (text := cell_text(value))}


def load_xlsx(path: Path) -> Document:
    """Load an Excel workbook, read-only and with formulas' cached values, one `Page` per block of rows."""
    package_names(path, "Excel file", "[Content_Types].xml")
    workbook = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
    try:
        sheets = []
        for sheet in workbook.worksheets:
            sheet.reset_dimensions()  # a stored size can be wrong; read the rows that are there
            sheets.append((sheet.title, _xlsx_rows(sheet.iter_rows(values_only=True))))
        return _workbook_document(path, sheets, "openpyxl")
    finally:
        workbook.close()


def _repeat(element: Element, attribute: str) -> int:
    return max(1, int(element.getAttrNS(TABLENS, attribute) or 1))


def _ods_cell_text(cell: Element) -> str:
    """What a cell shows (a formula's cached result included), or its typed value when it has no text."""
    shown = " ".join(teletype.extractText(p) for p in odf_children(cell, "p", "h", namespace=TEXTNS))
    for attribute in ("value", "date-value", "time-value", "boolean-value", "string-value"):
        if shown.strip():
            break
        shown = cell.getAttrNS(OFFICENS, attribute) or ""
    return " ".join(shown.split())


def _ods_cells(row: Element) -> dict[int, str]:
    cells: dict[int, str] = {}
    column = 1
    for cell in odf_children(row, "table-cell", "covered-table-cell"):
        repeat = _repeat(cell, "number-columns-repeated")
        text = _ods_cell_text(cell)
        for offset in range(min(repeat, MAX_COLUMN + 1 - column) if text else 0):
            cells[column + offset] = text
        column += repeat
        if column > MAX_COLUMN:
            break
    return cells


def _ods_rows(table: Element) -> Iterator[Row]:
    """Rows of one sheet; repeated empty rows are counted, never expanded."""
    number = 1
    for row in table_rows(table):
        repeat = _repeat(row, "number-rows-repeated")
        cells = _ods_cells(row)
        for offset in range(repeat if cells else 0):
            yield number + offset, cells
        number += repeat


def load_ods(path: Path) -> Document:
    """Load an OpenDocument spreadsheet, one `Page` per block of rows of each sheet."""
    package_names(path, "OpenDocument spreadsheet", "content.xml")
    check_odf_password(path, "OpenDocument spreadsheet")
    spreadsheet = load_odf(str(path)).spreadsheet
    if spreadsheet is None:
        raise LoadError(IssueKind.CORRUPT, "not a spreadsheet: the file holds no sheets")
    sheets = [(t.getAttrNS(TABLENS, "name") or "Sheet", _ods_rows(t)) for t in odf_children(spreadsheet, "table")]
    return _workbook_document(path, sheets, "odfpy")
