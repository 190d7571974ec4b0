"""The window's library side: a large library stays responsive, the first-run guide, folders not found or
removed, the file list's layout, a withheld draft shown on request (split from test_window.py, whose helpers
they use)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot
from test_window import _click_link, _window

from app.gui.chat_view import ChatView
from app.gui.window import SAMPLE_DIR
from rag.citations import CitedAnswer
from rag.prompt import REFUSAL

KETTLE_FACT = "The Zephyr-9 kettle has a warranty of seven years."


def test_a_library_of_ten_thousand_files_stays_responsive(qtbot: QtBot, tmp_path: Path) -> None:
    from indexer.store import DocumentRecord

    window = _window(qtbot, tmp_path)
    records = [
        DocumentRecord(i, f"/archive/{i:05d}-letter.pdf", "h", 1, 0.0, "indexed", None, None, "pypdf", 3, 7)
        for i in range(10_000)
    ]
    window.library.show_records(records)
    for row in range(0, 10_000, 500):  # scroll through the whole list
        window.library.view.scrollTo(window.library.model.index(row, 0))
        qtbot.wait(5)
    assert window.library.model.rowCount() == 10_000
    assert "10000 documents" in window.library.counts.text()
    # A model/view table: rows are data, not widgets, so the view creates no widget per file
    # (how long showing them takes is measured in bench/ratios.py, not asserted here).
    assert len(window.library.view.findChildren(QWidget)) < 100


def test_an_empty_library_guides_to_the_sample_library(qtbot: QtBot, tmp_path: Path) -> None:
    window = _window(qtbot, tmp_path)
    assert window.indexing.guide_shown and window.guide.isVisible() and not window.chat.isVisible()
    button = window.guide.sample_button
    assert button.isVisible() and button.isEnabled() and button.accessibleName() == "Try the sample library"
    assert window.guide.model_label.text() == window.model_label.text() != ""
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert window.indexing.busy and not button.isEnabled()
    qtbot.waitUntil(
        lambda: sum(r.status == "indexed" for r in window.library.model.records) == 3 and not window.indexing.busy,
        timeout=120_000,
    )
    assert {Path(r.path).name for r in window.library.model.records} == {p.name for p in SAMPLE_DIR.iterdir()}
    assert not window.indexing.guide_shown and not window.guide.isVisible() and window.chat.isVisible()
    assert window.query.placeholderText().startswith("Try: ")

    window.engine.store.remove_documents([r.path for r in window.engine.store.documents()])
    with qtbot.waitSignal(window.indexing.library_shown, timeout=30_000):  # the listing is read off the GUI thread
        window.indexing.refresh_library()
    assert window.indexing.guide_shown and window.guide.isVisible() and button.isEnabled()  # emptied: the guide is back


def test_a_folder_not_found_on_refresh_is_listed_with_its_kept_documents_and_can_be_removed(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """A refresh that does not find a folder of the library (an unplugged drive) keeps its documents and
    says so under the library, with a menu that removes them; back in place, the line goes."""
    from PySide6.QtWidgets import QApplication, QMessageBox

    window = _window(qtbot, tmp_path)
    notes, away = tmp_path / "notes", tmp_path / "elsewhere"
    notes.mkdir()
    (notes / "a.txt").write_text("The lighthouse keeper logs the fog horn every night.\n")
    (notes / "b.txt").write_text("A second note, about the harbour master's ledger.\n")
    window.indexing.index_paths([notes])
    qtbot.waitUntil(lambda: not window.indexing.busy and len(window.library.model.records) == 2, timeout=120_000)
    notes.rename(away)  # the drive is unplugged
    window.indexing.index_paths([])  # F5 (the watcher would too)
    qtbot.waitUntil(lambda: not window.indexing.busy and window.library.problems.count() == 1, timeout=60_000)
    line = window.library.problems.item(0)
    assert line.text() == "notes: not found; its 2 document(s) stay in the library (a drive not connected?)"
    assert "1 not found or empty, their documents kept" in window.status_label.text()
    assert len(window.library.model.records) == 2  # kept, still searched
    assert [h.chunk.path for h in window.engine.store.search_keyword("lighthouse fog", 5)] == [str(notes / "a.txt")]
    away.rename(notes)  # plugged in again: the next refresh has nothing to say
    window.indexing.index_paths([])
    qtbot.waitUntil(lambda: not window.indexing.busy, timeout=60_000)
    assert window.library.problems.count() == 0 and window.library.problems.isHidden()
    notes.rename(away)
    window.indexing.index_paths([])
    qtbot.waitUntil(lambda: not window.indexing.busy and window.library.problems.count() == 1, timeout=60_000)
    menu = window.library.problem_menu_for(str(notes))
    assert [a.text() for a in menu.actions()] == ["Remove “notes” from the library…"]  # nothing to show in a folder

    def confirm() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        box.button(QMessageBox.StandardButton.Yes).click()

    QTimer.singleShot(0, confirm)
    menu.actions()[0].trigger()
    qtbot.waitUntil(lambda: not window.library.model.records, timeout=30_000)
    assert window.library.problems.count() == 0 and window.library.problems.isHidden()
    assert str(notes) not in window.library.roots
    assert (away / "a.txt").exists()


def test_a_withheld_draft_is_revealed_on_request(qtbot: QtBot) -> None:
    chat = ChatView()
    qtbot.addWidget(chat)
    chat.resize(700, 500)
    chat.show()
    draft = "The Zephyr-9 kettle is guaranteed for ninety years."
    chat.start_turn("How long is the kettle guaranteed?")
    chat.finish_turn(CitedAnswer("How long is the kettle guaranteed?", REFUSAL, {}, [], refused=True, withheld=draft))
    assert REFUSAL in chat.toPlainText() and "Show the unsupported draft" in chat.toPlainText()
    assert draft not in chat.toPlainText()
    _click_link(chat, "draft:0")
    shown = chat.toPlainText()
    assert draft in shown and "Unsupported draft" in shown and "Hide the draft" in shown
    _click_link(chat, "draft:0")
    assert draft not in chat.toPlainText()


def test_a_folder_removed_in_the_window_leaves_the_library_and_its_files_stay(qtbot: QtBot, tmp_path: Path) -> None:
    """A document's menu offers to remove the folder it was added with; confirmed, the folder's documents
    leave the library (listing, watcher, search) on a worker, and the files on disk stay."""
    from PySide6.QtWidgets import QApplication, QMessageBox

    window = _window(qtbot, tmp_path)
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text("The lighthouse keeper logs the fog horn every night.\n")
    (notes / "b.txt").write_text("A second note, about the harbour master's ledger.\n")
    window.indexing.index_paths([notes, SAMPLE_DIR / "travel-log.txt"])
    qtbot.waitUntil(lambda: not window.indexing.busy and len(window.library.model.records) == 3, timeout=120_000)
    qtbot.waitUntil(lambda: str(notes) in window.indexing.watcher.directories(), timeout=10_000)
    record = next(r for r in window.library.model.records if r.path == str(notes / "a.txt"))
    window.library.select_paths((record.path,))  # asking about it: the scope goes with the file
    assert window.chats.scope.files == (record.path,)
    [remove] = [a for a in window.library.menu_for(record).actions() if a.text().startswith("Remove")]
    assert remove.text() == "Remove “notes” from the library…"
    texts: list[str] = []

    def confirm() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        texts.extend([box.text(), box.informativeText()])
        box.button(QMessageBox.StandardButton.Yes).click()

    QTimer.singleShot(0, confirm)
    remove.trigger()  # the dialog opens; `confirm` answers Yes
    assert texts[0] == f"Remove {notes} from the library?" and texts[1].startswith("Its 2 document(s) leave")
    qtbot.waitUntil(lambda: len(window.library.model.records) == 1, timeout=30_000)
    assert [Path(r.path).name for r in window.library.model.records] == ["travel-log.txt"]
    assert str(notes) not in window.library.roots and str(notes) not in window.indexing.watcher.directories()
    assert window.engine.store.search_keyword("lighthouse fog horn", 5) == []
    assert (notes / "a.txt").exists() and (notes / "b.txt").exists()  # the files themselves are untouched
    assert window.status_label.text().startswith(f"Removed {notes} from the library (2 document(s))")
    assert window.chats.scope.whole and window.scope_label.text().startswith("Ask about: whole collection")


def test_a_long_file_name_gives_way_so_the_counts_stay_in_sight(qtbot: QtBot) -> None:
    """In a narrow library pane the file name column shrinks (its text elided in the middle) so that
    Status, Pages and Passages stay visible, instead of a long name pushing them out of sight; in a
    wide one every column keeps its contents' width."""
    from app.gui.library_panel import LibraryPanel
    from indexer.store import DocumentRecord

    panel = LibraryPanel()
    qtbot.addWidget(panel)
    panel.resize(320, 400)
    panel.show()
    name = "quarterly-report-of-the-harbour-master-to-the-lighthouse-board-2026-final-version.pdf"
    record = DocumentRecord(1, f"/docs/{name}", "h", 1, 0.0, "indexed", None, None, "pdf", 12, 345)
    panel.show_records([record])
    view, header = panel.view, panel.view.horizontalHeader()
    last = panel.model.columnCount() - 1
    assert header.sectionViewportPosition(last) + header.sectionSizeHint(last) <= view.viewport().width()
    assert header.sectionSize(0) < view.sizeHintForColumn(0)  # the name gave way
    qtbot.waitUntil(lambda: view.horizontalScrollBar().maximum() == 0, timeout=5_000)  # nothing to scroll to
    panel.resize(1000, 400)  # room for everything: the name at its full width
    qtbot.waitUntil(lambda: header.sectionSize(0) >= view.sizeHintForColumn(0), timeout=5_000)


