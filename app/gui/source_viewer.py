"""The source pane: the cited file opened at the cited page, the passage highlighted (or, when the
answer knows it, just the sentence of the passage that supports the cited claim).

PDF pages are rendered with QtPdf and the passage is found in pdfium's own text of the page (it
differs from our extraction in whitespace and hyphens, so `app.gui.text_match.locate` matches letters
and digits); text, Markdown, HTML and Word sources show the stored page text with the span selected.
An attachment inside a mail has no file of its own: its stored text is shown, and the mail is what
"Open in system viewer" opens.
Invisible control characters (bidi overrides, zero-width spaces) are shown as visible marks.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QUrl
from PySide6.QtGui import QColor, QDesktopServices, QImage, QPainter, QPixmap, QTextCharFormat, QTextCursor
from PySide6.QtPdf import QPdfDocument
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.gui import theme
from app.gui.text_match import locate
from indexer.attachments import display_name, source_file
from indexer.types import Chunk

_INVISIBLE = {
    chr(c) for c in [0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0xFEFF, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
}


class Span(Protocol):
    """A stretch of a page's text (page coordinates), like `rag.citations.Evidence`."""

    char_start: int
    char_end: int
    text: str


def make_visible(text: str) -> tuple[str, list[int]]:
    """Text with invisible control characters spelled out (``⟦U+202E⟧``), and for each original
    index its index in the result (one extra entry for the end)."""
    out: list[str] = []
    positions: list[int] = []
    length = 0
    for char in text:
        positions.append(length)
        shown = f"⟦U+{ord(char):04X}⟧" if char in _INVISIBLE else char
        out.append(shown)
        length += len(shown)
    positions.append(length)
    return "".join(out), positions


