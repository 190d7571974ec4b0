"""Word documents (.docx) through python-docx: paragraphs and tables in reading order.

Runs a reader of the document does not see are left out (`indexer.loaders.hidden`): hidden text
(``w:vanish``, ``w:specVanish``), white text (or a colour that cannot be told from the page's colour)
without a highlight or shading behind it, and text under 2 points, whether set on the run, its
character style or its paragraph's style (each style with the styles it is based on).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, fields
from pathlib import Path

import docx
from docx.document import Document as WordDocument
from docx.enum.dml import MSO_THEME_COLOR
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.font import Font
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from indexer.loaders.errors import LoadError
from indexer.loaders.hidden import RGB, WHITE, faint, hidden_note, tiny, visible_chars
from indexer.types import Document, IssueKind, Page

_LIGHT_THEME_COLOURS = {MSO_THEME_COLOR.BACKGROUND_1, MSO_THEME_COLOR.LIGHT_1}
"""Theme colours that are white in Word's themes: text in them is white text."""


@dataclass(frozen=True)
class _Look:
    """How a run is shown, as far as seeing it goes; None where the run and its styles do not say."""

    vanish: bool | None = None
    colour: RGB | None = None
    size: float | None = None
    marked: bool | None = None
    """A highlight or a shading lies behind the text."""

    def over(self, beneath: _Look) -> _Look:
        """This look, with what it leaves unsaid taken from `beneath` (a style it is based on)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return _Look(**{name: getattr(beneath, name) if value is None else value for name, value in values.items()})


def _font_look(font: Font, rpr: object) -> _Look:
    """The look a run's or a style's font properties set (`rpr`: its ``w:rPr``, for shading)."""
    vanish = font.hidden or font.spec_vanish
    colour = None
    if font.color.type is not None:  # a theme colour, when set, is the one Word shows (``w:val`` is a fallback)
        if font.color.theme_color is not None:
            colour = WHITE if font.color.theme_color in _LIGHT_THEME_COLOURS else (0.0, 0.0, 0.0)
        elif font.color.rgb is not None:
            rgb = font.color.rgb
            colour = (rgb[0] / 255, rgb[1] / 255, rgb[2] / 255)
    shading = rpr.find(qn("w:shd")) if rpr is not None else None
    fill = shading.get(qn("w:fill"), "auto") if shading is not None else "auto"
    marked = True if font.highlight_color is not None or fill.lower() not in ("auto", "ffffff") else None
    return _Look(
        vanish=True if vanish else None,
        colour=colour,
        size=font.size.pt if font.size is not None else None,
        marked=marked,
    )


class _Visibility:
    """Tells the runs of one document a reader sees from those hidden."""

    def __init__(self, document: WordDocument) -> None:
        self._styles = {style.style_id: style for style in document.styles if style.style_id}
        self._looks: dict[str, _Look] = {}
        self.page = _page_colour(document)
        self.hidden_chars = 0

    def _style_look(self, style_id: str | None, depth: int = 0) -> _Look:
        """A style's look with the styles it is based on beneath it."""
        style = self._styles.get(style_id or "")
        if style is None or not hasattr(style, "font") or depth > 20:
            return _Look()
        if style_id not in self._looks:
            base = style.base_style.style_id if style.base_style is not None else None
            own = _font_look(style.font, style.element.rPr)
            self._looks[style_id] = own.over(self._style_look(base, depth + 1))
        return self._looks[style_id]

    def seen(self, run: Run, paragraph_style: str | None) -> bool:
        """True when a reader of the page sees the run."""
        rpr = run.element.rPr
        character_style = rpr.rStyle.val if rpr is not None and rpr.rStyle is not None else None
        look = _font_look(run.font, rpr).over(self._style_look(character_style))
        look = look.over(self._style_look(paragraph_style))
        if look.vanish or (look.size is not None and tiny(look.size)):
            return False
        return look.marked or look.colour is None or not faint(look.colour, self.page)

    def paragraph_text(self, paragraph: Paragraph) -> str:
        """The paragraph's text, less the runs a reader does not see (counted in `hidden_chars`)."""
        style = paragraph._p.style
        parts = []
        for item in paragraph.iter_inner_content():
            for run in [item] if isinstance(item, Run) else item.runs:
                if self.seen(run, style):
                    parts.append(run.text)
                else:
                    self.hidden_chars += visible_chars(run.text)
        return "".join(parts)


def _page_colour(document: WordDocument) -> RGB:
    """The page's colour (``w:background``), white when the document sets none."""
    background = document.element.find(qn("w:background"))
    value = background.get(qn("w:color"), "") if background is not None else ""
    if len(value) == 6:
        try:
            return (int(value[0:2], 16) / 255, int(value[2:4], 16) / 255, int(value[4:6], 16) / 255)
        except ValueError:
            pass
    return WHITE


def load_docx(path: Path) -> Document:
    """Load a .docx file as one page; table rows become tab-separated lines."""
    try:
        document = docx.Document(str(path))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise LoadError(IssueKind.CORRUPT, f"damaged Word file ({exc})") from exc
    visibility = _Visibility(document)
    blocks: list[str] = []
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            text = visibility.paragraph_text(item)
            if text.strip():
                blocks.append(text.strip())
        elif isinstance(item, Table):
            rows = [
                "\t".join("\n".join(map(visibility.paragraph_text, cell.paragraphs)).strip() for cell in row.cells)
                for row in item.rows
            ]
            blocks.append("\n".join(rows))
    text = "\n\n".join(blocks)
    if not text.strip():
        raise LoadError(IssueKind.EMPTY, "the document holds no text")
    notes = [hidden_note(visibility.hidden_chars)] if visibility.hidden_chars else []
    return Document(path=path, pages=[Page(number=1, text=text)], extractor="python-docx", notes=notes)
