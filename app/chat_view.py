"""The conversation pane: questions, answers streaming in, citation chips, sources under each answer.

Everything a document or a model wrote is HTML-escaped before display: text is never markup here,
so nothing in a document can load an image, follow a link or style the page.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QTextBrowser, QToolTip

from rag.citations import CitedAnswer

_MARKER = re.compile(r"\[(\d{1,3})\]")
_CHIP = "background-color:#dbe7ff;color:#1a3d8f;text-decoration:none;font-weight:bold"


@dataclass
class ChatTurn:
    """One question and its answer as shown: streaming text until the CitedAnswer arrives."""

    question: str
    streamed: str = ""
    answer: CitedAnswer | None = None
    error: str = ""


class ChatView(QTextBrowser):
    """Renders the turns; a click on a citation chip emits `citation_clicked(turn, number)`."""

    citation_clicked = Signal(int, int)

    def __init__(self) -> None:
        super().__init__()
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.turns: list[ChatTurn] = []
        self._tips: dict[str, str] = {}
        self.anchorClicked.connect(self._on_anchor)
        self.highlighted.connect(self._on_hover)
        self.setPlaceholderText("Drop files or folders on the window, then ask a question about them.")

    # -- updates ----------------------------------------------------------------------------
    def start_turn(self, question: str) -> None:
        """Show a new question with an empty answer."""
        self.turns.append(ChatTurn(question))
        self._render()

    def append_token(self, text: str) -> None:
        """Add streamed text to the last answer."""
        self.turns[-1].streamed += text
        self._render()

    def finish_turn(self, answer: CitedAnswer) -> None:
        """Replace the streamed text by the checked, cited answer."""
        self.turns[-1].answer = answer
        self._render()

    def fail_turn(self, message: str) -> None:
        """Show an error in place of the answer."""
        self.turns[-1].error = message
        self._render()

    def show_turns(self, turns: list[ChatTurn]) -> None:
        """Show a whole conversation (a restored chat)."""
        self.turns = turns
        self._render()

    def reset(self) -> None:
        """Start an empty conversation."""
        self.turns = []
        self._render()

    @property
    def answers(self) -> list[CitedAnswer]:
        """The finished answers, oldest first."""
        return [t.answer for t in self.turns if t.answer is not None]

    # -- rendering --------------------------------------------------------------------------
    def _render(self) -> None:
        self._tips = {}
        parts = [self._turn_html(i, turn) for i, turn in enumerate(self.turns)]
        self.setHtml("".join(parts))
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _turn_html(self, index: int, turn: ChatTurn) -> str:
        question = f"<p style='margin-top:14px'><b>You:</b> {html.escape(turn.question)}</p>"
        if turn.error:
            return question + f"<p style='color:#b3261e'>{html.escape(turn.error)}</p>"
        if turn.answer is None:
            text = html.escape(turn.streamed) if turn.streamed else "<i>Thinking…</i>"
            return question + f"<p>{text}</p>"
        return question + self._answer_html(index, turn.answer)

    def _answer_html(self, index: int, answer: CitedAnswer) -> str:
        weak = {check.text: check.reason for check in answer.weak_sentences}
        body = html.escape(answer.text)
        for number, (sentence, reason) in enumerate(weak.items()):
            key = f"weak:{index}:{number}"
            self._tips[key] = f"Weakly supported: {reason}"
            escaped = html.escape(sentence)
            body = body.replace(
                escaped, f"<a href='{key}' style='color:inherit;text-decoration:underline dotted'>{escaped}</a>", 1
            )
        body = _MARKER.sub(lambda m: self._chip(index, int(m.group(1))), body)
        parts = [f"<p>{body}</p>"]
        if answer.withheld:
            parts.append(
                "<p style='color:gray'><i>A draft answer was withheld: no sentence of it was supported by "
                "the passages it cited.</i></p>"
            )
        if answer.cited:
            parts.append("<p style='color:gray;margin-bottom:2px'>Sources</p><table cellspacing='2'>")
            for number in answer.cited:
                chunk = answer.sources[number]
                excerpt = html.escape(" ".join(chunk.text.split())[:140])
                parts.append(
                    f"<tr><td>{self._chip(index, number)}</td><td><a href='cite:{index}:{number}' "
                    f"style='text-decoration:none'><b>{html.escape(Path(chunk.path).name)}</b></a>, "
                    f"page {chunk.page}<br><span style='color:gray'>{excerpt}…</span></td></tr>"
                )
            parts.append("</table>")
        return "".join(parts)

    @staticmethod
    def _chip(turn: int, number: int) -> str:
        return f"<a href='cite:{turn}:{number}' style='{_CHIP}'>&nbsp;{number}&nbsp;</a>"

    # -- interaction ------------------------------------------------------------------------
    def _on_anchor(self, url: QUrl) -> None:
        parts = url.toString().split(":")
        if len(parts) == 3 and parts[0] == "cite":
            self.citation_clicked.emit(int(parts[1]), int(parts[2]))

    def _on_hover(self, url: QUrl) -> None:
        tip = self._tips.get(url.toString())
        if tip:
            QToolTip.showText(QCursor.pos(), tip, self)
