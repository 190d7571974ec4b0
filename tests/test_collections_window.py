"""Collections, the chat list and scope in the window: offscreen, real widgets, embedder and light model."""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QSettings
from pytestqt.qtbot import QtBot

from app.core.engine import Engine
from app.core.settings import Settings
from app.gui.window import MainWindow

SAMPLE = Path(__file__).resolve().parents[1] / "assets" / "sample"
DESCALE = "How often should I descale the Aurora 3?"


def _folder(tmp_path: Path, name: str, *files: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for file in files:
        shutil.copy(SAMPLE / file, folder)
    return folder


def _index(qtbot: QtBot, window: MainWindow, folder: Path) -> None:
    window.indexing.index_paths([folder])
    qtbot.waitUntil(lambda: not window.indexing.busy, timeout=180_000)


def _select(window: MainWindow, name: str) -> None:
    """Select one file's row in the library list, as a user clicks it."""
    records = window.library.model.records
    row = next(i for i, r in enumerate(records) if r.path.endswith(name))
    window.library.view.selectionModel().select(
        window.library.model.index(row, 0),
        QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
    )


def test_collections_chats_and_scope_in_the_window(qtbot: QtBot, tmp_path: Path) -> None:
    appliances = _folder(tmp_path, "appliances", "aurora3-user-guide.pdf", "beekeeping-notes.md")
    travel = _folder(tmp_path, "travel", "travel-log.txt")
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(Engine(tmp_path / "lib", Settings.preset("light")), settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: not window.indexing.listing, timeout=30_000)
    assert window.chats.collection.name == "Default" and window.library.collections.currentText() == "Default"
    _index(qtbot, window, appliances)
    default_engine = window.engine
    assert "aurora3-user-guide.pdf" in {Path(h.chunk.path).name for h in default_engine.search(DESCALE)}

    # Select the bee notes in the library, as a user does: the question is about them only.
    _select(window, "beekeeping-notes.md")
    assert window.scope_label.text() == "Ask about: the 1 selected file"
    window.query.setText(DESCALE)
    with qtbot.waitSignal(window.answers.evidence_shown, timeout=120_000) as shown:
        window.answers.ask()
    assert {Path(p.chunk.path).name for p in shown.args[0]} == {"beekeeping-notes.md"}
    qtbot.waitUntil(lambda: not window.answers.answering, timeout=600_000)
    [chat] = window.chats.chat_store.list()
    assert chat.title == DESCALE and chat.model == "light"
    assert [Path(f).name for f in chat.scope.files] == ["beekeeping-notes.md"]
    assert window.chat_list.ids() == [chat.id]

    # A second collection: its own library and an empty chat list; the first stays open.
    window.chats.create_collection("Trips")
    qtbot.waitUntil(lambda: not window.indexing.listing, timeout=30_000)  # the listing is read off the GUI thread
    assert window.chats.collection.name == "Trips" and window.library.collections.currentText() == "Trips"
    assert window.engine is not default_engine and window.chat_list.ids() == []
    assert window.library.model.records == [] and window.scope_label.text().startswith("Ask about: whole collection")
    _index(qtbot, window, travel)
    assert {Path(h.chunk.path).name for h in window.engine.search(DESCALE)} == {"travel-log.txt"}

    window.chats.switch_collection("Default")
    qtbot.waitUntil(lambda: not window.indexing.listing, timeout=30_000)
    assert window.engine is default_engine and window.chat_list.ids() == [chat.id]
    window.chats.new_chat()
    assert window.chat.turns == [] and window.engine.conversation.turns == []
    window.chats.open_chat(chat.id)
    assert [t.question for t in window.chat.turns] == [DESCALE]
    assert [t.question for t in window.engine.conversation.turns] == [DESCALE]
    assert window.chats.scope == chat.scope and window.library.selected_paths() == list(chat.scope.files)

    window.chats.rename_chat(chat.id, "Descaling")
    assert window.chat_list.list.item(0).text().startswith("Descaling")
    window.chat_list.search.setText("zzz-nothing")
    assert window.chat_list.ids() == []
    window.chat_list.search.setText("descal")
    assert window.chat_list.ids() == [chat.id]
    window.chats.delete_chat(chat.id)
    assert window.chat_list.ids() == [] and window.chat.turns == []

    trips_folder = window.chats.collections.get("Trips").library.parent
    window.chats.delete_collection("Trips")
    assert not trips_folder.exists()
    assert [window.library.collections.itemText(i) for i in range(window.library.collections.count())] == ["Default"]
