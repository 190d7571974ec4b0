"""Find in the source viewer's text: a small bar (Ctrl+F opens it; Enter / Shift+Enter: next / previous;
Esc closes it) over a QPlainTextEdit."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent, QTextDocument
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton, QWidget

from app.gui.a11y import describe_control


class FindField(QLineEdit):
    """The search text: Enter finds the next match, Shift+Enter the previous, Esc closes the bar."""

    def __init__(self, bar: FindBar) -> None:
        super().__init__(placeholderText="Find in source…")
        self._bar = bar

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._bar.find(backwards=bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier))
        elif event.key() == Qt.Key.Key_Escape:
            self._bar.close_bar()
        else:
            super().keyPressEvent(event)


class FindBar(QWidget):
    """Finds text in `view`, wrapping around; says when there is no match."""

    def __init__(self, view: QPlainTextEdit) -> None:
        super().__init__()
        self.view = view
        self.field = FindField(self)
        describe_control(self.field, "Find in source", "Text to find in the source; Enter: next, Shift+Enter: previous")
        self.next_button = QPushButton("Next")
        describe_control(self.next_button, "Find next", "Go to the next match in the source")
        self.next_button.clicked.connect(lambda: self.find())
        self.close_button = QPushButton("Close")
        describe_control(self.close_button, "Close find", "Close the find bar (Esc)")
        self.close_button.clicked.connect(self.close_bar)
        self.result = QLabel()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (self.field, self.next_button, self.close_button):
            row.addWidget(widget)
        row.addWidget(self.result)
        self.hide()

    def open_bar(self) -> None:
        """Show the bar with its text selected, ready to type."""
        self.show()
        self.field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.field.selectAll()

    def close_bar(self) -> None:
        """Hide the bar and give the focus back to the text."""
        self.hide()
        self.view.setFocus(Qt.FocusReason.OtherFocusReason)

    def find(self, backwards: bool = False) -> bool:
        """Select the next (or previous) match, wrapping around; False when there is none."""
        text = self.field.text()
        if not text:
            return False
        flags = QTextDocument.FindFlag.FindBackward if backwards else QTextDocument.FindFlag(0)
        found = self.view.find(text, flags)
        if not found:  # wrap around: from the other end
            cursor = self.view.textCursor()
            cursor.movePosition(cursor.MoveOperation.End if backwards else cursor.MoveOperation.Start)
            self.view.setTextCursor(cursor)
            found = self.view.find(text, flags)
        self.result.setText("" if found else "Not found")
        return found
