"""The window's menus and their keyboard shortcuts: every action of the window is in one, with its key.
The actions that depend on the state (Stop while answering, Pause while indexing) follow the
controllers' signals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

from app.gui.answers import AnswerController
from app.gui.chats import ChatsController
from app.gui.find_bar import FindBar
from app.gui.indexing import IndexingController

Keys = QKeySequence | QKeySequence.StandardKey | str | Qt.Key


@dataclass(frozen=True)
class WindowActions:
    """What the window itself does from its menus (the controllers do the rest)."""

    open_settings: Callable[[], None]
    focus_question: Callable[[], None]
    open_log_folder: Callable[[], None]
    show_about: Callable[[], None]


@dataclass(frozen=True)
class Menus:
    """The actions others refer to."""

    settings_action: QAction
    stop_action: QAction
    pause_action: QAction
    log_action: QAction
    about_action: QAction
    help_menu: QMenu


def build_menus(
    window: QMainWindow,
    own: WindowActions,
    answers: AnswerController,
    indexing: IndexingController,
    chats: ChatsController,
    find_bar: FindBar,
) -> Menus:
    """File, Chat, Library and Help menus on `window`'s menu bar."""

    def action(menu: QMenu, text: str, slot: Callable[[], object], *keys: Keys) -> QAction:
        """A menu item with its shortcuts (a standard key first, where the platform has one)."""
        item = QAction(text, window)
        sequences = [QKeySequence(key) for key in keys]
        item.setShortcuts([s for s in sequences if not s.isEmpty()])
        item.triggered.connect(slot)
        menu.addAction(item)
        return item

    std, chat_list = QKeySequence.StandardKey, chats.chat_list
    file_menu = window.menuBar().addMenu("&File")
    action(file_menu, "&New chat", chats.new_chat, std.New)
    action(file_menu, "Add f&older…", indexing.choose_folder, std.Open)
    action(file_menu, "Add &files…", indexing.choose_files, "Ctrl+Shift+O")
    action(file_menu, "&Export chat…", answers.export_chat, "Ctrl+E", std.Save)
    action(file_menu, "&Copy answer with sources", answers.copy_answer, "Ctrl+Shift+C")
    file_menu.addSeparator()
    settings_action = action(file_menu, "&Settings…", own.open_settings, std.Preferences, "Ctrl+,")
    action(file_menu, "&Quit", window.close, std.Quit)
    chat_menu = window.menuBar().addMenu("&Chat")
    action(chat_menu, "&Ask a question", own.focus_question, "Ctrl+L")
    stop_action = action(chat_menu, "&Stop generating", answers.stop_answer, Qt.Key.Key_Escape)
    stop_action.setEnabled(False)  # only while answering, so Esc closes find bars and menus otherwise
    answers.answering_changed.connect(stop_action.setEnabled)
    action(chat_menu, "&Next citation", answers.next_citation, "F8", "Ctrl+]")
    action(chat_menu, "&Previous citation", answers.previous_citation, "Shift+F8", "Ctrl+[")
    action(chat_menu, "&Find in source", find_bar.open_bar, std.Find)
    action(chat_menu, "&Rename chat…", lambda: chats.ask_rename_chat(chat_list.current_id() or ""), "F2")
    action(chat_menu, "&Delete chat…", lambda: chats.ask_delete_chat(chat_list.current_id() or ""))
    action(chat_menu, "Search &chats", chat_list.search.setFocus, "Ctrl+Shift+F")
    library_menu = window.menuBar().addMenu("&Library")
    action(library_menu, "New c&ollection…", chats.ask_new_collection)
    action(library_menu, "Re-index &library", lambda: indexing.index_paths([], force=True), std.Refresh)
    pause_action = action(library_menu, "&Pause indexing", indexing.toggle_pause, "Ctrl+Shift+P")
    pause_action.setEnabled(False)
    indexing.busy_changed.connect(pause_action.setEnabled)
    indexing.paused_changed.connect(
        lambda paused: pause_action.setText("&Resume indexing" if paused else "&Pause indexing")
    )
    action(library_menu, "&Cancel indexing", indexing.cancel_indexing, "Ctrl+Shift+X")
    help_menu = window.menuBar().addMenu("&Help")
    log_action = action(help_menu, "Open &log folder", own.open_log_folder)
    about_action = action(help_menu, "&About Footnotes", own.show_about, std.HelpContents)
    return Menus(settings_action, stop_action, pause_action, log_action, about_action, help_menu)
