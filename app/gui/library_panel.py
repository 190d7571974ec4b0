"""The library pane: every document with its status, counts, add buttons and the problems list."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QPoint, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices, QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QProgressBar,
    QPushButton,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.gui.a11y import describe_control
from indexer.attachments import container_of, display_name, lies_under
from indexer.scan import FileIssue
from indexer.store import DocumentRecord
from indexer.types import IssueKind

Index = QModelIndex | QPersistentModelIndex


class LibraryModel(QAbstractTableModel):
    """Documents of the library as rows: name, status, pages, passages; path and error on hover.

    A plain model over a list, so ten thousand files cost ten thousand rows of data, not widgets."""

    HEADERS = ("File", "Status", "Pages", "Passages")

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
            name = display_name(record.path)  # an attachment: "invoice.eml › report.pdf"
            status = "locked" if record.error_kind == IssueKind.LOCKED else record.status
            if record.status == "failed" and record.error and record.error_kind != IssueKind.LOCKED:
                status = f"failed: {record.error}"  # the reason in place, not only on hover
            return (name, status, str(record.page_count or ""), str(record.chunk_count or ""))[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            hint = "\nDouble-click to unlock it with its password." if record.error_kind == IssueKind.LOCKED else ""
            return f"{record.path}\n{record.error}{hint}" if record.error else record.path
        if role == Qt.ItemDataRole.ForegroundRole and record.status == "failed":
            return QColor("#b3261e")
        return None


class LibraryView(QTableView):
    """The library's table. The columns take their contents' width, except that the file names give way
    (elided in the middle, the full path on hover) to keep the status and the counts in sight when the
    pane is narrower than all of them: a long name pushed "Passages" out of a 320-pixel pane."""

    NAME_MIN = 90
    """The narrowest the file name column gets (pixels); past that, the table scrolls sideways."""

    def __init__(self) -> None:
        super().__init__()
        self._natural: list[int] = []
        """Each column's width for its contents and header, as of the last `fit_to_contents`."""
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # "quarterly-rep…final.pdf": both ends stay
        self.setWordWrap(False)  # one line a file: wrapped, a name was cut at both line ends

    def fit_to_contents(self) -> None:
        """Size every column to its contents (the first rows', see `setResizeContentsPrecision`), then fit."""
        header = self.horizontalHeader()
        columns = self.model().columnCount() if self.model() is not None else 0
        self._natural = [max(self.sizeHintForColumn(c), header.sectionSizeHint(c)) for c in range(columns)]
        self._fit()

    def _fit(self) -> None:
        if not self._natural:
            return
        header = self.horizontalHeader()
        width = self.viewport().width()
        widths = [max(self.NAME_MIN, min(self._natural[0], width - sum(self._natural[1:]))), *self._natural[1:]]
        widths[-1] += max(0, width - sum(widths))  # the last column takes what is left over
        for column, size in enumerate(widths):
            header.resizeSection(column, size)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()


