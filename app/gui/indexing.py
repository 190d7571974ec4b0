"""The window's library side: adding files, indexing them with progress, pause and cancel, watching the
library's folders, and showing the library, all read off the GUI thread (the store may wait for the
indexer's writer)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QInputDialog,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStackedWidget,
)

from app.core.engine import Engine
from app.gui.chat_view import ChatView
from app.gui.first_run import FirstRunGuide
from app.gui.library_panel import LibraryPanel
from app.gui.status_line import StatusLine
from app.gui.workers import Failure, IndexJob, IndexResult, Job, Listing, read_listing
from indexer.attachments import lies_under
from indexer.indexer import IndexProgress, IndexReport
from indexer.scan import FileIssue
from indexer.types import IssueKind

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "assets" / "sample"
SAMPLE_QUESTION = "How often should I descale the Aurora 3?"
WATCH_DEBOUNCE_MS = 2000


@dataclass
class IndexPace:
    """How fast a run goes and how long it has left, from its progress and the time it was not paused."""

    started: float
    paused_at: float | None = None
    paused_for: float = 0.0

    def pause(self, now: float) -> None:
        """The run is held from `now`."""
        self.paused_at = self.paused_at or now

    def resume(self, now: float) -> None:
        """The run goes on from `now`; the held time does not count."""
        if self.paused_at is not None:
            self.paused_for += now - self.paused_at
            self.paused_at = None

    def describe(self, state: IndexProgress, now: float) -> str:
        """``3 / 10 files · 240 passages · 80 passages/s · about 12 s left``."""
        working = max((self.paused_at or now) - self.started - self.paused_for, 1e-6)
        parts = [f"{state.files_done} / {state.files_total} files", f"{state.chunks_embedded} passages"]
        if state.chunks_embedded:
            parts.append(f"{state.chunks_embedded / working:.0f} passages/s")
        if state.files_done and state.files_total > state.files_done:
            left = working / state.files_done * (state.files_total - state.files_done)
            parts.append(f"about {left:.0f} s left")
        return " · ".join(parts)


class IndexingController(QObject):
    """Adding files, indexing them (progress, pause/resume, cancel), watching the library's folders and
    listing the library, for the current `engine` (`set_engine`)."""

    busy_changed = Signal(bool)
    """True when an indexing run starts, False when it ends."""
    paused_changed = Signal(bool)
    """True while the run is held by *Pause*."""
    listed = Signal(set)
    """The paths of the documents a new listing shows (the scope keeps only those)."""
    library_shown = Signal()
    """Emitted when a listing of the library (read off the GUI thread) is on screen."""
    sample_ready = Signal(str)
    """The sample library is indexed: a question to try on it."""

    def __init__(
        self,
        engine: Engine,
        library: LibraryPanel,
        guide: FirstRunGuide,
        centre: tuple[QStackedWidget, ChatView],
        progress: tuple[QProgressBar, QPushButton, QPushButton],
        status: StatusLine,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.library, self.guide, self.status = library, guide, status
        self.centre_stack, self.chat = centre
        self.progress, self.pause_button, self.cancel_button = progress
        self._index_job: IndexJob | None = None
        self._listing_job: Job | None = None
        self._forget_jobs: list[Job] = []
        self._pace = IndexPace(0.0)
        self._files_shown = 0
        self._indexing_sample = False
        self.watcher = QFileSystemWatcher(self)
        self.watcher.directoryChanged.connect(self._schedule_refresh)
        self.watcher.fileChanged.connect(self._schedule_refresh)
        self._refresh_timer = QTimer(self, singleShot=True, interval=WATCH_DEBOUNCE_MS)
        self._refresh_timer.timeout.connect(self._refresh_from_disk)

    def set_engine(self, engine: Engine) -> None:
        """Show another collection's library: its listing (read anew), its folders watched."""
        self.engine = engine
        unwatched = self.watcher.directories() + self.watcher.files()
        if unwatched:
            self.watcher.removePaths(unwatched)
        self.library.show_problems([])
        self.library.show_records([], [])  # not the old collection's files while the new listing is read
        self.refresh_library()

    def cancel(self) -> None:
        """Stop the run (the window closes): the current file finishes or is cancelled whole."""
        if self._index_job is not None:
            self._index_job.cancel.set()  # a paused run ends too: it waits on cancel as well

    def choose_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self.library.window(), "Add files to the library")
        if files:
            self.index_paths([Path(f) for f in files])

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.library.window(), "Add a folder to the library")
        if folder:
            self.index_paths([Path(folder)])

    @property
    def busy(self) -> bool:
        """True while an indexing job runs."""
        return self._index_job is not None

    @property
    def index_paused(self) -> bool:
        """True while the indexing run is held by *Pause*."""
        return self._index_job is not None and self._index_job.paused

    def unlock_document(self, path: str) -> None:
        """Ask for a locked PDF's password and index it; the password lives only in this request."""
        password, ok = QInputDialog.getText(
            self.library.window(), "Unlock PDF", f"Password for {Path(path).name}:", QLineEdit.EchoMode.Password
        )
        if ok and password:
            self.index_paths([Path(path)], passwords={path: password})

    def ask_forget(self, root: str) -> None:
        """Confirm, then remove a folder or file added to the library, with what it holds."""
        count = sum(lies_under(r.path, root) for r in self.library.model.records)
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Remove from library",
            f"Remove {root} from the library?",
            parent=self.library.window(),
        )
        shared = " This library is shared: they go for everyone who uses it." if self.library.shared else ""
        box.setInformativeText(
            f"Its {count} document(s) leave the library and are no longer watched or searched.{shared} The files"
            " themselves are not touched: add them again to bring them back."
        )
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel)
        if box.exec() == QMessageBox.StandardButton.Yes:
            self.forget_root(root)

    def forget_root(self, root: str) -> None:
        """Remove a folder or file added to the library, and its documents, on a worker (`Engine.forget`,
        as ``footnotes forget``), then show the library without them. Not while indexing: the run would
        write them back."""
        if self.busy:
            self.status.say("Indexing is running: cancel it or let it finish, then remove the folder.")
            return
        engine = self.engine
        job = Job(lambda _report, _cancel: engine.forget([Path(root)]), owner=self)
        job.signals.done.connect(lambda removed: self._on_forgotten(job, root, removed))
        job.signals.failed.connect(lambda failure: self._on_forget_failed(job, failure))
        self._forget_jobs.append(job)  # a job must outlive its run
        job.start()

    def _on_forgotten(self, job: Job, root: str, removed: list[str]) -> None:
        self._forget_jobs.remove(job)
        self.library.drop_problems_under(root)
        if root in self.watcher.directories() + self.watcher.files():
            self.watcher.removePath(root)
        self.status.say(
            f"Removed {root} from the library ({len(removed)} document(s)); the files themselves are untouched."
        )
        self.refresh_library()

    def _on_forget_failed(self, job: Job, failure: Failure) -> None:
        self._forget_jobs.remove(job)
        self.status.fail("It could not be removed from the library: ", failure)

    def index_paths(self, paths: list[Path], force: bool = False, passwords: dict[str, str] | None = None) -> None:
        """Index files and folders (none: refresh the library) in the background, showing progress."""
        if self.busy:
            self.status.say("Indexing is already running; try again when it has finished.")
            return
        job = IndexJob(self.engine, paths, force=force, passwords=passwords, owner=self)
        job.signals.progress.connect(self._on_index_progress)
        job.signals.paused.connect(self._on_index_paused)
        job.signals.done.connect(self._on_indexed)
        job.signals.failed.connect(self._on_index_failed)
        self._index_job = job
        self._pace = IndexPace(time.perf_counter())
        self._files_shown = 0
        self.guide.set_indexing(True)
        self.status.say("Preparing to index (loading the embedding model)…")
        self.library.show_progress("Preparing to index (loading the embedding model)…", 0, 0)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.pause_button.show()
        self.cancel_button.show()
        job.start()
        self.busy_changed.emit(True)

    def try_sample(self) -> None:
        """Index the bundled sample library (three small files) so there is something to ask about."""
        if not self.busy:
            self._indexing_sample = True
        self.index_paths([SAMPLE_DIR])

    def cancel_indexing(self) -> None:
        """Stop after the current batch (also while paused); finished files stay indexed."""
        if self._index_job is not None:
            self._index_job.cancel.set()
            self.status.say("Cancelling… finished files are kept.")

    def toggle_pause(self) -> None:
        """Pause the indexing run at its next batch, or resume a paused one."""
        job = self._index_job
        if job is None:
            return
        if job.paused:
            job.resume()
        else:
            job.pause()

    def _on_index_paused(self, paused: bool) -> None:
        now = time.perf_counter()
        self._pace.pause(now) if paused else self._pace.resume(now)
        self.library.set_paused(paused)
        self.pause_button.setText("Resume" if paused else "Pause")
        self.paused_changed.emit(paused)
        if paused:
            self.status.say("Indexing paused (the current batch finishes first); press Resume to go on.")

    def _on_index_progress(self, state: IndexProgress) -> None:
        if state.files_done != self._files_shown:
            self._files_shown = state.files_done
            self.refresh_library(watch=False)  # files appear as they finish
        self.progress.setRange(0, max(state.files_total, 1))
        self.progress.setValue(state.files_done)
        self.progress.setFormat(f"{state.files_done} / {state.files_total} files")
        pace = self._pace.describe(state, time.perf_counter())
        current = Path(state.current_file).name if state.current_file else ""
        held = "Paused · " if self.index_paused else ""
        self.library.show_progress(f"{held}{current}\n{pace}", state.files_done, max(state.files_total, 1))
        self.status.say(f"{held}Indexing {current} · {pace}")

    def _on_indexed(self, result: IndexResult) -> None:
        report = result.report
        done = len(report.indexed) + len(report.reused)
        problems = report.failed + report.skipped + report.partial
        absent = [] if self.library.shared else _absent_roots(report)  # a colleague's folders are not here
        verb = "Cancelled after indexing" if report.cancelled else "Indexed"
        self.status.say(
            f"{verb} {done} file(s), {report.chunks_embedded} passages in {report.seconds:.0f} s"
            + (f"; {len(problems)} skipped, failed or indexed in part (listed under the library)" if problems else "")
            + (f"; {len(absent)} not found or empty, their documents kept (listed under the library)" if absent else "")
        )
        sample = self._indexing_sample
        self._end_indexing()
        self.library.show_problems(absent + problems)
        self._show_listing(result.listing)
        if sample and done:
            self.sample_ready.emit(SAMPLE_QUESTION)

    def _on_index_failed(self, failure: Failure) -> None:
        self._end_indexing()
        self.status.fail("Indexing stopped: ", failure)
        self.refresh_library()

    def _end_indexing(self) -> None:
        self._index_job = None
        self._listing_job = None  # a listing asked for during the run is older than the run's own
        self._indexing_sample = False
        self.progress.hide()
        self.pause_button.hide()
        self.cancel_button.hide()
        self.pause_button.setText("Pause")
        self.library.end_progress()
        self.guide.set_indexing(False)
        self.paused_changed.emit(False)
        self.busy_changed.emit(False)

    @property
    def guide_shown(self) -> bool:
        """True while the first-run guide stands in for the conversation (an empty library)."""
        return self.centre_stack.currentWidget() is self.guide

    @property
    def listing(self) -> bool:
        """True while the library's listing is being read (see `refresh_library`)."""
        return self._listing_job is not None

    def refresh_library(self, watch: bool = True) -> None:
        """Reload the document list (read on a worker; `library_shown` says when it is on screen) and,
        with `watch`, watch the indexed folders for changes."""
        engine = self.engine
        job = Job(lambda _report, _cancel: read_listing(engine), owner=self)
        job.signals.done.connect(lambda listing: self._on_listing(job, engine, listing, watch))
        job.signals.failed.connect(lambda failure: self._on_listing_failed(job, failure))
        self._listing_job = job  # a newer listing supersedes an older one still on its way
        job.start()

    def _on_listing(self, job: Job, engine: object, listing: Listing, watch: bool) -> None:
        if job is not self._listing_job or engine is not self.engine:  # superseded, or another collection
            return
        self._listing_job = None
        self._show_listing(listing, watch)

    def _on_listing_failed(self, job: Job, failure: Failure) -> None:
        if job is self._listing_job:
            self._listing_job = None
            self.status.fail("The library could not be read: ", failure)

    def _show_listing(self, listing: Listing, watch: bool = True) -> None:
        """Show the catalogue in the library pane, and the first-run guide while nothing is indexed."""
        self.library.show_records(listing.records, [str(r) for r in listing.roots])
        self.listed.emit({r.path for r in listing.records})  # the scope keeps only what is still listed
        has_documents = any(r.status == "indexed" for r in listing.records)
        self.centre_stack.setCurrentWidget(self.chat if has_documents else self.guide)
        if watch:
            roots = [str(r) for r in listing.roots if os.path.exists(r)]  # Path's raises on EACCES
            watched = set(self.watcher.directories() + self.watcher.files())
            new = [r for r in roots if r not in watched]
            if new:
                self.watcher.addPaths(new)
        self.library_shown.emit()

    def _schedule_refresh(self, _path: str) -> None:
        self._refresh_timer.start()

    def _refresh_from_disk(self) -> None:
        """Re-index the library's folders after they changed on disk (debounced), unless busy."""
        if self.busy:
            self._refresh_timer.start()
        else:
            self.index_paths([])


def _absent_roots(report: IndexReport) -> list[FileIssue]:
    """A problem line for each folder or file of the library a refresh did not find, or found empty, that
    still holds documents (kept: an unplugged drive, a share not mounted): so the user learns why they
    stay, and can remove them from the line's menu. (An unreadable subfolder is a skipped issue already.)"""
    lines = []
    for root in report.kept_roots():
        if root.why == "unreadable folder" or not root.worth_saying:
            continue
        state = "not found" if root.why == "not found" else "empty now"
        held = f"; its {root.documents} document(s) stay in the library (a drive not connected?)"
        lines.append(FileIssue(root.path, IssueKind.MISSING, state + (held if root.documents else "")))
    return lines
