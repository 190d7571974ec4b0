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

from app.chat_view import ChatTurn, ChatView, FirstRunGuide
from app.context_meter import ContextMeter
from app.engine import STOPPED_LOADING, Engine, Preview, previews, previews_of
from app.library_panel import LibraryPanel
from app.logs import app_version, log_dir, setup_logging
from app.preferences import Preferences, load_preferences, save_preferences
from app.settings_dialog import SettingsDialog
from app.source_viewer import SourceViewer
from app.workers import Job, background_pool
from indexer.indexer import IndexProgress, IndexReport
from rag.answer import Turn
from rag.citations import CitedAnswer
from rag.export import FORMATS, export, to_markdown

WATCH_DEBOUNCE_MS = 2000
SAMPLE_DIR = Path(__file__).resolve().parents[1] / "assets" / "sample"
SAMPLE_QUESTION = "How often should I descale the Aurora 3?"
log = logging.getLogger("footnotes.gui")


class MainWindow(QMainWindow):
    """The main window over one `Engine`; with `warm_model`, the model starts loading at once."""

    evidence_shown = Signal(list)
    """The passages (`Preview`s) of the answer being written, emitted once they are on screen."""
    first_token = Signal()
    """Emitted when an answer's first token is on screen."""

    def __init__(
        self,
        engine: Engine,
        settings: QSettings | None = None,
        preferences: Preferences | None = None,
        warm_model: bool = False,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.settings = settings or QSettings("Footnotes", "Footnotes")
        self.preferences = preferences or Preferences(library=str(engine.store.folder), model=engine.model)
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
        ask_row = QHBoxLayout()
        ask_row.addWidget(self.query, 1)
        ask_row.addWidget(self.send_button)
        ask_row.addWidget(self.stop_button)
        column.addLayout(ask_row)
        meter_row = QHBoxLayout()
        meter_row.addWidget(self.meter, 1)
        meter_row.addWidget(self.meter_label)
        column.addLayout(meter_row)

        self.splitter = QSplitter()
        for widget in (self.library, centre, self.viewer):
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
        self._restore_state()
        self.refresh_library()
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
        saved = self.settings.value(f"chat/{self.engine.store.folder}")
        if isinstance(saved, str) and saved:
            try:
                turns = [ChatTurn(t["question"], answer=CitedAnswer.from_dict(t["answer"])) for t in json.loads(saved)]
            except (ValueError, KeyError, TypeError):
                turns = []
            self.chat.show_turns(turns)
            self.engine.conversation.turns = [Turn(t.question, t.answer, []) for t in turns if t.answer]

    def _save_state(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        turns = [{"question": t.question, "answer": t.answer.to_dict()} for t in self.chat.turns if t.answer]
        self.settings.setValue(f"chat/{self.engine.store.folder}", json.dumps(turns[-20:]))
        save_preferences(self.settings, self.preferences)
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
        job = Job(
            lambda report, cancel: self.engine.ask(
                question,
                on_token=lambda token: report(("token", token)),
                on_plan=lambda plan: report(("plan", plan)),
                status=lambda message: report(("status", message)),
                cancel=cancel,
                on_prepared=lambda prepared: report(("evidence", previews(prepared))),
                on_retrieved=lambda hits: report(("evidence", previews_of(hits, question))),
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
        old, new = self.preferences, dialog.result_preferences()
        self.preferences = new
        self.engine.configure(new.model, new.backend, new.device, new.top_k, new.chunk_tokens, new.server)
        save_preferences(self.settings, new)
        self.show_server()
        if (new.model, new.backend, new.device, new.server) != (old.model, old.backend, old.device, old.server):
            if self._warm_model:
                self.start_model_warmup()
            else:
                self._show_model_state()
        if new.library != old.library:
            QMessageBox.information(self, "Footnotes", "The new library folder is used from the next start.")
        if new.chunk_tokens != old.chunk_tokens and self.engine.store.documents():
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


def run_app(library: Path | None = None, warm_model: bool = True) -> int:
    """Open the window on the saved (or given) library and run the event loop; with `warm_model`, the
    model loads in the background from the start."""
    setup_logging("gui")
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Footnotes")
    app.setOrganizationName("Footnotes")
    settings = QSettings("Footnotes", "Footnotes")
    preferences = load_preferences(settings)
    if library is not None:
        preferences.library = str(library)
    engine = Engine(
        Path(preferences.library),
        preferences.model,
        preferences.backend,
        preferences.device,
        preferences.top_k,
        preferences.chunk_tokens,
        preferences.server,
    )
    window = MainWindow(engine, settings, preferences, warm_model=warm_model)
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
