"""The status bar's message and its *Open log folder* button, shared by the window's controllers: what
each of them says, how a failed job is shown, and the log folder opened for a bug report."""

from __future__ import annotations

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QLabel, QPushButton

from app.core.logs import log_dir
from app.gui.workers import Failure


class StatusLine:
    """The status text (`label`) and the log button shown beside an unexpected failure."""

    def __init__(self, label: QLabel, log_button: QPushButton) -> None:
        self.label = label
        self.log_button = log_button
        log_button.clicked.connect(self.open_log_folder)
        log_button.clicked.connect(log_button.hide)

    @staticmethod
    def log_folder_url() -> QUrl:
        """What *Help > Open log folder* hands to the desktop."""
        return QUrl.fromLocalFile(str(log_dir()))

    def open_log_folder(self) -> None:
        """Show the log folder in the system's file manager."""
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
        self.say(f"Log folder: {folder}")

    def say(self, text: str) -> None:
        """Show `text` in the status bar."""
        self.label.setText(text)

    def fail(self, prefix: str, failure: Failure) -> None:
        """Say why a job failed; an unexpected failure offers to open the log folder."""
        self.label.setText(f"{prefix}{failure.message}")
        self.log_button.setVisible(failure.unexpected)
