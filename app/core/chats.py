"""Saved chats of a collection: one JSON file per chat in its ``chats`` folder, written atomically. Qt-free.

A chat keeps its title, times, the scope its questions were asked in, the model that answered, and
its turns as ``{"question": ..., "answer": CitedAnswer.to_dict()}``, the form the window always saved.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from app.core.collections import write_json_atomically
from rag.citations import CitedAnswer
from rag.conversation import Turn
from rag.scope import Scope

TITLE_CHARS = 60


def title_for(question: str) -> str:
    """A chat's default title: its first question, shortened to TITLE_CHARS."""
    words = " ".join(question.split())
    return words if len(words) <= TITLE_CHARS else words[: TITLE_CHARS - 1].rstrip() + "…"


@dataclass
class Chat:
    """One saved conversation."""

    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    title: str = "New chat"
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    scope: Scope = field(default_factory=Scope)
    model: str = ""
    turns: list[dict] = field(default_factory=list)
    """``{"question": str, "answer": CitedAnswer.to_dict()}`` per answered question, oldest first."""

    def answers(self) -> list[CitedAnswer]:
        """The answers, rebuilt."""
        return [CitedAnswer.from_dict(t["answer"]) for t in self.turns]

    def conversation_turns(self) -> list[Turn]:
        """The turns for `Engine.restore` (their passages are not kept, only the answers' sources)."""
        return [Turn(t["question"], answer, []) for t, answer in zip(self.turns, self.answers(), strict=True)]

    def mentions(self, text: str) -> bool:
        """True when the title, a question or an answer contains `text` (case does not matter)."""
        wanted = text.casefold()
        haystacks = [self.title] + [t["question"] + "\n" + t["answer"].get("text", "") for t in self.turns]
        return any(wanted in h.casefold() for h in haystacks)

    def to_dict(self) -> dict:
        """A JSON-ready form."""
        return {
            "id": self.id,
            "title": self.title,
            "created": self.created,
            "updated": self.updated,
            "scope": self.scope.to_dict(),
            "model": self.model,
            "turns": self.turns,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Chat:
        """The inverse of `to_dict`."""
        return cls(
            str(data["id"]),
            str(data.get("title") or "New chat"),
            float(data.get("created", 0.0)),
            float(data.get("updated", 0.0)),
            Scope.from_dict(data.get("scope")),
            str(data.get("model", "")),
            list(data.get("turns", [])),
        )


class ChatStore:
    """The chats of one collection, in `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def _path(self, chat_id: str) -> Path:
        if not chat_id.isalnum():
            raise KeyError(chat_id)
        return self.folder / f"{chat_id}.json"

    def list(self) -> list[Chat]:
        """Every readable chat, the most recently updated first (a damaged file is skipped)."""
        chats = []
        for path in self.folder.glob("*.json") if self.folder.is_dir() else []:
            try:
                chats.append(Chat.from_dict(json.loads(path.read_text(encoding="utf-8"))))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return sorted(chats, key=lambda c: (c.updated, c.created), reverse=True)

    def search(self, text: str) -> list[Chat]:
        """The chats whose title or content contains `text`, newest first; all of them for blank text."""
        return [c for c in self.list() if not text.strip() or c.mentions(text.strip())]

    def get(self, chat_id: str) -> Chat:
        """One chat by id; KeyError when there is none."""
        path = self._path(chat_id)
        if not path.exists():
            raise KeyError(chat_id)
        return Chat.from_dict(json.loads(path.read_text(encoding="utf-8")))

    def save(self, chat: Chat, touch: bool = True) -> Chat:
        """Write a chat (stamping `updated` unless `touch` is false); a chat still without a title
        takes its first question."""
        if chat.title == "New chat" and chat.turns:
            chat.title = title_for(chat.turns[0]["question"])
        if touch:
            chat.updated = time.time()
        write_json_atomically(self._path(chat.id), chat.to_dict())
        return chat

    def rename(self, chat_id: str, title: str) -> Chat:
        """Give a chat a new title (blank keeps the old one); its place in the list does not change."""
        chat = self.get(chat_id)
        chat.title = " ".join(title.split()) or chat.title
        return self.save(chat, touch=False)

    def delete(self, chat_id: str) -> None:
        """Delete a chat; one already gone is no error."""
        self._path(chat_id).unlink(missing_ok=True)
