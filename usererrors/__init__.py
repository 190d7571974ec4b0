"""User errors: something the user can act on, as what happened and what to do, told in the words of the
front end that shows it.

Every layer raises its user errors as subclasses of `UserError` (a library that cannot be opened, a file
that cannot be read, a model that is not installed, a value that cannot work). A front end catches
`UserError` and shows `told(front)`: the command line names flags and commands, the window its menus and
dialogs. Anything else is a bug and keeps its traceback. This package sits below every other and imports
only the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

__all__ = ["CLI", "WINDOW", "InvalidValue", "Todo", "UserError"]

CLI = "cli"
"""The command line, and the MCP server (its operator starts it with the command line's flags)."""
WINDOW = "window"


@dataclass(frozen=True)
class Todo:
    """What to do, as the command line says it (``give --model a local GGUF file``) and as the window says
    it (``choose a local GGUF file in Settings``); `window` empty: the same words serve both."""

    cli: str
    window: str = ""

    def words(self, front: str) -> str:
        """The advice worded for `front` (`CLI` or `WINDOW`)."""
        return (self.window or self.cli) if front == WINDOW else self.cli


class UserError(Exception):
    """Something the user can act on: `what` happened, and `todo`, what to do about it (None: `what`
    already says it, or nothing can be done but to know it); `advice` is the kind's usual advice for a
    raise that gives no `todo`."""

    advice: ClassVar[Todo | None] = None

    def __init__(self, what: str, todo: Todo | str | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.todo = Todo(todo) if isinstance(todo, str) else todo

    def told(self, front: str = CLI) -> str:
        """One line for `front`: what happened; what to do."""
        todo = self.todo or self.advice
        return f"{self.what}; {todo.words(front)}" if todo else self.what

    def __str__(self) -> str:
        return self.told(CLI)


class InvalidValue(UserError, ValueError):
    """A value the user chose that cannot work: an option, a setting, an export format. A ValueError too,
    so code that validates input with ``except ValueError`` still catches it."""

    advice = Todo("see footnotes --help", "change it in Settings")