def test_a_listing_that_arrives_after_its_window_is_gone_reaches_nothing(qtbot: QtBot, tmp_path: Path) -> None:
    """A job's signals die with the controller that started it: a listing read off the GUI thread that ends
    after the window was deleted does not reach its deleted library view (seen in CI's test order)."""
    import shiboken6
    from PySide6.QtCore import QSettings, QThreadPool

    from app.core.engine import Engine
    from app.core.settings import Settings
    from app.gui.window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(Engine(tmp_path / "lib", Settings.preset("light")), settings)
    shown: list[object] = []
    window.indexing.library_shown.connect(lambda: shown.append(True))
    assert window.indexing.listing  # the first listing is on its way
    shiboken6.delete(window)
    QThreadPool.globalInstance().waitForDone(30_000)
    qtbot.wait(200)  # what the worker sent is delivered now, or dropped: an error here fails the test
    assert shown == []


def test_a_user_error_in_the_window_names_the_windows_menus_not_the_commands_flags(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """A library built with another embedder refuses to be indexed with this one: the window says what to do
    in its Settings, where the command line names --embedder-url and --library (the rebuild, which only
    the command line offers, is named as a command to run in a terminal)."""
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "kettle.txt").write_text(KETTLE_FACT, encoding="utf-8")
    window = _window(qtbot, tmp_path)
    window.indexing.index_paths([folder])
    qtbot.waitUntil(lambda: not window.indexing.busy, timeout=120_000)
    assert window.status_label.text().startswith("Indexed 1 file")
    with sqlite3.connect(tmp_path / "lib" / "catalogue.sqlite") as catalogue:  # as if another embedder built it
        catalogue.execute("UPDATE meta SET value = 'another-embedder' WHERE key = 'embedder_name'")
    (folder / "descaling.txt").write_text("Descale the kettle every month.", encoding="utf-8")
    window.indexing.index_paths([folder])
    qtbot.waitUntil(lambda: not window.indexing.busy, timeout=120_000)
    shown = window.status_label.text()
    assert "built with the embedder 'another-embedder'" in shown
    assert "(no embeddings server URL in Settings)" in shown and "another library folder in Settings" in shown
    assert "--embedder-url" not in shown and "--library" not in shown and "--store" not in shown
