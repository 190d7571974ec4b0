"""The window's saved chats, the scope of questions (the files selected in the library), and collections
(switching, creating, renaming and deleting them, each with its engine, library and chats)."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtWidgets import QApplication, QInputDialog, QLabel, QMessageBox

from app.core.chats import Chat, ChatStore
from app.core.collections import CURRENT, Collection, CollectionError, Collections, database_chats_dir, remember_choice
from app.core.engine import Engine, location_text
from app.core.errors import USER_ERRORS, describe
from app.core.settings import Settings
from app.gui.chat_list import ChatList
from app.gui.chat_view import ChatTurn, ChatView
from app.gui.context_meter import ContextMeter
from app.gui.library_panel import LibraryPanel
from app.gui.status_line import StatusLine
from indexer.store import is_database_url
from rag.citations import CitedAnswer
from rag.scope import Scope
from usererrors import WINDOW


class ChatsController(QObject):
    """The current collection with its engine and saved chats, the open chat, and the question's scope.

    It shows a chat's turns and the library's selection, and tells the others through signals: a new
    conversation (`new_chat_started`), another engine (`engine_changed`), another scope (`scope_changed`).
    It refuses to switch while indexing or answering, which it learns from `set_busy`/`set_answering`."""

    new_chat_started = Signal()
    engine_changed = Signal(object)
    """The `Engine` of the collection now shown."""
    scope_changed = Signal(object)
    """The `Scope` the next question is asked in."""

    def __init__(
        self,
        engine: Engine,
        collections: Collections,
        settings: QSettings,
        preferences: Settings,
        views: tuple[ChatList, ChatView, LibraryPanel, QLabel],
        meter: tuple[ContextMeter, QLabel],
        status: StatusLine,
    ) -> None:
        super().__init__()
        self.engine, self.collections, self.settings, self.preferences = engine, collections, settings, preferences
        self.chat_list, self.chat, self.library, self.scope_label = views
        self.meter, self.meter_label = meter
        self.status = status
        self.collection = self.collection_at(engine.location)
        self.engines: dict[Path, Engine] = {engine.folder: engine}
        self.chat_store = ChatStore(self.collection.chats)
        self.current_chat: Chat | None = None
        self.scope = Scope()
        self.busy = False
        self.answering = False

    def open_saved(self) -> None:
        """At start: list the saved chats and continue the newest; a conversation saved by a Footnotes
        without a chat list becomes the collection's first chat."""
        key = f"chat/{self.engine.folder}"
        saved = self.settings.value(key)
        if isinstance(saved, str) and saved:
            try:
                turns = [{"question": t["question"], "answer": t["answer"]} for t in json.loads(saved)]
            except (ValueError, KeyError, TypeError):
                turns = []
            if turns:
                self.chat_store.save(Chat(model=self.engine.model, turns=turns))
        self.settings.remove(key)
        chats = self.chat_store.list()
        self.chat_list.show_store(self.chat_store)
        if chats:
            self.open_chat(chats[0].id)

    def set_busy(self, busy: bool) -> None:
        """Indexing started (True) or ended."""
        self.busy = busy

    def set_answering(self, answering: bool) -> None:
        """An answer started (True) or ended."""
        self.answering = answering

    # -- saved chats ------------------------------------------------------------------------
    def remember(self, question: str, answer: CitedAnswer, scope: Scope) -> None:
        """Save the answered turn in the current chat (a new one for a first question), with the
        scope it was asked in and the model that answered."""
        chat = self.current_chat or Chat(model=self.engine.model)
        chat.turns.append({"question": question, "answer": answer.to_dict()})
        chat.scope, chat.model = scope, self.engine.model
        self.current_chat = self.chat_store.save(chat)
        self.chat_list.refresh(chat.id)

    def new_chat(self) -> None:
        """Start a new conversation."""
        self.new_chat_started.emit()
        self.current_chat = None
        self.chat_list.list.clearSelection()

    def open_chat(self, chat_id: str) -> None:
        """Show a saved chat and continue it: its turns, its scope."""
        if self.answering:
            self.status.say("Wait for the answer to finish, or stop it, before opening another chat.")
            return
        try:
            chat = self.chat_store.get(chat_id)
        except (KeyError, OSError, ValueError):
            self.status.say("That chat could not be read; it may have been deleted.")
            self.chat_list.refresh()
            return
        self.current_chat = chat
        answers = chat.answers()
        self.chat.show_turns([ChatTurn(t["question"], answer=a) for t, a in zip(chat.turns, answers, strict=True)])
        self.engine.restore(chat.conversation_turns())
        self.meter.show_plan(None)
        self.meter_label.clear()
        self.library.select_paths(chat.scope.files)
        self._set_scope(chat.scope)
        self.chat_list.select(chat.id)

    def rename_chat(self, chat_id: str, title: str) -> None:
        """Give a saved chat another title."""
        renamed = self.chat_store.rename(chat_id, title)
        if self.current_chat is not None and self.current_chat.id == chat_id:
            self.current_chat = renamed
        self.chat_list.refresh(self.current_chat.id if self.current_chat else None)

    def delete_chat(self, chat_id: str) -> None:
        """Delete a saved chat; deleting the open one starts a new chat."""
        self.chat_store.delete(chat_id)
        if self.current_chat is not None and self.current_chat.id == chat_id:
            self.new_chat()
        self.chat_list.refresh(self.current_chat.id if self.current_chat else None)

    def ask_rename_chat(self, chat_id: str) -> None:
        if not chat_id:
            return
        title, ok = QInputDialog.getText(
            self.chat.window(), "Rename chat", "Title:", text=self.chat_store.get(chat_id).title
        )
        if ok and title.strip():
            self.rename_chat(chat_id, title)

    def ask_delete_chat(self, chat_id: str) -> None:
        if not chat_id:
            return
        title = self.chat_store.get(chat_id).title
        answer = QMessageBox.question(self.chat.window(), "Delete chat", f"Delete the chat “{title}”?")
        if answer == QMessageBox.StandardButton.Yes:
            self.delete_chat(chat_id)

    # -- scope ------------------------------------------------------------------------------
    def scope_from_selection(self) -> None:
        self._set_scope(Scope(files=tuple(self.library.selected_paths())))

    def _set_scope(self, scope: Scope) -> None:
        self.scope = scope
        self.show_scope()
        self.scope_changed.emit(scope)

    def prune_scope(self, listed: set[str]) -> None:
        """A new listing shows the documents at `listed`: a scope file removed, forgotten or deleted is no
        longer asked about, and the new rows show what the question is about."""
        if any(f not in listed for f in self.scope.files):
            self._set_scope(Scope(files=tuple(f for f in self.scope.files if f in listed)))
        self.library.select_paths(self.scope.files)

    def show_scope(self) -> None:
        files = len(self.scope.files)
        self.scope_label.setText(
            "Ask about: whole collection (select files in the library to ask about them only)"
            if self.scope.whole
            else f"Ask about: the {files} selected file{'s' if files != 1 else ''}"
        )

    # -- collections ------------------------------------------------------------------------
    def collection_at(self, location: str | Path) -> Collection:
        """The collection of a library location (a folder or a database URL): the registered one of that
        folder, else one of its own (a folder keeps its chats inside it; a database library, which has no
        folder, in the user data folder: `database_chats_dir`)."""
        shown = location_text(location)
        folder = Path(shown)
        if is_database_url(location):  # named by its URL: the last part of the URL read as a path means nothing
            return Collection(shown, folder, database_chats_dir(shown, self.collections.root))
        found = next((c for c in self.collections.list() if c.library == folder), None)
        return found or Collection(folder.name, folder, folder / "chats")

    def settings_collection(self) -> Collection:
        """The collection of the library the settings name (their shared library URL, else their folder)."""
        return self.collection_at(self.preferences.library_location())

    def show_collections(self) -> None:
        """The registered collections, after the library shown and the settings' library when they are not one."""
        names = [c.name for c in self.collections.list()]
        others = [c.name for c in (self.collection, self.settings_collection()) if c.name not in names]
        shown = list(dict.fromkeys([*others, *names]))
        self.library.show_collections(shown, self.collection.name, registered=self.collection.name in names)
        self.library.set_shared(is_database_url(self.engine.location))

    def switch_collection(self, name: str) -> None:
        """Show another collection (or the settings' library, as the switcher lists it): its library, engine
        (opened once, then kept) and chats. The next start opens it too (`app.core.collections.remember_choice`)."""
        if name == self.collection.name:
            return
        if self.busy or self.answering:
            self.status.say("Wait for indexing or the answer to finish before switching collections.")
            self.show_collections()
            return
        own = self.settings_collection()
        try:
            if own.name == name and own not in self.collections.list():
                collection, location = own, self.preferences.library_location()
            else:
                collection = self.collections.get(name)
                location = collection.library
        except CollectionError as exc:
            self.status.say(f"{describe(exc, WINDOW)}.")
            self.show_collections()
            return
        problem = self.open_library(collection, location)
        if problem is not None:
            self.status.say(problem)
            return
        remember_choice(self.settings, collection if collection in self.collections.list() else None)
        self.status.say(f"Collection: {collection.name}")

    def open_library(self, collection: Collection, location: str | Path) -> str | None:
        """Show the library at `location` as `collection`, with its engine (opened once, then kept) and chats;
        None, or why it could not be opened (the window then stays as it was)."""
        engine = self.engines.get(collection.library)
        if engine is None:
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)  # a database may take seconds to answer
            try:
                engine = Engine.from_settings(self.preferences, location)
            except USER_ERRORS as exc:
                self.show_collections()
                return f"{collection.name} could not be opened: {describe(exc, WINDOW)}"
            finally:
                QApplication.restoreOverrideCursor()
            self.engines[collection.library] = engine
        else:
            engine.apply(self.preferences)
        self.new_chat()
        engine.share_models(self.engine)
        self.engine, self.collection = engine, collection
        self.chat_store = ChatStore(collection.chats)
        self.chat_list.show_store(self.chat_store)
        self._set_scope(Scope())  # a question in another collection is about all of it
        self.engine_changed.emit(engine)  # its library listed, its folders watched, its model shown
        self.show_collections()
        return None

    def create_collection(self, name: str) -> None:
        """Create a collection and switch to it."""
        try:
            created = self.collections.create(name)
        except CollectionError as exc:
            self.status.say(f"{describe(exc, WINDOW)}.")
            return
        self.show_collections()
        self.switch_collection(created.name)

    def rename_collection(self, new: str) -> None:
        """Rename the current collection."""
        old = self.collection.name
        try:
            self.collection = self.collections.rename(old, new)
        except CollectionError as exc:
            self.status.say(f"{describe(exc, WINDOW)}.")
        if self.collection.name != old and self.settings.value(CURRENT) == old:
            remember_choice(self.settings, self.collection)  # the next start still opens it
        self.show_collections()

    def delete_collection(self, name: str) -> None:
        """Delete a collection, its index and its chats (the current one: after switching to another)."""
        try:
            doomed = self.collections.get(name)
            if doomed == self.collection:
                others = [c for c in self.collections.list() if c != doomed]
                if not others:
                    raise CollectionError(f"'{doomed.name}' is the only collection; create another before deleting it")
                self.switch_collection(others[0].name)
                if self.collection == doomed:
                    return  # busy: the switch said why
            engine = self.engines.pop(doomed.library, None)
            if engine is not None:
                engine.close()
            self.collections.delete(doomed.name)
        except CollectionError as exc:
            self.status.say(f"{describe(exc, WINDOW)}.")
            return
        self.show_collections()
        self.status.say(f"Deleted the collection {doomed.name}.")

    def ask_new_collection(self) -> None:
        name, ok = QInputDialog.getText(self.chat.window(), "New collection", "Name (for example Thesis or Taxes):")
        if ok and name.strip():
            self.create_collection(name)

    def ask_rename_collection(self) -> None:
        name, ok = QInputDialog.getText(self.chat.window(), "Rename collection", "New name:", text=self.collection.name)
        if ok and name.strip():
            self.rename_collection(name)

    def ask_delete_collection(self) -> None:
        answer = QMessageBox.question(
            self,
            "Delete collection",
            f"Delete the collection “{self.collection.name}” with its index and chats? Your files are not touched.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.delete_collection(self.collection.name)
