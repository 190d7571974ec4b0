"""The Footnotes window: library (left), conversation (centre), source (right).

A thin layer: every piece of work is a core call on Qt's thread pool (`app.gui.workers`), and the widgets
only show what those calls report through typed signals. While the library is empty the centre shows
a first-run guide (add files, or try the bundled sample library); the model loads in the background
from the start; and each answer first shows the passages it is read from, then streams in beneath them.

`MainWindow` builds the widgets and composes the controllers that own the behaviour, each given its
widgets and the Engine, each owning its jobs' state, telling the others through signals:
`IndexingController` (adding files, indexing with progress and pause, the library listing, watching
folders), `AnswerController` (asking, streaming, citations and sources, export), `ChatsController`
(saved chats, scope, collections and their engines), `ModelController` (warm-up, model and server
status); `build_menus` makes the menus over them. The window itself keeps the layout, the saved state,
the settings and closing.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt, QThreadPool
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.collections import Collections, default_collections_dir, remember_choice
from app.core.engine import Engine
from app.core.settings import Settings, save_settings
from app.gui.a11y import describe_control
from app.gui.answers import AnswerController
from app.gui.chat_list import ChatList
from app.gui.chat_view import ChatView
from app.gui.chats import ChatsController
from app.gui.context_meter import ContextMeter
from app.gui.find_bar import FindBar
from app.gui.first_run import FirstRunGuide
from app.gui.indexing import SAMPLE_DIR, SAMPLE_QUESTION, IndexingController
from app.gui.library_panel import LibraryPanel
from app.gui.menus import WindowActions, build_menus
from app.gui.model_status import ModelController
from app.gui.settings_dialog import SettingsDialog
from app.gui.source_viewer import SourceViewer
from app.gui.status_line import StatusLine
from app.gui.theme import apply_theme
from indexer.store import is_database_url

__all__ = ["SAMPLE_DIR", "SAMPLE_QUESTION", "MainWindow"]

log = logging.getLogger("footnotes.gui")


class MainWindow(QMainWindow):
    """The main window over one `Engine` per collection (the given one first, the others opened when
    switched to and kept open); with `warm_model`, the model starts loading at once. Without
    `collections`, they live in a ``collections`` folder beside the engine's library."""

    def __init__(
        self,
        engine: Engine,
        settings: QSettings | None = None,
        preferences: Settings | None = None,
        warm_model: bool = False,
        collections: Collections | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings or QSettings("Footnotes", "Footnotes")
        self.preferences = preferences or engine.current_settings()
        if collections is None and is_database_url(engine.location):  # no folder to keep them beside
            collections = Collections(default_collections_dir(), Path(self.preferences.library))
        collections = collections or Collections(engine.folder.parent / "collections", engine.folder)
        self._warm_model = warm_model
        self.setWindowTitle("Footnotes")
        self.setAcceptDrops(True)
        self.resize(1400, 860)
        self._build_side_panels()
        self._build_centre()
        self._build_splitters()
        self._build_status_bar()
        self._compose(engine, collections)
        self._describe_controls()
        self._set_tab_order()
        self.chats.show_collections()
        self.indexing.refresh_library()
        self._restore_state()
        self.chats.show_scope()
        self.model.show_state()
        self.model.show_server()
        if warm_model:
            self.model.start_warmup()

    # -- construction, step by step ---------------------------------------------------------
    def _build_side_panels(self) -> None:
        """The library and chat list (left) and the source viewer with its find bar (right)."""
        self.library = LibraryPanel()
        self.chat_list = ChatList()
        self.viewer = SourceViewer()
        self.find_bar = FindBar(self.viewer.text_view)
        self.source_column = QWidget()
        column = QVBoxLayout(self.source_column)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.viewer, 1)
        column.addWidget(self.find_bar)

    def _build_centre(self) -> None:
        """The conversation (or the first-run guide), the scope, the question row and the context meter."""
        self.scope_label = QLabel()
        self.scope_label.setAccessibleName("Ask about")
        self.scope_label.setStyleSheet("color: gray")
        self.chat = ChatView()
        self.guide = FirstRunGuide()
        self.centre_stack = QStackedWidget()
        self.centre_stack.addWidget(self.guide)
        self.centre_stack.addWidget(self.chat)
        self.query = QLineEdit(placeholderText="Ask a question about your files…")
        self.send_button = QPushButton("Send")
        self.send_button.setDefault(True)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.meter = ContextMeter()
        self.meter_label = QLabel()
        self.meter_label.setStyleSheet("color: gray")
        self.centre = QWidget()
        column = QVBoxLayout(self.centre)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.centre_stack, 1)
        column.addWidget(self.scope_label)
        column.addLayout(_row(self.query, self.send_button, self.stop_button))
        column.addLayout(_row(self.meter, self.meter_label))

    def _build_splitters(self) -> None:
        """Left (library over chats) | centre | source."""
        self.left = QSplitter(Qt.Orientation.Vertical)
        self.left.addWidget(self.library)
        self.left.addWidget(self.chat_list)
        self.left.setSizes([520, 300])
        self.splitter = QSplitter()
        for widget in (self.left, self.centre, self.source_column):
            self.splitter.addWidget(widget)
        self.splitter.setSizes([320, 560, 520])
        self.setCentralWidget(self.splitter)

    def _build_status_bar(self) -> None:
        """Status text, indexing progress with Pause and Cancel, the log button, model and server."""
        self.status_label = QLabel()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(240)
        self.progress.hide()
        self.pause_button = QPushButton("Pause")
        self.pause_button.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.hide()
        self.log_button = QPushButton("Open log folder")
        self.log_button.hide()
        self.model_label = QLabel()
        self.model_label.setAccessibleName("Model status")
        self.server_label = QLabel()
        self.server_label.setAccessibleName("Where questions go")
        self.embedder_label = QLabel()
        self.embedder_label.setAccessibleName("Where embeddings are computed")
        bar = self.statusBar()
        bar.addWidget(self.status_label, 1)
        for widget in (self.log_button, self.progress, self.pause_button, self.cancel_button, self.model_label):
            bar.addPermanentWidget(widget)
        bar.addPermanentWidget(self.server_label)
        bar.addPermanentWidget(self.embedder_label)
        self.status = StatusLine(self.status_label, self.log_button)  # the log button opens the log folder

    def _compose(self, engine: Engine, collections: Collections) -> None:
        """The controllers over the widgets, wired to the widgets' signals and to each other's."""
        status = self.status
        self.model = ModelController(engine, self.model_label, self.server_label, self.embedder_label, self.guide)
        self.indexing = indexing = IndexingController(
            engine,
            self.library,
            self.guide,
            (self.centre_stack, self.chat),
            (self.progress, self.pause_button, self.cancel_button),
            status,
        )
        self.answers = answers = AnswerController(
            engine,
            self.chat,
            self.query,
            (self.send_button, self.stop_button),
            (self.meter, self.meter_label),
            self.viewer,
            self.centre_stack,
            status,
        )
        views = (self.chat_list, self.chat, self.library, self.scope_label)
        meter = (self.meter, self.meter_label)
        self.chats = chats = ChatsController(engine, collections, self.settings, self.preferences, views, meter, status)
        # the widgets
        for source in (self.library, self.guide):
            source.add_files.connect(indexing.choose_files)
            source.add_folder.connect(indexing.choose_folder)
        self.guide.try_sample.connect(indexing.try_sample)
        self.library.unlock.connect(indexing.unlock_document)
        self.library.forget.connect(indexing.ask_forget)
        self.library.pause_clicked.connect(indexing.toggle_pause)
        self.library.cancel_clicked.connect(indexing.cancel_indexing)
        self.pause_button.clicked.connect(indexing.toggle_pause)
        self.cancel_button.clicked.connect(indexing.cancel_indexing)
        self.library.collection_chosen.connect(chats.switch_collection)
        self.library.new_collection.connect(chats.ask_new_collection)
        self.library.rename_collection.connect(chats.ask_rename_collection)
        self.library.delete_collection.connect(chats.ask_delete_collection)
        self.library.selection_changed.connect(chats.scope_from_selection)
        self.chat_list.chosen.connect(chats.open_chat)
        self.chat_list.new_chat.connect(chats.new_chat)
        self.chat_list.rename_chat.connect(chats.ask_rename_chat)
        self.chat_list.delete_chat.connect(chats.ask_delete_chat)
        self.chat.citation_clicked.connect(answers.open_citation)
        self.chat.contradiction_clicked.connect(answers.open_contradiction)
        self.query.returnPressed.connect(answers.ask)
        self.send_button.clicked.connect(answers.ask)
        self.stop_button.clicked.connect(answers.stop_answer)
        # the controllers, to each other
        indexing.busy_changed.connect(chats.set_busy)
        indexing.listed.connect(chats.prune_scope)
        indexing.sample_ready.connect(self._suggest)
        answers.answering_changed.connect(chats.set_answering)
        answers.answered.connect(chats.remember)
        answers.model_used.connect(self.model.show_state)
        chats.scope_changed.connect(answers.set_scope)
        chats.new_chat_started.connect(answers.reset)
        chats.engine_changed.connect(self._show_engine)
        for controller in (self.model, indexing, answers, chats):
            controller.setParent(self)  # gone with the window: a job ending later reaches none of them
        own = WindowActions(self.open_settings, self.focus_question, self.open_log_folder, self.show_about)
        self.menus = build_menus(self, own, answers, indexing, chats, self.find_bar)

    @property
    def engine(self) -> Engine:
        """The engine of the collection shown."""
        return self.chats.engine

    def _show_engine(self, engine: Engine) -> None:
        """Another collection is shown: every controller works on its engine from now on."""
        self.answers.set_engine(engine)
        self.indexing.set_engine(engine)
        self.model.set_engine(engine)

    def _suggest(self, question: str) -> None:
        """The sample library is indexed: suggest a question about it."""
        self.query.setPlaceholderText(f"Try: {question}")
        self.query.setFocus()

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

    # -- drag and drop --------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.indexing.index_paths(paths)

    # -- saved state ------------------------------------------------------------------------
    def _restore_state(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        splitter = self.settings.value("window/splitter")
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)
        self.chats.open_saved()

    def _save_state(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        save_settings(self.settings, self.preferences)
        self.settings.sync()

    # -- settings and closing ---------------------------------------------------------------
    def open_settings(self) -> None:
        """Edit settings (see `apply_settings`)."""
        dialog = SettingsDialog(self.preferences, self)
        if dialog.exec():
            self.apply_settings(dialog.result_settings())

    def apply_settings(self, new: Settings) -> None:
        """Use and save edited settings: a new library (folder or shared library URL) opens now and becomes
        the one the next start opens; a new chunk size offers to re-index."""
        old = self.preferences
        self.preferences = self.chats.preferences = new
        if new.library_location() != old.library_location():
            new = self.preferences = self.chats.preferences = self._open_settings_library(old)
        elif new.library != old.library and new.store.strip():
            QMessageBox.information(
                self, "Footnotes", "The shared library stays open: the library folder is used when its URL is empty."
            )
        self.engine.apply(new)
        save_settings(self.settings, new)
        self.model.show_server()
        self.chats.show_collections()
        if new.appearance.theme != old.appearance.theme:
            apply_theme(QApplication.instance(), new.appearance.theme)
        if (new.model, new.server) != (old.model, old.server):
            if self._warm_model:
                self.model.start_warmup()
            else:
                self.model.show_state()
        if new.retrieval.chunk_tokens != old.retrieval.chunk_tokens and self.engine.documents():
            answer = QMessageBox.question(self, "Footnotes", "Re-index the library with the new chunk size now?")
            if answer == QMessageBox.StandardButton.Yes:
                self.indexing.index_paths([], force=True)

    def _open_settings_library(self, old: Settings) -> Settings:
        """Open the library the edited settings (`self.preferences`) name, in place of the one shown, and
        remember it as the user's choice; the settings to keep. When it cannot be opened now, say why and
        keep the old library in them (the window and Settings then agree on what is open); while indexing or
        answering, it opens at the next start."""
        new = self.preferences
        store = new.store.strip()
        if store and not is_database_url(store):
            problem = f"A shared library URL starts with postgresql://, not {store!r}."
        elif self.indexing.busy or self.answers.answering:
            remember_choice(self.settings, None)
            QMessageBox.information(
                self, "Footnotes", "The new library opens at the next start (indexing or an answer is running)."
            )
            return new
        else:
            problem = self.chats.open_library(self.chats.settings_collection(), new.library_location())
            if problem is None:
                remember_choice(self.settings, None)
                return new
        QMessageBox.warning(
            self,
            "Footnotes",
            f"{problem}\n\nThe window stays on {self.chats.collection.name}, and the library setting is unchanged.",
        )
        return replace(new, library=old.library, store=old.store)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop work safely (the current file finishes or is cancelled whole), save state, close.

        A model still loading in the background is not waited for: its result is ignored."""
        self.model.closing = True
        self.indexing.cancel()
        self.answers.stop_answer()
        QThreadPool.globalInstance().waitForDone(60_000)
        self._save_state()
        super().closeEvent(event)

    # -- help -----------------------------------------------------------------------------
    def open_log_folder(self) -> None:
        """Show the log folder in the system's file manager."""
        self.status.open_log_folder()

    def show_about(self) -> None:
        """The About box."""
        QMessageBox.about(self, "About Footnotes", self.model.about_text())


def _row(*widgets: QWidget) -> QHBoxLayout:
    """A row of widgets, the first stretching."""
    row = QHBoxLayout()
    for number, widget in enumerate(widgets):
        row.addWidget(widget, 1 if number == 0 else 0)
    return row
