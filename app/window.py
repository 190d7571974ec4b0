"""The Footnotes window: the library on the left (drop files or folders on it), search in the centre."""

from __future__ import annotations

import html
import os
import sys
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QThreadPool
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.engine import Engine
from app.workers import Job
from indexer.indexer import IndexProgress, IndexReport
from indexer.store import DocumentRecord
from indexer.types import Hit

Index = QModelIndex | QPersistentModelIndex


class LibraryModel(QAbstractTableModel):
    """Documents of the library: name, status, chunks; the full path and any error on hover."""

    HEADERS = ("File", "Status", "Chunks")

    def __init__(self) -> None:
        super().__init__()
        self.records: list[DocumentRecord] = []

    def set_records(self, records: list[DocumentRecord]) -> None:
        """Replace the rows."""
        self.beginResetModel()
        self.records = records
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.records)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        record = self.records[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return (Path(record.path).name, record.status, str(record.chunk_count))[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{record.path}\n{record.error}" if record.error else record.path
        return None


class MainWindow(QMainWindow):
    """Library, search and indexing progress; all core work runs in pool jobs."""

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        self.setWindowTitle("Footnotes")
        self.setAcceptDrops(True)
        self.resize(1100, 700)
        self._job: Job | None = None

        self.library = LibraryModel()
        self.library_view = QTableView()
        self.library_view.setModel(self.library)
        self.library_view.horizontalHeader().setStretchLastSection(True)
        self.library_view.verticalHeader().hide()
        self.library_view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.library_view.setToolTip("Drop files or folders here to index them")

        self.query = QLineEdit(placeholderText="Search your files…")
        self.query.returnPressed.connect(self.search)
        self.results = QTextBrowser(openExternalLinks=False)
        self.results.setPlaceholderText("Drop files or folders on the window to add them to your library.")

        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m files")
        self.progress.hide()
        self.status_label = QLabel()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_indexing)
        self.cancel_button.hide()

        centre = QWidget()
        column = QVBoxLayout(centre)
        column.addWidget(self.query)
        column.addWidget(self.results)
        splitter = QSplitter()
        splitter.addWidget(self.library_view)
        splitter.addWidget(centre)
        splitter.setSizes([380, 720])
        footer = QHBoxLayout()
        footer.addWidget(self.status_label, 1)
        footer.addWidget(self.progress)
        footer.addWidget(self.cancel_button)
        root = QWidget()
        layout = QVBoxLayout(root)
        layout.addWidget(splitter, 1)
        layout.addLayout(footer)
        self.setCentralWidget(root)
        self._build_menu()
        self.refresh_library()

    def _build_menu(self) -> None:
        menu = self.menuBar().addMenu("&File")
        add_files = QAction("Add &files…", self, shortcut=QKeySequence.StandardKey.Open)
        add_files.triggered.connect(self._choose_files)
        add_folder = QAction("Add f&older…", self)
        add_folder.triggered.connect(self._choose_folder)
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        for action in (add_files, add_folder, quit_action):
            menu.addAction(action)

    def _choose_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add files to the library")
        if files:
            self.index_paths([Path(f) for f in files])

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder to the library")
        if folder:
            self.index_paths([Path(folder)])

    # -- drag and drop ----------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.index_paths(paths)

    # -- indexing ---------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """True while an indexing job runs."""
        return self._job is not None

    def index_paths(self, paths: list[Path]) -> None:
        """Index files and folders in the background, showing progress."""
        if self.busy:
            self.status_label.setText("Indexing is already running; drop again when it has finished.")
            return
        job = Job(lambda report, cancel: self.engine.index(paths, report, cancel))
        job.signals.progress.connect(self._on_progress)
        job.signals.done.connect(self._on_indexed)
        job.signals.failed.connect(self._on_failed)
        self._job = job
        self.status_label.setText("Loading the embedding model…")
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.show()
        job.start()

    def cancel_indexing(self) -> None:
        """Stop after the current batch; finished files stay indexed."""
        if self._job is not None:
            self._job.cancel.set()
            self.status_label.setText("Cancelling…")

    def _on_progress(self, state: IndexProgress) -> None:
        self.progress.setRange(0, max(state.files_total, 1))
        self.progress.setValue(state.files_done)
        current = Path(state.current_file).name if state.current_file else ""
        self.status_label.setText(f"Indexing {current} · {state.chunks_embedded} passages embedded")

    def _on_indexed(self, report: IndexReport) -> None:
        self._finish_job()
        done = len(report.indexed) + len(report.reused)
        problems = len(report.failed) + len(report.skipped)
        verb = "Cancelled after" if report.cancelled else "Indexed"
        self.status_label.setText(
            f"{verb} {done} file(s), {report.chunks_embedded} passages in {report.seconds:.0f} s"
            + (f"; {problems} skipped or failed (hover the library for reasons)" if problems else "")
        )
        self.refresh_library()

    def _on_failed(self, message: str) -> None:
        self._finish_job()
        self.status_label.setText(f"Error: {message}")
        self.refresh_library()

    def _finish_job(self) -> None:
        self._job = None
        self.progress.hide()
        self.cancel_button.hide()

    def refresh_library(self) -> None:
        """Reload the document list from the catalogue."""
        self.library.set_records(self.engine.store.documents())
        self.library_view.resizeColumnsToContents()

    # -- search -----------------------------------------------------------------------------
    def search(self) -> None:
        """Show the passages nearest to the query, computed in the background."""
        query = self.query.text().strip()
        if not query:
            return
        job = Job(lambda _report, _cancel: self.engine.search(query))
        job.signals.done.connect(self._show_hits)
        job.signals.failed.connect(lambda message: self.results.setPlainText(f"Error: {message}"))
        self._search_job = job
        self.results.setPlainText("Searching…")
        job.start()

    def _show_hits(self, hits: list[Hit]) -> None:
        if not hits:
            self.results.setPlainText("No passages found. Drop files on the window to build your library.")
            return
        blocks = [
            f"<p><b>[{n}] {html.escape(Path(h.chunk.path).name)}</b>, page {h.chunk.page}"
            f" <span style='color:gray'>({h.score:.2f})</span><br>{html.escape(h.chunk.text)}</p>"
            for n, h in enumerate(hits, start=1)
        ]
        self.results.setHtml("".join(blocks))

    def closeEvent(self, event) -> None:
        """Cancel indexing and wait for the current file to finish before closing."""
        if self._job is not None:
            self._job.cancel.set()
        QThreadPool.globalInstance().waitForDone(30_000)
        super().closeEvent(event)


def run_app(library: Path) -> int:
    """Open the window on a library and run the event loop."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Footnotes")
    window = MainWindow(Engine(library))
    window.show()
    return app.exec()
