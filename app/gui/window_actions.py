"""The window's menus, keyboard shortcuts, accessible names and tab order; the model's status; Help;
and how a failed job is shown."""

from __future__ import annotations

import itertools
import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QMenu, QMessageBox, QPushButton, QWidget

from app.core.embedders import where_embedded
from app.core.logs import app_version, log_dir
from app.gui.a11y import describe_control
from app.gui.workers import Failure, Job, background_pool

if TYPE_CHECKING:
    from app.gui.window import MainWindow

    _Base = MainWindow
else:
    _Base = object

log = logging.getLogger("footnotes.gui")
Keys = QKeySequence | QKeySequence.StandardKey | str | Qt.Key


class ActionsMixin(_Base):
    """Menus and shortcuts, accessibility, the model's status, Help, and failures."""

    def _action(self, menu: QMenu, text: str, slot: object, *keys: Keys) -> QAction:
        """A menu item with its shortcuts (a standard key first, where the platform has one)."""
        item = QAction(text, self)
        sequences = [QKeySequence(key) for key in keys]
        item.setShortcuts([s for s in sequences if not s.isEmpty()])
        item.triggered.connect(slot)
        menu.addAction(item)
        return item

    def _build_menus(self) -> None:
        """File, Chat, Library and Help menus; every action of the window is in one, with its key."""
        action, std = self._action, QKeySequence.StandardKey
        file_menu = self.menuBar().addMenu("&File")
        action(file_menu, "&New chat", self.new_chat, std.New)
        action(file_menu, "Add f&older…", self._choose_folder, std.Open)
        action(file_menu, "Add &files…", self._choose_files, "Ctrl+Shift+O")
        action(file_menu, "&Export chat…", self.export_chat, "Ctrl+E", std.Save)
        action(file_menu, "&Copy answer with sources", self.copy_answer, "Ctrl+Shift+C")
        file_menu.addSeparator()
        self.settings_action = action(file_menu, "&Settings…", self.open_settings, std.Preferences, "Ctrl+,")
        action(file_menu, "&Quit", self.close, std.Quit)
        chat_menu = self.menuBar().addMenu("&Chat")
        action(chat_menu, "&Ask a question", self.focus_question, "Ctrl+L")
        self.stop_action = action(chat_menu, "&Stop generating", self.stop_answer, Qt.Key.Key_Escape)
        self.stop_action.setEnabled(False)  # only while answering, so Esc closes find bars and menus otherwise
        action(chat_menu, "&Next citation", self.next_citation, "F8", "Ctrl+]")
        action(chat_menu, "&Previous citation", self.previous_citation, "Shift+F8", "Ctrl+[")
        action(chat_menu, "&Find in source", self.find_bar.open_bar, std.Find)
        action(chat_menu, "&Rename chat…", lambda: self._ask_rename_chat(self.chat_list.current_id() or ""), "F2")
        action(chat_menu, "&Delete chat…", lambda: self._ask_delete_chat(self.chat_list.current_id() or ""))
        action(chat_menu, "Search &chats", self.chat_list.search.setFocus, "Ctrl+Shift+F")
        library_menu = self.menuBar().addMenu("&Library")
        action(library_menu, "New c&ollection…", self._ask_new_collection)
        action(library_menu, "Re-index &library", lambda: self.index_paths([], force=True), std.Refresh)
        self.pause_action = action(library_menu, "&Pause indexing", self.toggle_pause, "Ctrl+Shift+P")
        self.pause_action.setEnabled(False)
        action(library_menu, "&Cancel indexing", self.cancel_indexing, "Ctrl+Shift+X")
        self.help_menu = self.menuBar().addMenu("&Help")
        self.log_action = action(self.help_menu, "Open &log folder", self.open_log_folder)
        self.about_action = action(self.help_menu, "&About Footnotes", self.show_about, std.HelpContents)

    def focus_question(self) -> None:
        """Put the cursor in the question box, its text selected."""
        self.query.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.query.selectAll()

    def _describe_controls(self) -> None:
        """Accessible names and descriptions of the controls the window's parts leave unnamed."""
        for widget, name, description in (
            (self.query, "Question", "Type a question about your files; Enter asks it"),
            (self.send_button, "Ask", "Ask the question (Enter)"),
            (self.stop_button, "Stop", "Stop generating the answer (Esc)"),
            (self.chat, "Conversation", "Questions and answers; F8 and Shift+F8 open the next and previous citation"),
            (self.chat_list.search, "Search chats", "Show only the chats whose text contains these words"),
            (self.chat_list.list, "Chats", "Saved chats, newest first; Enter opens one"),
            (self.viewer.open_button, "Open in system viewer", "Open the cited file in its own application"),
            (self.viewer.text_view, "Source text", "The cited page's text, the passage highlighted; Ctrl+F finds"),
            (self.viewer.page_area, "Source page", "The cited PDF page, the passage highlighted"),
            (self.pause_button, "Pause indexing", "Hold indexing after this batch; press again to resume"),
            (self.cancel_button, "Cancel indexing", "Stop indexing; files finished so far stay indexed"),
            (self.log_button, "Open log folder", "Show the folder with Footnotes' log, for a bug report"),
        ):
            describe_control(widget, name, description)
        chat_buttons = {"New": "Start a new chat", "Rename…": "Rename the chosen chat", "Delete…": "Delete it"}
        for button in self.chat_list.findChildren(QPushButton):
            text = button.text()
            describe_control(button, f"{text.rstrip('…')} chat", chat_buttons.get(text, text))
        self.chat.setTabChangesFocus(True)  # Tab leaves the conversation; F8 walks its citations
        self.viewer.text_view.setTabChangesFocus(True)

    def _set_tab_order(self) -> None:
        """Tab follows the layout: library, chats, conversation, question, source, status bar."""
        library, chats, guide, viewer = self.library, self.chat_list, self.guide, self.viewer
        chat_buttons = chats.findChildren(QPushButton)
        order: list[QWidget] = [
            library.collections,
            *[w for w in library.findChildren(QWidget) if w.accessibleName() == "Manage collections"],
            library.view,
            library.pause_button,
            library.cancel_button,
            library.problems,
            library.files_button,
            library.folder_button,
            chats.search,
            chats.list,
            *chat_buttons,
            guide.files_button,
            guide.folder_button,
            guide.sample_button,
            self.chat,
            self.query,
            self.send_button,
            self.stop_button,
            viewer.open_button,
            viewer.page_area,
            viewer.text_view,
            self.find_bar.field,
            self.find_bar.next_button,
            self.find_bar.close_button,
            self.pause_button,
            self.cancel_button,
            self.log_button,
        ]
        for first, second in itertools.pairwise(order):
            self.setTabOrder(first, second)

    # -- failures ---------------------------------------------------------------------------
    def show_failure(self, prefix: str, failure: Failure) -> None:
        """Say in the status bar why a job failed; an unexpected failure offers to open the log folder."""
        self.status_label.setText(f"{prefix}{failure.message}")
        self.log_button.setVisible(failure.unexpected)

    # -- the model --------------------------------------------------------------------------
    @property
    def warming(self) -> bool:
        """True while the background warm-up is loading the model."""
        return self._warm_job is not None and self._warm_job.running

    def start_model_warmup(self) -> None:
        """Load the embedder and the model in the background, so the first question does not wait for
        them; a question asked meanwhile waits for this same load. Closing the window does not wait."""
        if self.warming:
            return
        if self.engine.model_loaded:
            self._show_model_state()
            return
        engine = self.engine  # the job must not reach the window, which may be gone when it ends
        job = Job(lambda report, _cancel: engine.warm(report))
        job.signals.progress.connect(self._on_model_progress)
        job.signals.done.connect(self._on_model_ready)
        job.signals.failed.connect(self._on_model_failed)
        self._warm_job = job
        self._set_model_status(f"Model: loading {engine.model}…", "Loading the model in the background")
        job.start(background_pool())

    def _on_model_progress(self, message: object) -> None:
        if not self._closing:
            self.model_label.setToolTip(str(message))

    def _on_model_ready(self, description: object) -> None:
        log.info("model warmed up: %s", description)
        if not self._closing:
            self._show_model_state()

    def _on_model_failed(self, failure: Failure) -> None:
        log.warning("model warm-up failed: %s", failure.message)
        if not self._closing:
            self._set_model_status(
                "Model: failed to load", f"{failure.message}\nIt is tried again with the next question; see Settings."
            )

    def _show_model_state(self) -> None:
        """Say which model is ready, loading, or loaded with the first question."""
        description = self.engine.model_description()
        if description:
            self._set_model_status(f"Model: {description} ready", description)
        elif self.warming:
            self._set_model_status(f"Model: loading {self.engine.model}…", "Loading the model in the background")
        else:
            self._set_model_status(f"Model: {self.engine.model} (loads with the first question)")

    def show_server(self) -> None:
        """Say, all the time, when questions leave this process for a model server, and warn when they
        leave the machine."""
        server = self.engine.server
        self.server_label.setVisible(self.engine.backend == "server")
        model = server.model or "the server's model"
        if server.is_local:
            self.server_label.setText(f"Answers from {model} at {server.host} (local server)")
            self.server_label.setStyleSheet("")
        else:
            self.server_label.setText(f"Questions and passages are sent to {server.host} (remote server)")
            self.server_label.setStyleSheet("color: #b35900; font-weight: bold")
        text, leaves = where_embedded(self.engine.embedding) or ("", False)  # likewise for an embeddings server
        self.embedder_label.setVisible(bool(text))
        self.embedder_label.setText(text)
        self.embedder_label.setStyleSheet("color: #b35900; font-weight: bold" if leaves else "")

    def _set_model_status(self, text: str, tip: str = "") -> None:
        self.model_label.setText(text)
        self.model_label.setToolTip(tip)
        self.guide.set_model_status(text)

    # -- help -------------------------------------------------------------------------------
    def log_folder_url(self) -> QUrl:
        """What *Help > Open log folder* hands to the desktop."""
        return QUrl.fromLocalFile(str(log_dir()))

    def open_log_folder(self) -> None:
        """Show the log folder in the system's file manager."""
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
        self.status_label.setText(f"Log folder: {folder}")

    def about_text(self) -> str:
        """Version, model, backend and library, for *Help > About Footnotes*."""
        release = app_version()
        model = self.engine.model_description() or f"{self.engine.model} (not loaded yet)"
        return (
            f"Footnotes {release}\n"
            "Answers questions about your own files, with numbered citations; nothing leaves this computer.\n\n"
            f"Model: {model}\n"
            f"Backend: {self.engine.backend} · device: {self.engine.device}\n"
            f"Library: {self.engine.location}\n"
            f"Logs: {log_dir()}\n"
        )

    def show_about(self) -> None:
        """The About box."""
        QMessageBox.about(self, "About Footnotes", self.about_text())
