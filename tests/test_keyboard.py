"""The window driven by the keyboard alone: offscreen, real widgets, the real embedder and light model.

One real answer is generated (the stop is pressed before the second one writes anything), so the
walk runs as one test, in the order a user would go."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from app.core.engine import Engine
from app.core.settings import Settings
from app.gui.window import MainWindow

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
FACT = "The Zephyr-9 kettle has a warranty of seven years."


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path) -> MainWindow:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "kettle.md").write_text(f"# Zephyr-9 kettle\n\nSafety notes: unplug before cleaning.\n\n{FACT}\n")
    (docs / "bread.md").write_text("# Bread\n\nKnead the dough for ten minutes, then let it rise for an hour.\n")
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    shown = MainWindow(Engine(tmp_path / "lib", Settings.preset("light")), settings)
    qtbot.addWidget(shown)
    shown.show()
    shown.activateWindow()
    qtbot.waitActive(shown)
    shown.indexing.index_paths([docs])
    qtbot.waitUntil(lambda: not shown.indexing.busy and not shown.indexing.listing, timeout=120_000)
    return shown


def _key(widget: QWidget | None, key: Qt.Key, modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    assert widget is not None, "nothing has the keyboard focus"
    QTest.keyClick(widget, key, modifiers)


def _focused() -> QWidget | None:
    return QApplication.focusWidget()


def test_every_action_is_reachable_by_keyboard(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    # Ctrl+L focuses the question; typing and Enter ask it.
    _key(window.chat, Qt.Key.Key_L, CTRL)
    assert _focused() is window.query
    QTest.keyClicks(window.query, "How long is the warranty of the Zephyr-9 kettle?")
    _key(window.query, Qt.Key.Key_Return)
    assert window.answers.answering and window.menus.stop_action.isEnabled()
    qtbot.waitUntil(lambda: not window.answers.answering, timeout=600_000)
    answer = window.chat.turns[-1].answer
    assert answer is not None and answer.cited, window.chat.toPlainText()

    # Esc stops an answer (pressed before it writes anything: a second real answer is not needed).
    _key(window.chat, Qt.Key.Key_L, CTRL)
    QTest.keyClicks(window.query, "Describe the kettle in detail.")
    _key(window.query, Qt.Key.Key_Return)
    job = window.answers._answer_job
    assert window.answers.answering and job is not None
    _key(window.query, Qt.Key.Key_Escape)
    assert job.cancel.is_set()
    qtbot.waitUntil(lambda: not window.answers.answering, timeout=60_000)
    assert not window.menus.stop_action.isEnabled()

    # F8 / Shift+F8 (and Ctrl+] / Ctrl+[) walk the citations, opening each source.
    with qtbot.waitSignal(window.answers.source_shown, timeout=30_000):
        _key(window.query, Qt.Key.Key_F8)
    first = window.answers._citation
    assert first == window.answers.citations()[0] and window.viewer.highlighted_text
    with qtbot.waitSignal(window.answers.source_shown, timeout=30_000):
        _key(window.query, Qt.Key.Key_BracketRight, CTRL)
    cited = window.answers.citations()
    assert window.answers._citation == cited[1 % len(cited)]
    with qtbot.waitSignal(window.answers.source_shown, timeout=30_000):
        _key(window.query, Qt.Key.Key_F8, SHIFT)
    assert window.answers._citation == first

    # Ctrl+F finds in the source; Enter goes to the match; Esc closes the bar.
    source = window.viewer.text_view.toPlainText()
    word = "kettle" if "kettle" in source.lower() else source.split()[0]
    _key(window.query, Qt.Key.Key_F, CTRL)
    assert _focused() is window.find_bar.field
    QTest.keyClicks(window.find_bar.field, word)
    _key(window.find_bar.field, Qt.Key.Key_Return)
    assert window.viewer.text_view.textCursor().selectedText().lower() == word.lower()
    _key(window.find_bar.field, Qt.Key.Key_Escape)
    assert not window.find_bar.isVisible()

    # Ctrl+E exports: the file name is typed into the save dialog, Enter saves.
    target = tmp_path / "answer.md"
    _key(window.chat, Qt.Key.Key_E, CTRL)
    dialog = window.answers.export_dialog
    assert isinstance(dialog, QFileDialog)
    qtbot.waitUntil(lambda: isinstance(_focused(), QLineEdit), timeout=5_000)
    name_box = _focused()
    name_box.selectAll()
    QTest.keyClicks(name_box, str(target))
    _key(name_box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: target.exists(), timeout=30_000)
    assert "Zephyr-9" in target.read_text() or "kettle" in target.read_text().lower()


def test_tab_walks_every_control_in_layout_order_and_each_is_named(qtbot: QtBot, window: MainWindow) -> None:
    start = window.library.collections
    start.setFocus(Qt.FocusReason.TabFocusReason)
    walked: list[QWidget] = [start]
    for _ in range(60):
        _key(_focused(), Qt.Key.Key_Tab)
        if _focused() is start:
            break
        walked.append(_focused())
    else:
        pytest.fail(f"Tab never came back to the start: {[w.accessibleName() for w in walked]}")
    unnamed = [f"{type(w).__name__}" for w in walked if not (w.accessibleName() and w.accessibleDescription())]
    assert unnamed == []
    layout = [
        window.library.collections,
        window.library.view,
        window.library.files_button,
        window.chat_list.search,
        window.chat_list.list,
        window.chat,
        window.query,
        window.send_button,
    ]
    assert [w for w in walked if w in layout] == layout  # left to right, top to bottom
    assert len(set(map(id, walked))) == len(walked)  # each control once


def _closing_the_modal_dialog(qtbot: QtBot) -> list[str]:
    """Arrange for the next modal dialog to be recorded (its class) and closed with Esc, as a user would."""
    seen: list[str] = []

    def close() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None:  # not shown yet: look again
            QTimer.singleShot(50, close)
            return
        seen.append(type(dialog).__name__)
        QTest.keyClick(dialog, Qt.Key.Key_Escape)
        if dialog.isVisible():  # a file dialog's Esc goes to its focused child first
            dialog.reject()

    QTimer.singleShot(50, close)
    return seen


def _reactivate(qtbot: QtBot, window: MainWindow) -> None:
    """Make the window active again after a dialog closed (the offscreen platform does not do it by itself)."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)


def test_shortcuts_start_a_chat_open_settings_and_add_a_folder(qtbot: QtBot, window: MainWindow) -> None:
    # Ctrl+N: a new, empty chat.
    window.chat.start_turn("An earlier question")
    _key(window.chat, Qt.Key.Key_N, CTRL)
    assert window.chat.turns == []

    # Ctrl+, (or the platform's Preferences key): the settings dialog; Esc closes it unchanged.
    before = window.preferences
    seen = _closing_the_modal_dialog(qtbot)
    _key(window.chat, Qt.Key.Key_Comma, CTRL)
    assert seen == ["SettingsDialog"] and window.preferences == before
    _reactivate(qtbot, window)

    # Ctrl+O: choose a folder to add; Esc cancels, nothing is indexed.
    seen = _closing_the_modal_dialog(qtbot)
    _key(window.chat, Qt.Key.Key_O, CTRL)
    assert seen == ["QFileDialog"] and not window.indexing.busy