class LibraryPanel(QWidget):
    """The left pane. Emits `add_files` / `add_folder` when its buttons are pressed."""

    add_files = Signal()
    add_folder = Signal()
    unlock = Signal(str)
    """A locked PDF's path, when the user asks to unlock it."""
    forget = Signal(str)
    """A folder or file added to the library (a root), when the user asks to remove it and what it holds."""
    collection_chosen = Signal(str)
    """The name of the collection picked in the switcher."""
    new_collection = Signal()
    rename_collection = Signal()
    delete_collection = Signal()
    selection_changed = Signal()
    """The selected documents changed (they are what a question is asked about)."""
    pause_clicked = Signal()
    """Pause (or resume) the indexing run."""
    cancel_clicked = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.model = LibraryModel()
        self.shared = False
        """A shared library on a database server (see `set_shared`)."""
        self.roots: list[str] = []
        """The folders and files added to the library (`show_records`): what "Remove from library" removes."""
        self.view = LibraryView()
        self.view.setModel(self.model)
        # Column widths from the first rows only: sizing from every row made 10,000 files cost ~9x 100 files.
        self.view.horizontalHeader().setResizeContentsPrecision(200)
        self.view.verticalHeader().hide()
        self.view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.view.setAlternatingRowColors(True)
        self.view.setToolTip("Drop files or folders anywhere on the window to index them")
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.view.doubleClicked.connect(self._activated)
        self.view.setTabKeyNavigation(False)  # Tab leaves the list; arrows move within it
        describe_control(self.view, "Library", "The indexed files; select some to ask about them only")
        self.counts = QLabel()
        self.problems = QListWidget()
        self.problems.setMaximumHeight(110)
        self.problems.setWordWrap(True)  # a reason is read whole, not scrolled to sideways
        self.problems.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.problems.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.problems.customContextMenuRequested.connect(self._problem_menu)
        describe_control(self.problems, "Problems", "Files the last run skipped or could not read, with the reason")
        self.problems.hide()
        self.files_button = QPushButton("Add files…")
        self.folder_button = QPushButton("Add folder…")
        describe_control(self.files_button, "Add files", "Choose files to add to the library")
        describe_control(self.folder_button, "Add folder", "Choose a folder to add to the library")
        self.files_button.clicked.connect(self.add_files)
        self.folder_button.clicked.connect(self.add_folder)
        buttons = QHBoxLayout()
        buttons.addWidget(self.files_button)
        buttons.addWidget(self.folder_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._collection_row())
        self.view.selectionModel().selectionChanged.connect(lambda *_: self.selection_changed.emit())
        title = QLabel("<b>Library</b>")
        layout.addWidget(title)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.counts)
        layout.addLayout(self._progress_area())
        layout.addWidget(self.problems)
        layout.addLayout(buttons)

    def _progress_area(self) -> QVBoxLayout:
        """What an indexing run is doing (file, counts, rate, time left), with Pause/Resume and Cancel."""
        self.progress_label = QLabel()
        self.progress_label.setWordWrap(True)
        self.progress_label.setAccessibleName("Indexing progress")
        self.progress_bar = QProgressBar()
        self.progress_bar.setAccessibleName("Files indexed")
        self.pause_button = QPushButton("Pause")
        describe_control(self.pause_button, "Pause indexing", "Hold indexing after this batch; press again to resume")
        self.pause_button.clicked.connect(self.pause_clicked)
        self.cancel_button = QPushButton("Cancel")
        describe_control(self.cancel_button, "Cancel indexing", "Stop indexing; files finished so far stay indexed")
        self.cancel_button.clicked.connect(self.cancel_clicked)
        row = QHBoxLayout()
        row.addWidget(self.progress_bar, 1)
        row.addWidget(self.pause_button)
        row.addWidget(self.cancel_button)
        area = QVBoxLayout()
        area.addWidget(self.progress_label)
        area.addLayout(row)
        self._progress_widgets = (self.progress_label, self.progress_bar, self.pause_button, self.cancel_button)
        for widget in self._progress_widgets:
            widget.hide()
        return area

    def show_progress(self, text: str, done: int, total: int) -> None:
        """Show a run's progress: `text` (file, counts, rate, time left) and `done` of `total` files
        (total 0: not known yet)."""
        self.progress_label.setText(text)
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(done)
        self.progress_bar.setFormat(f"{done} / {total} files")
        for widget in self._progress_widgets:
            widget.show()

    def set_paused(self, paused: bool) -> None:
        """Label the pause button for what pressing it does next."""
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_button.setAccessibleName("Resume indexing" if paused else "Pause indexing")

    def end_progress(self) -> None:
        """Hide the progress area (the run ended)."""
        self.set_paused(False)
        for widget in self._progress_widgets:
            widget.hide()

    def _collection_row(self) -> QHBoxLayout:
        """The collection switcher and its New…/Rename…/Delete… menu."""
        self.collections = QComboBox()
        describe_control(self.collections, "Collection", "The collection shown: each has its own library and chats")
        self.collections.setToolTip("Each collection has its own library and chats")
        self.collections.activated.connect(lambda row: self.collection_chosen.emit(self.collections.itemText(row)))
        manage = QToolButton(text="…")
        describe_control(manage, "Manage collections", "New, rename or delete a collection")
        manage.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(manage)
        menu.addAction("New collection…", self.new_collection.emit)
        self.rename_action = menu.addAction("Rename collection…", self.rename_collection.emit)
        self.delete_action = menu.addAction("Delete collection…", self.delete_collection.emit)
        manage.setMenu(menu)
        row = QHBoxLayout()
        row.addWidget(self.collections, 1)
        row.addWidget(manage)
        return row

    def show_collections(self, names: list[str], current: str, registered: bool = True) -> None:
        """Fill the switcher, showing `current`; a library that is not a registered collection (a shared
        library, a folder given for one run) cannot be renamed or deleted from here."""
        self.collections.blockSignals(True)
        self.collections.clear()
        self.collections.addItems(names)
        self.collections.setCurrentText(current)
        self.collections.blockSignals(False)
        self.collections.setToolTip(current if not registered else "Each collection has its own library and chats")
        self.rename_action.setEnabled(registered)
        self.delete_action.setEnabled(registered)

    def set_shared(self, shared: bool) -> None:
        """Whether the library is a shared one on a database server: its documents' paths are where they
        were indexed, maybe on another computer, so *Show in folder* is offered only for files that are here."""
        self.shared = shared

    def selected_paths(self) -> list[str]:
        """The paths of the selected documents, in list order."""
        rows = sorted({index.row() for index in self.view.selectionModel().selectedRows()})
        return [self.model.records[row].path for row in rows]

    def select_paths(self, paths: tuple[str, ...]) -> None:
        """Select the documents at these paths (none: clear the selection)."""
        self.view.clearSelection()
        selection = self.view.selectionModel()
        flags = selection.SelectionFlag.Select | selection.SelectionFlag.Rows
        for row, record in enumerate(self.model.records):
            if record.path in paths:
                selection.select(self.model.index(row, 0), flags)

    def _record_at(self, index: QModelIndex) -> DocumentRecord | None:
        return self.model.records[index.row()] if index.isValid() else None

    def _context_menu(self, position: QPoint) -> None:
        index = self.view.indexAt(position)
        record = self._record_at(index if index.isValid() else self.view.currentIndex())  # or the Menu key's row
        if record is None:
            return
        menu = self.menu_for(record)
        if not menu.isEmpty():
            menu.exec(self.view.viewport().mapToGlobal(position))

    def menu_for(self, record: DocumentRecord) -> QMenu:
        """The actions on one document: unlock it, show it in its folder, remove what it was added with."""
        menu = QMenu(self)
        if record.error_kind == IssueKind.LOCKED:
            menu.addAction("Unlock with password…", lambda: self.unlock.emit(record.path))
        if not self.shared or is_here(record.path):
            menu.addAction("Show in folder", lambda: show_in_folder(record.path))
        root = self.root_of(record.path)
        if root is not None:
            menu.addSeparator()
            self._add_remove(menu, root)
        return menu

    def _add_remove(self, menu: QMenu, root: str) -> None:
        """The action that removes a folder or file added to the library (`forget`), named after it."""
        menu.addAction(f"Remove “{Path(root).name or root}” from the library…", lambda: self.forget.emit(root))

    def root_of(self, path: str) -> str | None:
        """The folder or file added to the library that `path` came in with (the innermost), if any."""
        holding = [r for r in self.roots if lies_under(path, r)]
        return max(holding, key=len) if holding else None

    def _problem_menu(self, position: QPoint) -> None:
        item = self.problems.itemAt(position) or self.problems.currentItem()
        if item is None:
            return
        menu = self.problem_menu_for(str(item.data(Qt.ItemDataRole.UserRole)))
        if not menu.isEmpty():
            menu.exec(self.problems.viewport().mapToGlobal(position))

    def problem_menu_for(self, path: str) -> QMenu:
        """The actions on one problem line: show the file in its folder (when it is here); for a folder or
        file of the library (one not found, say), remove it and what the library holds from it."""
        menu = QMenu(self)
        if is_here(path):
            menu.addAction("Show in folder", lambda: show_in_folder(path))
        if path in self.roots:
            self._add_remove(menu, path)
        return menu

    def drop_problems_under(self, root: str) -> None:
        """Take the lines of `root` and of what lies under it off the problems list (it left the library)."""
        for row in reversed(range(self.problems.count())):
            if lies_under(str(self.problems.item(row).data(Qt.ItemDataRole.UserRole)), root):
                self.problems.takeItem(row)
        self.problems.setVisible(self.problems.count() > 0)

    def _activated(self, index: QModelIndex) -> None:
        record = self._record_at(index)
        if record is not None and record.error_kind == IssueKind.LOCKED:
            self.unlock.emit(record.path)

    def show_records(self, records: list[DocumentRecord], roots: list[str] | None = None) -> None:
        """Show the catalogue's documents and their counts (and keep the library's `roots`, when given)."""
        self.model.set_records(records)
        if roots is not None:
            self.roots = roots
        self.view.fit_to_contents()
        indexed = [r for r in records if r.status == "indexed"]
        failed = len(records) - len(indexed)
        passages = sum(r.chunk_count for r in indexed)
        self.counts.setText(
            f"{len(indexed)} documents · {passages} passages" + (f" · {failed} failed" if failed else "")
        )

    def show_problems(self, issues: list[FileIssue]) -> None:
        """List the files the last run skipped or could not read, with reasons (no dialog storms)."""
        self.problems.clear()
        for issue in issues:
            item = QListWidgetItem(f"{Path(issue.path).name or issue.path}: {issue.reason}")
            item.setData(Qt.ItemDataRole.UserRole, issue.path)
            action = "Remove from the library" if issue.kind == IssueKind.MISSING else "Show in folder"
            item.setToolTip(f"{issue.path}\nRight-click (or Menu key): {action}")
            self.problems.addItem(item)
        self.problems.setVisible(bool(issues))


def _file_of(path: str) -> Path:
    """The file on disk a document's path names (an attachment: its mail)."""
    while (container := container_of(path)) is not None:
        path = container
    return Path(path)


def is_here(path: str) -> bool:
    """True when the file a document's path names is on this computer."""
    return _file_of(path).exists()


def folder_url(path: str) -> QUrl:
    """The folder holding `path` (an attachment: its mail's folder), as the desktop opens it."""
    return QUrl.fromLocalFile(str(_file_of(path).parent))


def show_in_folder(path: str) -> None:
    """Open the folder holding `path` in the system's file manager."""
    QDesktopServices.openUrl(folder_url(path))
