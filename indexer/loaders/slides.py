"""PowerPoint presentations (.pptx) through python-pptx: one page per slide, its notes after its text."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pptx.shapes.base import BaseShape
from pptx.slide import Slide

from indexer.loaders.errors import LoadError
from indexer.loaders.package import package_names
from indexer.types import Document, IssueKind, Page


def _clean(text: str) -> str:
    """python-pptx marks line breaks inside a paragraph with a vertical tab; make them newlines."""
    return text.replace("\v", "\n").strip()


def _shape_texts(shapes: Iterable[BaseShape]) -> Iterator[str]:
    """The text of every shape in order, descending into groups; a table gives one line per row."""
    for shape in shapes:
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            yield from _shape_texts(shape.shapes)
        elif shape.has_text_frame:
            yield _clean(shape.text_frame.text)
        elif shape.has_table:
            rows = (" | ".join(" ".join(cell.text.split()) for cell in row.cells) for row in shape.table.rows)
            yield "\n".join(rows)


def _slide_title(slide: Slide) -> str:
    title = slide.shapes.title
    return " ".join(title.text_frame.text.split()) if title is not None and title.has_text_frame else ""


def _slide_text(slide: Slide) -> str:
    """A slide's shape texts, then its speaker notes under a ``Notes:`` line."""
    blocks = [text for text in _shape_texts(slide.shapes) if text]
    if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
        notes = _clean(slide.notes_slide.notes_text_frame.text)
        if notes:
            blocks.append(f"Notes:\n{notes}")
    return "\n\n".join(blocks)


def load_pptx(path: Path) -> Document:
    """Load a .pptx file, one `Page` per slide labelled ``slide N “Title”``."""
    package_names(path, "PowerPoint file", "[Content_Types].xml")
    presentation = Presentation(str(path))
    pages: list[Page] = []
    for number, slide in enumerate(presentation.slides, start=1):
        title = _slide_title(slide)
        label = f"slide {number} “{title}”" if title else f"slide {number}"
        pages.append(Page(number=number, text=_slide_text(slide), label=label))
    if not any(page.text for page in pages):
        raise LoadError(IssueKind.EMPTY, "the presentation holds no text")
    return Document(path=path, pages=pages, extractor="python-pptx")
