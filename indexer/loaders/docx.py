"""Word documents (.docx) through python-docx: paragraphs and tables in reading order."""

from __future__ import annotations

import zipfile
from pathlib import Path

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from indexer.loaders.errors import LoadError
from indexer.types import Document, IssueKind, Page


def load_docx(path: Path) -> Document:
    """Load a .docx file as one page; table rows become tab-separated lines."""
    try:
        document = docx.Document(str(path))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise LoadError(IssueKind.CORRUPT, f"damaged Word file ({exc})") from exc
    blocks: list[str] = []
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            if item.text.strip():
                blocks.append(item.text.strip())
        elif isinstance(item, Table):
            rows = ["\t".join(cell.text.strip() for cell in row.cells) for row in item.rows]
            blocks.append("\n".join(rows))
    text = "\n\n".join(blocks)
    if not text.strip():
        raise LoadError(IssueKind.EMPTY, "the document holds no text")
    return Document(path=path, pages=[Page(number=1, text=text)], extractor="python-docx")
