"""The window on a shared library (PostgreSQL): choosing one in Settings opens it now and at the next start,
and a choice made later wins. Offscreen, with a real server started by `pgserver` (`pg_server`) where the
store must really open, and a closed loopback port where only the chosen location matters."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import free_port, new_database
from PySide6.QtCore import QPoint, QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMenu
from pytestqt.qtbot import QtBot

from app.core.chats import Chat, ChatStore
from app.core.collections import database_chats_dir
from app.core.engine import Engine, location_text
from app.core.settings import Settings, load_settings, save_settings
from app.gui.launch import window_start
from app.gui.window import MainWindow
from indexer.store import DocumentRecord


@pytest.fixture
def saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> QSettings:
    """Saved settings in a file of the test's own, over a folder library that is the Default collection."""
    monkeypatch.setenv("FOOTNOTES_COLLECTIONS", str(tmp_path / "collections"))
    monkeypatch.setenv("FOOTNOTES_LIBRARY", str(tmp_path / "lib"))
    settings = QSettings(str(tmp_path / "footnotes.ini"), QSettings.Format.IniFormat)
    save_settings(settings, Settings(library=str(tmp_path / "lib")))
    return settings


@pytest.fixture
def messages(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The message boxes the window shows (none is shown: a modal box would wait for a click)."""
    shown: list[str] = []

    def record(_parent: object, _title: str, text: str, *_args: object) -> None:
        shown.append(text)

    monkeypatch.setattr("app.gui.window.QMessageBox.information", record)
    monkeypatch.setattr("app.gui.window.QMessageBox.warning", record)
    return shown


@pytest.fixture
def open_window(qtbot: QtBot, saved: QSettings) -> Iterator[Callable[[], MainWindow]]:
    """Open the window as `run_app` does (`window_start`, then its engine); closed, with its libraries, after."""
    opened: list[MainWindow] = []

    def start() -> MainWindow:
        plan = window_start(saved)
        engine = Engine.from_settings(plan.settings, plan.location)
        window = MainWindow(engine, saved, plan.preferences, collections=plan.collections)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: not window.indexing.listing, timeout=30_000)
        opened.append(window)
        return window

    yield start
    for window in opened:
        window.close()
        for engine in window.chats.engines.values():
            engine.close()


def _accept_settings(monkeypatch: pytest.MonkeyPatch, edit: Callable[[Settings], Settings]) -> None:
    """The Settings dialog, accepted with `edit` applied to the settings it was opened with."""

    class Accepted:
        def __init__(self, settings: Settings, _parent: object = None) -> None:
            self.settings = settings

        def exec(self) -> int:
            return 1

        def result_settings(self) -> Settings:
            return edit(self.settings)

    monkeypatch.setattr("app.gui.window.SettingsDialog", Accepted)


def _switcher(window: MainWindow) -> list[str]:
    box = window.library.collections
    return [box.itemText(i) for i in range(box.count())]


def test_a_shared_library_chosen_in_settings_opens_now_and_at_the_next_start_until_another_choice(
    qtbot: QtBot,
    tmp_path: Path,
    pg_server: object,
    saved: QSettings,
    open_window: Callable[[], MainWindow],
    messages: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = new_database(pg_server)
    window = open_window()
    assert window.chats.collection.name == "Default" and window.engine.folder == tmp_path / "lib"

    _accept_settings(monkeypatch, lambda settings: replace(settings, store=url))
    window.open_settings()
    qtbot.waitUntil(lambda: not window.indexing.listing, timeout=30_000)
    assert window.engine.store.location == location_text(url)  # open now, in this window
    assert messages == [] and load_settings(saved).store == url
    window.close()
    assert window_start(saved).location == url  # and at the next start: not the Default collection

    window = open_window()
    assert window.engine.store.location == location_text(url)
    store_entry = window.chats.collection.name
    window.chats.switch_collection("Default")  # a later choice wins
    qtbot.waitUntil(lambda: not window.indexing.listing, timeout=30_000)
    assert window_start(saved).location == tmp_path / "lib"
    assert store_entry in _switcher(window)  # the shared library stays in the list, to go back to
    window.chats.switch_collection(store_entry)
    qtbot.waitUntil(lambda: not window.indexing.listing, timeout=30_000)
    assert window.engine.store.location == location_text(url) and window_start(saved).location == url
    window.close()
    assert window_start(saved).location == url


def test_a_shared_library_that_cannot_be_opened_leaves_the_window_and_the_setting_as_they_were(
    tmp_path: Path,
    saved: QSettings,
    open_window: Callable[[], MainWindow],
    messages: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = open_window()
    url = f"postgresql://alice@127.0.0.1:{free_port()}/team"  # nothing listens there
    _accept_settings(
        monkeypatch, lambda settings: replace(settings, store=url, retrieval=replace(settings.retrieval, top_k=7))
    )
    window.open_settings()
    assert window.engine.folder == tmp_path / "lib" and window.chats.collection.name == "Default"
    [warning] = messages
    assert f"cannot reach the library database at {url}" in warning and "stays on Default" in warning
    assert window.preferences.store == "" and load_settings(saved).store == ""  # Settings says what is open
    assert load_settings(saved).retrieval.top_k == 7  # the rest of the edit is kept
    assert window_start(saved).location == tmp_path / "lib"

    _accept_settings(monkeypatch, lambda settings: replace(settings, store="db.example/team"))
    window.open_settings()
    assert "starts with postgresql://" in messages[-1] and load_settings(saved).store == ""
    assert not (Path.cwd() / "db.example").exists()


def test_collection_and_library_on_the_command_line_are_choices_for_the_next_start(
    tmp_path: Path, saved: QSettings
) -> None:
    trips = window_start(saved).collections.create("Trips")
    assert window_start(saved, collection="Trips").location == trips.library
    assert window_start(saved).location == trips.library  # --collection is remembered
    other = tmp_path / "other"
    assert window_start(saved, other).location == other
    save_settings(saved, window_start(saved, other).preferences)  # as the window saves them on closing
    assert window_start(saved).location == other


def test_the_chats_of_a_shared_library_are_kept_in_the_user_data_folder_per_database_without_the_password(
    tmp_path: Path,
    pg_server: object,
    saved: QSettings,
    open_window: Callable[[], MainWindow],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # the folder the app was started from: nothing may land here
    url = new_database(pg_server).replace("postgres:@", "postgres:s3cret-pw@")  # the test server trusts anyone
    save_settings(saved, Settings(library=str(tmp_path / "lib"), store=url))
    window = open_window()
    assert window.engine.store.location == location_text(url) and "s3cret" not in location_text(url)
    chats = window.chats.collection.chats
    assert chats.is_relative_to(tmp_path / "collections") and chats.is_absolute()
    window.chats.chat_store.save(Chat(model="light", turns=[{"question": "Who descales?", "answer": {}}]))
    assert [c.title for c in ChatStore(chats).list()] == ["Who descales?"]
    assert list(work.iterdir()) == []

    other = new_database(pg_server)  # another database on the same server: chats of its own
    assert database_chats_dir(other, tmp_path / "collections") != chats
    assert database_chats_dir(url.replace("s3cret-pw", "another"), tmp_path / "collections") == chats
    assert database_chats_dir(f"{other}&password=s3cret-pw", tmp_path / "collections") == database_chats_dir(
        other, tmp_path / "collections"
    )
    window.close()
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "footnotes.ini"]  # the user's own setting
    assert written and not [p for p in written if "s3cret" in str(p) or "s3cret" in p.read_text(errors="ignore")]


def test_the_window_names_a_shared_library_by_its_url_and_offers_no_folder_it_has_not(
    qtbot: QtBot,
    tmp_path: Path,
    pg_server: object,
    saved: QSettings,
    open_window: Callable[[], MainWindow],
) -> None:
    url = new_database(pg_server).replace("postgres:@", "postgres:s3cret-pw@")
    shown = location_text(url)
    save_settings(saved, Settings(library=str(tmp_path / "lib"), store=url))
    window = open_window()
    assert window.chats.collection.name == shown and window.library.collections.currentText() == shown
    assert f"Library: {shown}\n" in window.model.about_text()  # not postgresql:/postgres@/… read as a path
    assert "s3cret" not in window.model.about_text() + " ".join(_switcher(window))
    assert not window.library.rename_action.isEnabled() and not window.library.delete_action.isEnabled()

    here = tmp_path / "here.txt"
    here.write_text("on this computer")
    elsewhere = "/home/bob/Shared/Manuals/boiler.pdf"  # indexed on a teammate's computer
    window.library.show_records([_record(1, str(here)), _record(2, elsewhere)])
    assert _offered(qtbot, window, 0) == ["Show in folder"]
    assert _offered(qtbot, window, 1) == []  # no folder to show for a file that is not here

    window.chats.switch_collection("Default")  # a folder collection: everything as before
    qtbot.waitUntil(lambda: not window.indexing.listing, timeout=30_000)
    assert window.library.rename_action.isEnabled() and window.library.delete_action.isEnabled()
    window.library.show_records([_record(2, elsewhere)])
    assert _offered(qtbot, window, 0) == ["Show in folder"]


def _offered(qtbot: QtBot, window: MainWindow, row: int) -> list[str]:
    """What the library's context menu offers for a row (opened with the Menu key, then closed)."""
    seen: list[str] = []

    def look() -> None:
        menu = QApplication.activePopupWidget()
        if isinstance(menu, QMenu):
            seen.extend(action.text() for action in menu.actions())
            menu.close()

    QTimer.singleShot(300, look)
    window.library.view.setCurrentIndex(window.library.model.index(row, 0))
    window.library._context_menu(QPoint(-1, -1))  # the Menu key: the current row
    qtbot.wait(400)  # the look happens, at the latest, here
    return seen


def _record(number: int, path: str) -> DocumentRecord:
    return DocumentRecord(number, path, f"hash{number}", 10, 0.0, "indexed", None, None, "text", 1, 1)
