"""The chat list: a collection's saved chats, newest first, with a search field and new/rename/delete."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.chats import Chat, ChatStore

ID_ROLE = Qt.ItemDataRole.UserRole


def when(stamp: float) -> str:
    """``14:05`` today, ``3 May`` this year, ``3 May 2024`` before."""
    now, then = time.localtime(), time.localtime(stamp)
    if then[:3] == now[:3]:
        return time.strftime("%H:%M", then)
    day = f"{then.tm_mday} {time.strftime('%b', then)}"
    return day if then.tm_year == now.tm_year else f"{day} {then.tm_year}"


class ChatList(QWidget):
    """Lists the chats of one `ChatStore`; choosing one emits `chosen(id)`."""

    chosen = Signal(str)
    new_chat = Signal()
    rename_chat = Signal(str)
    delete_chat = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.store: ChatStore | None = None
        self.search = QLineEdit(placeholderText="Search chats…")
        self.search.setAccessibleName("Search chats")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(lambda _text: self.refresh())
        self.list = QListWidget()
        self.list.setAccessibleName("Chats")
        self.list.itemActivated.connect(self._activated)
        self.list.itemClicked.connect(self._activated)
        new, rename, delete = QPushButton("New"), QPushButton("Rename…"), QPushButton("Delete…")
        new.clicked.connect(self.new_chat)
        rename.clicked.connect(lambda: self._emit_current(self.rename_chat))
        delete.clicked.connect(lambda: self._emit_current(self.delete_chat))
        buttons = QHBoxLayout()
        for button in (new, rename, delete):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("<b>Chats</b>"))
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)

    def show_store(self, store: ChatStore, current: str | None = None) -> None:
        """List the chats of another collection."""
        self.store = store
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self.refresh(current)

    def refresh(self, current: str | None = None) -> None:
        """Re-read the chats matching the search field; `current` (an id) is selected."""
        self.list.clear()
        chats: list[Chat] = self.store.search(self.search.text()) if self.store is not None else []
        for chat in chats:
            item = QListWidgetItem(f"{chat.title}\n{when(chat.updated)} · {len(chat.turns)} question(s)")
            item.setData(ID_ROLE, chat.id)
            item.setToolTip(f"Model: {chat.model or '-'} · asked about: {chat.scope.describe()}")
            self.list.addItem(item)
            if chat.id == current:
                self.list.setCurrentItem(item)

    def select(self, chat_id: str) -> None:
        """Mark a listed chat as the open one (the list is not rebuilt)."""
        for row in range(self.list.count()):
            if self.list.item(row).data(ID_ROLE) == chat_id:
                self.list.setCurrentRow(row)

    def ids(self) -> list[str]:
        """The ids listed, top to bottom."""
        return [self.list.item(row).data(ID_ROLE) for row in range(self.list.count())]

    def current_id(self) -> str | None:
        """The selected chat's id."""
        item = self.list.currentItem()
        return item.data(ID_ROLE) if item is not None else None

    def _activated(self, item: QListWidgetItem) -> None:
        self.chosen.emit(item.data(ID_ROLE))

    def _emit_current(self, signal: Signal) -> None:
        chat_id = self.current_id()
        if chat_id is not None:
            signal.emit(chat_id)