class SourceViewer(QWidget):
    """Shows one cited passage in its file."""

    def __init__(self) -> None:
        super().__init__()
        self.title = QLabel("<b>Source</b>")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setWordWrap(True)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.open_button = QPushButton("Open in system viewer")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self._open_externally)
        self.page_label = QLabel()
        self.page_area = QScrollArea()
        self.page_area.setWidget(self.page_label)
        self.page_area.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.text_view = QPlainTextEdit()
        self.text_view.setReadOnly(True)
        self.empty = QLabel("Click a citation to see the passage in its file.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.stack = QStackedWidget()
        for widget in (self.empty, self.page_area, self.text_view):
            self.stack.addWidget(widget)
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.note)
        layout.addWidget(self.stack, 1)
        self._documents: dict[str, QPdfDocument] = {}
        self._path: Path | None = None
        self.current_page = 0
        self.highlighted_text = ""

    def show_chunk(self, chunk: Chunk, page_text: str | None, focus: Span | None = None) -> None:
        """Open the chunk's file at its page with the passage highlighted; with `focus`, only that
        span of the page (the supporting sentence) is highlighted."""
        carrier = _carrier(chunk.path)
        self._path = carrier or Path(chunk.path)  # an attachment opens its mail in the system viewer
        self.current_page = chunk.page
        self.highlighted_text = ""
        name = display_name(chunk.path) if carrier is not None else self._path.name
        self.title.setText(f"<b>{html.escape(name)}</b> · {html.escape(chunk.where)}")
        self.open_button.setEnabled(self._path.exists())
        self.note.clear()
        if focus is not None and not focus.text.strip():
            focus = None
        if self._path.suffix.lower() == ".pdf" and self._path.exists() and self._show_pdf(chunk, focus):
            return
        if carrier is not None:
            self.note.setText(f"This is an attachment of {display_name(str(carrier))}; showing its indexed text.")
        elif not self._path.exists():
            self.note.setText("The file is no longer at this path; showing the indexed text.")
        if page_text is None:
            page_text = chunk.text
            focus = None  # its coordinates are the page's, and the page is not at hand
        self._show_text(chunk, page_text, focus)

    # -- PDF --------------------------------------------------------------------------------
    def _document(self, path: Path) -> QPdfDocument | None:
        key = str(path)
        if key not in self._documents:
            document = QPdfDocument(self)
            document.load(key)
            if document.status() != QPdfDocument.Status.Ready:
                return None
            self._documents[key] = document
        return self._documents[key]

    def _show_pdf(self, chunk: Chunk, focus: Span | None) -> bool:
        document = self._document(Path(chunk.path))
        if document is None or not 1 <= chunk.page <= document.pageCount():
            return False
        index = chunk.page - 1
        points = document.pagePointSize(index)
        width = max(400, self.page_area.viewport().width() - 24)
        scale = width / points.width()
        image = _on_paper(document.render(index, QSize(int(points.width() * scale), int(points.height() * scale))))
        top = 0.0
        page = document.getAllText(index).text()
        span = locate(page, chunk.text)
        if focus is not None:
            span = _within(page, span, focus.text) or span
        if span is not None:
            selection = document.getSelectionAtIndex(index, span[0], span[1] - span[0])
            self.highlighted_text = selection.text()
            image = _paint_highlight(image, [p.boundingRect() for p in selection.bounds()], scale)
            top = selection.boundingRectangle().top() * scale
        else:
            self.note.setText("The passage could not be located on the rendered page; it is on this page.")
        self.page_label.setPixmap(QPixmap.fromImage(image))
        self.page_label.resize(image.size())
        self.stack.setCurrentWidget(self.page_area)
        self.page_area.verticalScrollBar().setValue(max(0, int(top) - 80))
        return True

    # -- text -------------------------------------------------------------------------------
    def _show_text(self, chunk: Chunk, page_text: str, focus: Span | None = None) -> None:
        shown, positions = make_visible(page_text)
        self.text_view.setPlainText(shown)
        start, end = chunk.char_start, chunk.char_end
        if page_text[start:end] != chunk.text:  # a merged or moved passage: find it by content
            found = locate(page_text, chunk.text)
            start, end = found if found else (0, 0)
        if focus is not None:
            if page_text[focus.char_start : focus.char_end] == focus.text:
                start, end = focus.char_start, focus.char_end
            else:
                start, end = _within(page_text, (start, end) if end > start else None, focus.text) or (start, end)
        cursor = QTextCursor(self.text_view.document())
        cursor.setPosition(positions[start])
        cursor.setPosition(positions[end], QTextCursor.MoveMode.KeepAnchor)
        selection = QTextEdit.ExtraSelection()
        selection.cursor = cursor
        text_format = QTextCharFormat()
        text_format.setBackground(QColor(theme.colors().highlight))  # opaque: the text is drawn over it
        selection.format = text_format
        self.text_view.setExtraSelections([selection])
        self.highlighted_text = page_text[start:end]
        self.text_view.setTextCursor(QTextCursor(cursor.document().findBlock(positions[start])))
        self.text_view.centerCursor()
        self.stack.setCurrentWidget(self.text_view)

    def _open_externally(self) -> None:
        if self._path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._path)))


def _carrier(path: str) -> Path | None:
    """The file that holds an attachment's virtual path (`indexer.attachments`); None for a file of its own."""
    source = source_file(path)
    return Path(source) if source != path and not Path(path).exists() else None


def _within(page: str, passage: tuple[int, int] | None, sentence: str) -> tuple[int, int] | None:
    """Where `sentence` is on the page: inside the passage's span when it is there, else anywhere."""
    if passage is not None:
        found = locate(page[passage[0] : passage[1]], sentence)
        if found is not None:
            return passage[0] + found[0], passage[0] + found[1]
    return locate(page, sentence)


def _on_paper(image: QImage) -> QImage:
    """The rendered page over white: pdfium leaves the paper transparent, which a dark theme shows as
    black text on a dark background."""
    paper = QImage(image.size(), QImage.Format.Format_ARGB32)
    paper.fill(QColor("white"))
    painter = QPainter(paper)
    painter.drawImage(0, 0, image)
    painter.end()
    return paper


def _paint_highlight(image: QImage, rects: list[QRectF], scale: float) -> QImage:
    """A copy of the page image with translucent marks over the passage's line boxes (page points)."""
    painted = image.convertToFormat(QImage.Format.Format_ARGB32)
    painter = QPainter(painted)
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Multiply)
    mark = theme.colors().page_highlight  # a PDF page is white paper in either theme
    for rect in rects:
        scaled = QRectF(QPointF(rect.left() * scale, rect.top() * scale), rect.size() * scale)
        painter.fillRect(scaled.adjusted(-2, -2, 2, 2), mark)
    painter.end()
    return painted
