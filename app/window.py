"""The Footnotes window: library (left), conversation (centre), source (right).

A thin layer: every piece of work is a core call on Qt's thread pool (`app.workers.Job`), and the
widgets only show what those calls report. While the library is empty the centre shows a first-run
guide (add files, or try the bundled sample library); the model loads in the background from the
start; and each answer first shows the passages it is read from, then streams in beneath them.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path

from PySide6.QtCore import QByteArray, QFileSystemWatcher, QSettings, Qt, QThreadPool, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
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

from app.chat_list import ChatList
from app.chat_view import ChatTurn, ChatView, FirstRunGuide
from app.chats import Chat, ChatStore
from app.collections import Collection, CollectionError, Collections, default_collections_dir
from app.context_meter import ContextMeter
from app.engine import STOPPED_LOADING, Engine, Preview, previews, previews_of
from app.library_panel import LibraryPanel
from app.logs import app_version, log_dir, setup_logging
from app.settings import Settings, load_settings, save_settings
from app.settings_dialog import SettingsDialog
from app.source_viewer import SourceViewer
from app.theme import apply_theme
from app.workers import Job, background_pool
from indexer.indexer import IndexProgress, IndexReport
from rag.citations import CitedAnswer
from rag.export import FORMATS, export, to_markdown
from rag.scope import Scope

WATCH_DEBOUNCE_MS = 2000
SAMPLE_DIR = Path(__file__).resolve().parents[1] / "assets" / "sample"
SAMPLE_QUESTION = "How often should I descale the Aurora 3?"
log = logging.getLogger("footnotes.gui")


class MainWindow(QMainWindow):
    """The main window over one `Engine` per collection (the given one first, the others opened when
    switched to and kept open); with `warm_model`, the model starts loading at once. Without
    `collections`, they live in a ``collections`` folder beside the engine's library."""

    evidence_shown = Signal(list)
    """The passages (`Preview`s) of the answer being written, emitted once they are on screen."""
    first_token = Signal()
    """Emitted when an answer's first token is on screen."""

    def __init__(
        self,
        engine: Engine,
        settings: QSettings | None = None,
        preferences: Settings | None = None,
        warm_model: bool = False,
        collections: Collections | None = None,
    ) -> None:
        super().__init__()
        self.engine = engine
        folder = engine.store.folder
        self.collections = collections or Collections(folder.parent / "collections", folder)
        self.collection = self._collection_of(folder)
        self.engines: dict[Path, Engine] = {folder: engine}
        self.chat_store = ChatStore(self.collection.chats)
        self.current_chat: Chat | None = None
        self.scope = Scope()
        self._asked_scope = self.scope
        self.settings = settings or QSettings("Footnotes", "Footnotes")
        self.preferences = preferences or engine.current_settings()
        self.setWindowTitle("Footnotes")
        self.setAcceptDrops(True)
        self.resize(1400, 860)
        self._index_job: Job | None = None
        self._answer_job: Job | None = None
        self._started = 0.0
        self._status_message = ""
        self._warm_job: Job | None = None
        self._warm_model = warm_model
        self._closing = False
        self._indexing_sample = False

        self.library = LibraryPanel()
        self.library.add_files.connect(self._choose_files)
        self.library.add_folder.connect(self._choose_folder)
        self.library.unlock.connect(self.unlock_document)
        self.library.collection_chosen.connect(self.switch_collection)
        self.library.new_collection.connect(self._ask_new_collection)
        self.library.rename_collection.connect(self._ask_rename_collection)
        self.library.delete_collection.connect(self._ask_delete_collection)
        self.library.selection_changed.connect(self._scope_from_selection)
        self.chat_list = ChatList()
        self.chat_list.chosen.connect(self.open_chat)
        self.chat_list.new_chat.connect(self.new_chat)
        self.chat_list.rename_chat.connect(self._ask_rename_chat)
        self.chat_list.delete_chat.connect(self._ask_delete_chat)
        self.scope_label = QLabel()
        self.scope_label.setAccessibleName("Ask about")
        self.scope_label.setStyleSheet("color: gray")
        self.chat = ChatView()
        self.chat.citation_clicked.connect(self.open_citation)
        self.guide = FirstRunGuide()
        self.guide.add_files.connect(self._choose_files)
        self.guide.add_folder.connect(self._choose_folder)
        self.guide.try_sample.connect(self.try_sample)
        self.centre_stack = QStackedWidget()
        self.centre_stack.addWidget(self.guide)
        self.centre_stack.addWidget(self.chat)
        self.viewer = SourceViewer()
        self.query = QLineEdit(placeholderText="Ask a question about your files…")
        self.query.setAccessibleName("Question")
        self.query.returnPressed.connect(self.ask)
        self.send_button = QPushButton("Send")
        self.send_button.setDefault(True)
        self.send_button.clicked.connect(self.ask)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop generating (Esc)")
        self.stop_button.clicked.connect(self.stop_answer)
        self.stop_button.setEnabled(False)
        self.meter = ContextMeter()
        self.meter_label = QLabel()
        self.meter_label.setStyleSheet("color: gray")

        centre = QWidget()
        column = QVBoxLayout(centre)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.centre_stack, 1)
        column.addWidget(self.scope_label)
        ask_row = QHBoxLayout()
        ask_row.addWidget(self.query, 1)
        ask_row.addWidget(self.send_button)
        ask_row.addWidget(self.stop_button)
        column.addLayout(ask_row)
        meter_row = QHBoxLayout()
        meter_row.addWidget(self.meter, 1)
        meter_row.addWidget(self.meter_label)
        column.addLayout(meter_row)

        self.left = QSplitter(Qt.Orientation.Vertical)
        self.left.addWidget(self.library)
        self.left.addWidget(self.chat_list)
        self.left.setSizes([520, 300])
        self.splitter = QSplitter()
        for widget in (self.left, centre, self.viewer):
            self.splitter.addWidget(widget)
        self.splitter.setSizes([320, 560, 520])
        self.setCentralWidget(self.splitter)

        self.status_label = QLabel()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(240)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_indexing)
        self.cancel_button.hide()
        self.model_label = QLabel()
        self.model_label.setAccessibleName("Model status")
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.cancel_button)
        self.statusBar().addPermanentWidget(self.model_label)
        self.server_label = QLabel()
        self.server_label.setAccessibleName("Where questions go")
        self.statusBar().addPermanentWidget(self.server_label)
        self.show_server()

        self.watcher = QFileSystemWatcher(self)
        self.watcher.directoryChanged.connect(self._schedule_refresh)
        self.watcher.fileChanged.connect(self._schedule_refresh)
        self._refresh_timer = QTimer(self, singleShot=True, interval=WATCH_DEBOUNCE_MS)
        self._refresh_timer.timeout.connect(self._refresh_from_disk)
        self._tick = QTimer(self, interval=1000)
        self._tick.timeout.connect(self._show_elapsed)

        self._build_menus()
        self._show_collections()
        self.refresh_library()
        self._restore_state()
        self._show_scope()
        self._show_model_state()
        if warm_model:
            self.start_model_warmup()

    # -- menus and state --------------------------------------------------------------------
    def _build_menus(self) -> None:
        def action(menu, text: str, slot, shortcut: QKeySequence | str | None = None) -> QAction:
            item = QAction(text, self)
            if shortcut is not None:
                item.setShortcut(QKeySequence(shortcut))
            item.triggered.connect(slot)
            menu.addAction(item)
            return item

        file_menu = self.menuBar().addMenu("&File")
        action(file_menu, "&New chat", self.new_chat, QKeySequence.StandardKey.New)
        action(file_menu, "Add &files…", self._choose_files, QKeySequence.StandardKey.Open)
        action(file_menu, "Add f&older…", self._choose_folder, "Ctrl+Shift+O")
        action(file_menu, "&Export chat…", self.export_chat, "Ctrl+E")
        action(file_menu, "&Copy answer with sources", self.copy_answer, "Ctrl+Shift+C")
        file_menu.addSeparator()
        action(file_menu, "&Settings…", self.open_settings, "Ctrl+,")
        action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        chat_menu = self.menuBar().addMenu("&Chat")
        action(chat_menu, "&Stop generating", self.stop_answer, Qt.Key.Key_Escape)
        action(chat_menu, "&Rename chat…", lambda: self._ask_rename_chat(self.chat_list.current_id() or ""), "F2")
        action(chat_menu, "&Delete chat…", lambda: self._ask_delete_chat(self.chat_list.current_id() or ""))
        action(chat_menu, "Search &chats", self.chat_list.search.setFocus, "Ctrl+Shift+F")
        action(chat_menu, "New c&ollection…", self._ask_new_collection)
        action(chat_menu, "Re-index &library", lambda: self.index_paths([], force=True))
        self.help_menu = self.menuBar().addMenu("&Help")
        self.log_action = action(self.help_menu, "Open &log folder", self.open_log_folder)
        self.about_action = action(self.help_menu, "&About Footnotes", self.show_about)

    def _restore_state(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        splitter = self.settings.value("window/splitter")
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)
        self._adopt_saved_chat()
        chats = self.chat_store.list()
        self.chat_list.show_store(self.chat_store)
        if chats:
            self.open_chat(chats[0].id)

    def _adopt_saved_chat(self) -> None:
        """Turn the conversation saved by a Footnotes without a chat list into the collection's first chat."""
        key = f"chat/{self.engine.store.folder}"
        saved = self.settings.value(key)
        if isinstance(saved, str) and saved:
            try:
                turns = [{"question": t["question"], "answer": t["answer"]} for t in json.loads(saved)]
            except (ValueError, KeyError, TypeError):
                turns = []
            if turns:
                self.chat_store.save(Chat(model=self.engine.model, turns=turns))
        self.settings.remove(key)

    def _save_state(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.settings.setValue("collections/current", self.collection.name)
        save_settings(self.settings, self.preferences)
        self.settings.sync()

    # -- library ----------------------------------------------------------------------------
    def _choose_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add files to the library")
        if files:
            self.index_paths([Path(f) for f in files])

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder to the library")
        if folder:
            self.index_paths([Path(folder)])

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.index_paths(paths)

    @property
    def busy(self) -> bool:
        """True while an indexing job runs."""
        return self._index_job is not None

    def unlock_document(self, path: str) -> None:
        """Ask for a locked PDF's password and index it; the password lives only in this request."""
        password, ok = QInputDialog.getText(
            self, "Unlock PDF", f"Password for {Path(path).name}:", QLineEdit.EchoMode.Password
        )
        if ok and password:
            self.index_paths([Path(path)], passwords={path: password})

    def index_paths(self, paths: list[Path], force: bool = False, passwords: dict[str, str] | None = None) -> None:
        """Index files and folders (none: refresh the library) in the background, showing progress."""
        if self.busy:
            self.status_label.setText("Indexing is already running; try again when it has finished.")
            return
        job = Job(lambda report, cancel: self.engine.index(paths, report, cancel, force=force, passwords=passwords))
        job.signals.progress.connect(self._on_index_progress)
        job.signals.done.connect(self._on_indexed)
        job.signals.failed.connect(self._on_index_failed)
        self._index_job = job
        self._started = time.perf_counter()
        self.guide.set_indexing(True)
        self.status_label.setText("Preparing to index (loading the embedding model)…")
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.show()
        job.start()

    def try_sample(self) -> None:
        """Index the bundled sample library (three small files) so there is something to ask about."""
        if not self.busy:
            self._indexing_sample = True
        self.index_paths([SAMPLE_DIR])

    def cancel_indexing(self) -> None:
        """Stop after the current batch; finished files stay indexed."""
        if self._index_job is not None:
            self._index_job.cancel.set()
            self.status_label.setText("Cancelling… finished files are kept.")

    def _on_index_progress(self, state: IndexProgress) -> None:
        if state.files_done != self.progress.value():
            self._show_records()  # files appear as they finish
        self.progress.setRange(0, max(state.files_total, 1))
        self.progress.setValue(state.files_done)
        self.progress.setFormat(f"{state.files_done} / {state.files_total} files")
        elapsed = time.perf_counter() - self._started
        left = ""
        if state.files_done:
            remaining = elapsed / state.files_done * (state.files_total - state.files_done)
            left = f" · about {remaining:.0f} s left"
        current = Path(state.current_file).name if state.current_file else ""
        self.status_label.setText(f"Indexing {current} · {state.chunks_embedded} passages{left}")

    def _on_indexed(self, report: IndexReport) -> None:
        done = len(report.indexed) + len(report.reused)
        problems = report.failed + report.skipped
        verb = "Cancelled after indexing" if report.cancelled else "Indexed"
        self.status_label.setText(
            f"{verb} {done} file(s), {report.chunks_embedded} passages in {report.seconds:.0f} s"
            + (f"; {len(problems)} skipped or failed (listed under the library)" if problems else "")
        )
        sample = self._indexing_sample
        self._end_indexing()
        self.library.show_problems(problems)
        self.refresh_library()
        if sample and done:
            self.query.setPlaceholderText(f"Try: {SAMPLE_QUESTION}")
            self.query.setFocus()

    def _on_index_failed(self, message: str) -> None:
        self._end_indexing()
        self.status_label.setText(f"Indexing stopped: {message}")
        self.refresh_library()

    def _end_indexing(self) -> None:
        self._index_job = None
        self._indexing_sample = False
        self.progress.hide()
        self.cancel_button.hide()
        self.guide.set_indexing(False)

    def _show_records(self) -> None:
        """Show the catalogue in the library pane, and the first-run guide while nothing is indexed."""
        records = self.engine.store.documents()
        self.library.show_records(records)
        self.library.select_paths(self.scope.files)  # the rows are new: keep what the question is about
        has_documents = any(r.status == "indexed" for r in records)
        self.centre_stack.setCurrentWidget(self.chat if has_documents else self.guide)

    @property
    def guide_shown(self) -> bool:
        """True while the first-run guide stands in for the conversation (an empty library)."""
        return self.centre_stack.currentWidget() is self.guide

    def refresh_library(self) -> None:
        """Reload the document list and watch the indexed folders for changes."""
        self._show_records()
        roots = [str(r) for r in self.engine.store.roots() if r.exists()]
        watched = set(self.watcher.directories() + self.watcher.files())
        new = [r for r in roots if r not in watched]
        if new:
            self.watcher.addPaths(new)

    def _schedule_refresh(self, _path: str) -> None:
        self._refresh_timer.start()

    def _refresh_from_disk(self) -> None:
        """Re-index the library's folders after they changed on disk (debounced), unless busy."""
        if self.busy:
            self._refresh_timer.start()
        else:
            self.index_paths([])

    # -- answers ----------------------------------------------------------------------------
    @property
    def answering(self) -> bool:
        """True while an answer is being generated."""
        return self._answer_job is not None

    def ask(self) -> None:
        """Answer the question in the background, streaming it into the conversation."""
        question = self.query.text().strip()
        if not question or self.answering:
            return
        self.query.clear()
        self.centre_stack.setCurrentWidget(self.chat)  # even on an empty library, the answer is shown
        self.chat.start_turn(question)
        scope = self._asked_scope = self.scope
        job = Job(
            lambda report, cancel: self.engine.ask(
                question,
                on_token=lambda token: report(("token", token)),
                on_plan=lambda plan: report(("plan", plan)),
                status=lambda message: report(("status", message)),
                cancel=cancel,
                on_prepared=lambda prepared: report(("evidence", previews(prepared))),
                on_retrieved=lambda hits: report(("evidence", previews_of(hits, question))),
                scope=None if scope.whole else scope,
            )
        )
        job.signals.progress.connect(self._on_answer_progress)
        job.signals.done.connect(self._on_answered)
        job.signals.failed.connect(self._on_answer_failed)
        self._answer_job = job
        self._started = time.perf_counter()
        self._status_message = ""
        self._tick.start()
        self.send_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        job.start()

    def stop_answer(self) -> None:
        """Stop generating; the text so far stays."""
        if self._answer_job is not None:
            self._answer_job.cancel.set()

    def _on_answer_progress(self, event: tuple[str, object]) -> None:
        kind, value = event
        if not self.chat.turns:  # a new chat was started while this answer was on its way
            return
        if kind == "token":
            first = not self.chat.turns[-1].streamed
            if self._tick.isActive():
                self._tick.stop()
                self.status_label.setText(f"Answering with {self.engine.model}…")
            self.chat.append_token(str(value))
            if first:
                self._show_model_state()  # the question may have loaded the model
                self.first_token.emit()
        elif kind == "evidence":
            evidence: list[Preview] = list(value)  # type: ignore[call-overload]
            self.chat.show_evidence(evidence)
            self.evidence_shown.emit(evidence)
        elif kind == "plan":
            self.meter.show_plan(value)
            plan = self.meter.plan
            self.meter_label.setText(
                f"{plan.prompt_tokens + plan.answer_reserve} / {plan.window} tokens" if plan else "no relevant passages"
            )
        else:
            self._status_message = str(value)
            self._show_elapsed()
            if not self.chat.turns[-1].streamed:
                self.chat.set_status(self._status_message)

    def _show_elapsed(self) -> None:
        message = self._status_message or "Reading passages…"
        self.status_label.setText(f"{message} ({time.perf_counter() - self._started:.0f} s)")

    def _on_answered(self, answer: CitedAnswer) -> None:
        self._end_answer()
        self.chat.finish_turn(answer)
        if self.chat.turns:  # not when a new chat was started while this answer was on its way
            self._remember(self.chat.turns[-1].question, answer)
        timing = answer.timing
        if "tokens_per_second" in timing:
            self.status_label.setText(
                f"Answered in {timing['seconds']:.1f} s (first token after "
                f"{timing['seconds_to_first_token']:.1f} s, {timing['tokens_per_second']:.1f} tokens/s)"
            )
        else:
            self.status_label.setText("The library holds nothing relevant to that question.")

    def _on_answer_failed(self, message: str) -> None:
        self._end_answer()
        shown = message if message == STOPPED_LOADING else f"Error: {message}"
        log.warning("answer failed: %s", message)
        self.chat.fail_turn(shown)
        self.status_label.setText(shown)

    def _end_answer(self) -> None:
        self._answer_job = None
        self._tick.stop()
        self.send_button.setEnabled(True)
        self.stop_button.setEnabled(False)

    def open_citation(self, turn: int, number: int) -> None:
        """Show the passage behind citation `number` of answer `turn` in the source viewer."""
        answer = self.chat.turns[turn].answer
        if answer is None or number not in answer.sources:
            return
        chunk = answer.sources[number]
        record = self.engine.store.document(chunk.path)
        page_text = self.engine.store.page_text(record.id, chunk.page) if record else None
        evidence_for = getattr(answer, "evidence_for", None)  # the supporting sentence, when citations know it
        focus = evidence_for(number) if callable(evidence_for) else None
        self.viewer.show_chunk(chunk, page_text, focus)

    def new_chat(self) -> None:
        """Start a new conversation."""
        self.stop_answer()
        self.engine.new_chat()
        self.chat.reset()
        self.meter.show_plan(None)
        self.meter_label.clear()
        self.current_chat = None
        self.chat_list.list.clearSelection()

    # -- saved chats ------------------------------------------------------------------------
    def _remember(self, question: str, answer: CitedAnswer) -> None:
        """Save the answered turn in the current chat (a new one for a first question), with the
        scope it was asked in and the model that answered."""
        chat = self.current_chat or Chat(model=self.engine.model)
        chat.turns.append({"question": question, "answer": answer.to_dict()})
        chat.scope, chat.model = self._asked_scope, self.engine.model
        self.current_chat = self.chat_store.save(chat)
        self.chat_list.refresh(chat.id)

    def open_chat(self, chat_id: str) -> None:
        """Show a saved chat and continue it: its turns, its scope."""
        if self.answering:
            self.status_label.setText("Wait for the answer to finish, or stop it, before opening another chat.")
            return
        try:
            chat = self.chat_store.get(chat_id)
        except (KeyError, OSError, ValueError):
            self.status_label.setText("That chat could not be read; it may have been deleted.")
            self.chat_list.refresh()
            return
        self.current_chat = chat
        answers = chat.answers()
        self.chat.show_turns([ChatTurn(t["question"], answer=a) for t, a in zip(chat.turns, answers, strict=True)])
        self.engine.restore(chat.conversation_turns())
        self.meter.show_plan(None)
        self.meter_label.clear()
        self.library.select_paths(chat.scope.files)
        self.scope = chat.scope
        self._show_scope()
        self.chat_list.select(chat.id)

    def rename_chat(self, chat_id: str, title: str) -> None:
        """Give a saved chat another title."""
        renamed = self.chat_store.rename(chat_id, title)
        if self.current_chat is not None and self.current_chat.id == chat_id:
            self.current_chat = renamed
        self.chat_list.refresh(self.current_chat.id if self.current_chat else None)

    def delete_chat(self, chat_id: str) -> None:
        """Delete a saved chat; deleting the open one starts a new chat."""
        self.chat_store.delete(chat_id)
        if self.current_chat is not None and self.current_chat.id == chat_id:
            self.new_chat()
        self.chat_list.refresh(self.current_chat.id if self.current_chat else None)

    def _ask_rename_chat(self, chat_id: str) -> None:
        if not chat_id:
            return
        title, ok = QInputDialog.getText(self, "Rename chat", "Title:", text=self.chat_store.get(chat_id).title)
        if ok and title.strip():
            self.rename_chat(chat_id, title)

    def _ask_delete_chat(self, chat_id: str) -> None:
        if not chat_id:
            return
        title = self.chat_store.get(chat_id).title
        answer = QMessageBox.question(self, "Delete chat", f"Delete the chat “{title}”?")
        if answer == QMessageBox.StandardButton.Yes:
            self.delete_chat(chat_id)

    # -- scope ------------------------------------------------------------------------------
    def _scope_from_selection(self) -> None:
        self.scope = Scope(files=tuple(self.library.selected_paths()))
        self._show_scope()

    def _show_scope(self) -> None:
        files = len(self.scope.files)
        self.scope_label.setText(
            "Ask about: whole collection (select files in the library to ask about them only)"
            if self.scope.whole
            else f"Ask about: the {files} selected file{'s' if files != 1 else ''}"
        )

    # -- collections ------------------------------------------------------------------------
    def _collection_of(self, library: Path) -> Collection:
        """The registered collection of this library folder; an unregistered one keeps its chats inside it."""
        found = next((c for c in self.collections.list() if c.library == library), None)
        return found or Collection(library.name, library, library / "chats")

    def _show_collections(self) -> None:
        names = [c.name for c in self.collections.list()]
        shown = names if self.collection.name in names else [self.collection.name, *names]
        self.library.show_collections(shown, self.collection.name)

    def switch_collection(self, name: str) -> None:
        """Show another collection: its library, engine (opened once, then kept) and chats."""
        if name == self.collection.name:
            return
        if self.busy or self.answering:
            self.status_label.setText("Wait for indexing or the answer to finish before switching collections.")
            self._show_collections()
            return
        try:
            collection = self.collections.get(name)
        except CollectionError as exc:
            self.status_label.setText(f"{exc}.")
            self._show_collections()
            return
        self.new_chat()
        engine = self.engines.get(collection.library)
        if engine is None:
            engine = self.engines[collection.library] = Engine.from_settings(self.preferences, collection.library)
        else:
            engine.apply(self.preferences)
        engine.share_models(self.engine)
        self.engine, self.collection = engine, collection
        self.chat_store = ChatStore(collection.chats)
        self.chat_list.show_store(self.chat_store)
        unwatched = self.watcher.directories() + self.watcher.files()
        if unwatched:
            self.watcher.removePaths(unwatched)
        self.library.show_problems([])
        self.refresh_library()
        self._scope_from_selection()
        self._show_collections()
        self._show_model_state()
        self.status_label.setText(f"Collection: {collection.name}")

    def create_collection(self, name: str) -> None:
        """Create a collection and switch to it."""
        try:
            created = self.collections.create(name)
        except CollectionError as exc:
            self.status_label.setText(f"{exc}.")
            return
        self._show_collections()
        self.switch_collection(created.name)

    def rename_collection(self, new: str) -> None:
        """Rename the current collection."""
        try:
            self.collection = self.collections.rename(self.collection.name, new)
        except CollectionError as exc:
            self.status_label.setText(f"{exc}.")
        self._show_collections()

    def delete_collection(self, name: str) -> None:
        """Delete a collection, its index and its chats (the current one: after switching to another)."""
        try:
            doomed = self.collections.get(name)
            if doomed == self.collection:
                others = [c for c in self.collections.list() if c != doomed]
                if not others:
                    raise CollectionError(f"'{doomed.name}' is the only collection; create another before deleting it")
                self.switch_collection(others[0].name)
                if self.collection == doomed:
                    return  # busy: the switch said why
            engine = self.engines.pop(doomed.library, None)
            if engine is not None:
                engine.store.close()
            self.collections.delete(doomed.name)
        except CollectionError as exc:
            self.status_label.setText(f"{exc}.")
            return
        self._show_collections()
        self.status_label.setText(f"Deleted the collection {doomed.name}.")

    def _ask_new_collection(self) -> None:
        name, ok = QInputDialog.getText(self, "New collection", "Name (for example Thesis or Taxes):")
        if ok and name.strip():
            self.create_collection(name)

    def _ask_rename_collection(self) -> None:
        name, ok = QInputDialog.getText(self, "Rename collection", "New name:", text=self.collection.name)
        if ok and name.strip():
            self.rename_collection(name)

    def _ask_delete_collection(self) -> None:
        answer = QMessageBox.question(
            self,
            "Delete collection",
            f"Delete the collection “{self.collection.name}” with its index and chats? Your files are not touched.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.delete_collection(self.collection.name)

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

    def _on_model_failed(self, message: str) -> None:
        log.warning("model warm-up failed: %s", message)
        if not self._closing:
            self._set_model_status(
                "Model: failed to load", f"{message}\nIt is tried again with the next question; see Settings."
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
            f"Library: {self.engine.store.folder}\n"
            f"Logs: {log_dir()}\n"
        )

    def show_about(self) -> None:
        """The About box."""
        QMessageBox.about(self, "About Footnotes", self.about_text())

    # -- export and settings ----------------------------------------------------------------
    def export_chat(self) -> None:
        """Save the conversation's answers with their sources as Markdown, HTML or PDF."""
        if not self.chat.answers:
            self.status_label.setText("Nothing to export yet: ask a question first.")
            return
        filters = "PDF (*.pdf);;Markdown (*.md);;HTML (*.html)"
        path, chosen = QFileDialog.getSaveFileName(self, "Export chat", "footnotes-answer.pdf", filters)
        if not path:
            return
        target = Path(path)
        if target.suffix.lower() not in FORMATS:
            target = target.with_suffix(".pdf" if "PDF" in chosen else ".md" if "Markdown" in chosen else ".html")
        export(self.chat.answers, target)
        self.status_label.setText(f"Exported to {target}")

    def copy_answer(self) -> None:
        """Copy the last answer with its sources, as Markdown, to the clipboard."""
        if self.chat.answers:
            QGuiApplication.clipboard().setText(to_markdown(self.chat.answers[-1:]))
            self.status_label.setText("Answer and sources copied.")

    def open_settings(self) -> None:
        """Edit settings; a new chunk size offers to re-index."""
        dialog = SettingsDialog(self.preferences, self)
        if not dialog.exec():
            return
        old, new = self.preferences, dialog.result_settings()
        self.preferences = new
        self.engine.apply(new)
        save_settings(self.settings, new)
        self.show_server()
        if (new.model, new.server) != (old.model, old.server):
            if self._warm_model:
                self.start_model_warmup()
            else:
                self._show_model_state()
        if new.library != old.library:
            QMessageBox.information(self, "Footnotes", "The new library folder is used from the next start.")
        if new.retrieval.chunk_tokens != old.retrieval.chunk_tokens and self.engine.store.documents():
            answer = QMessageBox.question(self, "Footnotes", "Re-index the library with the new chunk size now?")
            if answer == QMessageBox.StandardButton.Yes:
                self.index_paths([], force=True)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop work safely (the current file finishes or is cancelled whole), save state, close.

        A model still loading in the background is not waited for: its result is ignored."""
        self._closing = True
        for job in (self._index_job, self._answer_job):
            if job is not None:
                job.cancel.set()
        QThreadPool.globalInstance().waitForDone(60_000)
        self._save_state()
        super().closeEvent(event)


def run_app(library: Path | None = None, warm_model: bool = True, collection: str | None = None) -> int:
    """Open the window on the given library or collection (else the one open last time) and run the
    event loop; with `warm_model`, the model loads in the background from the start."""
    setup_logging("gui")
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Footnotes")
    app.setOrganizationName("Footnotes")
    apply_theme(app, "auto")  # light or dark as the system is, and when it switches
    settings = QSettings("Footnotes", "Footnotes")
    preferences = load_settings(settings)
    collections = Collections(default_collections_dir(), Path(preferences.library))
    if library is not None:
        preferences.library = str(library)
    wanted = collection or settings.value("collections/current")
    chosen = next((c for c in collections.list() if isinstance(wanted, str) and c.name == wanted), None)
    if collection and chosen is None:
        print(f"footnotes: error: there is no collection named '{collection}'", file=sys.stderr)
        return 2
    folder = library or (chosen.library if chosen else Path(preferences.library))
    engine = Engine.from_settings(preferences, folder)
    window = MainWindow(engine, settings, preferences, warm_model=warm_model, collections=collections)
    window.show()
    code = app.exec()
    if window.warming:
        # The window is closed and its state saved, but a model load cannot be interrupted and the
        # interpreter would wait for it on exit; model caches are written atomically, so just leave.
        log.info("exiting while the model was still loading")
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
