"""The first-run guide, shown in place of the conversation while the library is empty: how to add
files, a one-click sample library, and whether the model is ready."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget


class FirstRunGuide(QWidget):
    """Shown in place of the conversation while the library is empty: how to add files, a one-click
    sample library, and whether the model is ready."""

    add_files = Signal()
    add_folder = Signal()
    try_sample = Signal()

    def __init__(self) -> None:
        super().__init__()
        title = QLabel("<h2>Ask questions about your own files</h2>")
        title.setTextFormat(Qt.TextFormat.RichText)
        intro = QLabel(
            "Footnotes reads your documents and answers with numbered citations to the exact page. "
            "Everything stays on this computer.<br><br>"
            "<b>Drop files or folders anywhere on this window</b>, or add them:"
        )
        intro.setTextFormat(Qt.TextFormat.RichText)
        intro.setWordWrap(True)
        self.files_button = _button("Add files…", "Choose files to add to the library", self.add_files)
        self.folder_button = _button("Add folder…", "Choose a folder to add to the library", self.add_folder)
        adds = QHBoxLayout()
        adds.addWidget(self.files_button)
        adds.addWidget(self.folder_button)
        adds.addStretch(1)
        sample_note = QLabel(
            "New here? Try it first on three small sample files: an espresso machine's user guide (PDF), "
            "beekeeping notes and a travel log. They are indexed in seconds."
        )
        sample_note.setWordWrap(True)
        self.sample_button = _button(
            "Try the sample library", "Index the bundled sample files and ask questions about them", self.try_sample
        )
        font = QFont(self.sample_button.font())
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.sample_button.setFont(font)
        em = self.fontMetrics().height()  # sizes in text lines, not pixels: right at any scale and font size
        self.sample_button.setMinimumHeight(round(em * 2.4))
        self.sample_button.setStyleSheet(  # the palette's accent, so the button follows the theme
            "QPushButton { background-color: palette(highlight); color: palette(highlighted-text);"
            " border-radius: 0.35em; padding: 0.45em 1.3em; }"
            "QPushButton:disabled { background-color: palette(mid); }"
        )
        self.model_label = QLabel()
        self.model_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)  # muted in either theme
        self.model_label.setAccessibleName("Model status")
        self.model_label.setWordWrap(True)  # "Model: <file name> via transformers on cpu, …" is wider than the card
        card = QFrame()
        card.setMaximumWidth(em * 32)
        column = QVBoxLayout(card)
        column.setSpacing(12)
        for widget in (title, intro):
            column.addWidget(widget)
        column.addLayout(adds)
        column.addSpacing(10)
        column.addWidget(sample_note)
        column.addWidget(self.sample_button, 0, Qt.AlignmentFlag.AlignLeft)
        column.addSpacing(10)
        column.addWidget(self.model_label)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(card, 4)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)

    def set_indexing(self, indexing: bool) -> None:
        """Disable the buttons while files are being indexed."""
        for button in (self.files_button, self.folder_button, self.sample_button):
            button.setEnabled(not indexing)
        self.sample_button.setText("Indexing…" if indexing else "Try the sample library")

    def set_model_status(self, text: str) -> None:
        """Say which model is loading or ready."""
        self.model_label.setText(text)


def _button(text: str, description: str, signal: Signal) -> QPushButton:
    button = QPushButton(text)
    button.setAccessibleName(text.rstrip("…"))
    button.setAccessibleDescription(description)
    button.setToolTip(description)
    button.clicked.connect(signal)
    return button
