"""The conversation pane: questions, the passages each answer will use (shown before its first
token), answers streaming in, citation chips and sources under each answer; and the first-run guide
shown in its place while the library is empty.

Everything a document or a model wrote is HTML-escaped before display: text is never markup here,
so nothing in a document can load an image, follow a link or style the page.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QCursor, QFont
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QTextBrowser, QToolTip, QVBoxLayout, QWidget

from indexer.attachments import display_name
from rag.citations import CitedAnswer

if TYPE_CHECKING:
    from app.engine import Preview

_MARKER = re.compile(r"\[(\d{1,3})\]")
_CHIP = "background-color:#dbe7ff;color:#1a3d8f;text-decoration:none;font-weight:bold"


@dataclass
class ChatTurn:
    """One question and its answer as shown: streaming text until the CitedAnswer arrives."""

    question: str
    streamed: str = ""
    answer: CitedAnswer | None = None
    error: str = ""
    evidence: list[Preview] = field(default_factory=list)
    """The passages the answer is written from, known before its first token."""
    show_draft: bool = False
    """Whether a withheld draft is revealed."""
    status: str = ""
    """What happens before the first token (loading the model, reading passages, writing)."""


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

    def show_evidence(self, evidence: list[Preview]) -> None:
        """Show the passages the last answer will be written from, before its text arrives."""
        if not self.turns:  # the chat was cleared while the answer was on its way
            return
        self.turns[-1].evidence = list(evidence)
        self._render()

    def set_status(self, text: str) -> None:
        """Say what the last answer is waiting for, in place of its text until the first token."""
        if not self.turns:  # the chat was cleared while the answer was on its way
            return
        self.turns[-1].status = text
        self._render()

    def toggle_draft(self, turn: int) -> None:
        """Reveal (or hide again) the withheld draft of answer `turn`."""
        self.turns[turn].show_draft = not self.turns[turn].show_draft
        self._render()

    def append_token(self, text: str) -> None:
        """Add streamed text to the last answer."""
        if not self.turns:  # the chat was cleared while the answer was on its way
            return
        self.turns[-1].streamed += text
        self._render()

    def finish_turn(self, answer: CitedAnswer) -> None:
        """Replace the streamed text by the checked, cited answer."""
        if not self.turns:  # the chat was cleared while the answer was on its way
            return
        self.turns[-1].answer = answer
        self._render()

    def fail_turn(self, message: str) -> None:
        """Show an error in place of the answer."""
        if not self.turns:  # the chat was cleared while the answer was on its way
            return
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
            text = html.escape(turn.streamed) if turn.streamed else f"<i>{html.escape(turn.status or 'Thinking…')}</i>"
            return question + self._evidence_html(turn.evidence) + f"<p>{text}</p>"
        return question + self._answer_html(index, turn)

    @staticmethod
    def _evidence_html(evidence: list[Preview]) -> str:
        """The passages being read, each with its sentence closest to the question."""
        if not evidence:
            return ""
        rows = [
            f"<tr><td style='color:#1a3d8f'><b>{item.number}</b></td>"
            f"<td><b>{html.escape(display_name(item.chunk.path))}</b>, {html.escape(item.chunk.where)}<br>"
            f"<span style='color:gray'>“{html.escape(item.sentence)}”</span></td></tr>"
            for item in evidence
        ]
        return (
            "<p style='color:gray;margin-bottom:2px'>Reading these passages:</p><table cellspacing='2'>"
            + "".join(rows)
            + "</table>"
        )

    def _answer_html(self, index: int, turn: ChatTurn) -> str:
        answer = turn.answer
        assert answer is not None
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
            parts.append(self._draft_html(index, answer.withheld, turn.show_draft))
        if answer.cited:
            previews = {item.number: item.sentence for item in turn.evidence}
            parts.append("<p style='color:gray;margin-bottom:2px'>Sources</p><table cellspacing='2'>")
            for number in answer.cited:
                chunk = answer.sources[number]
                parts.append(
                    f"<tr><td>{self._chip(index, number)}</td><td><a href='cite:{index}:{number}' "
                    f"style='text-decoration:none'><b>{html.escape(display_name(chunk.path))}</b></a>, "
                    f"{html.escape(chunk.where)}<br><span style='color:gray'>"
                    f"{html.escape(_excerpt(answer, number, previews.get(number)))}</span></td></tr>"
                )
            parts.append("</table>")
        return "".join(parts)

    @staticmethod
    def _draft_html(index: int, draft: str, shown: bool) -> str:
        """The note that a draft was withheld, a link to reveal it, and the draft itself when revealed."""
        note = (
            "<p style='color:gray'><i>A draft answer was withheld: no sentence of it was supported by "
            "the passages it cited.</i> "
        )
        if not shown:
            return note + f"<a href='draft:{index}'>Show the unsupported draft</a></p>"
        return (
            note
            + f"<a href='draft:{index}'>Hide the draft</a></p>"
            + "<table width='100%' cellpadding='6' style='background-color:#fdecea'><tr><td>"
            + "<p style='color:#b3261e;margin:0'><b>Unsupported draft</b>: the cited passages do not back it; "
            + "do not rely on it.</p>"
            + f"<p style='color:#5f2120'>{html.escape(draft)}</p></td></tr></table>"
        )

    @staticmethod
    def _chip(turn: int, number: int) -> str:
        return f"<a href='cite:{turn}:{number}' style='{_CHIP}'>&nbsp;{number}&nbsp;</a>"

    # -- interaction ------------------------------------------------------------------------
    def _on_anchor(self, url: QUrl) -> None:
        parts = url.toString().split(":")
        if len(parts) == 3 and parts[0] == "cite":
            self.citation_clicked.emit(int(parts[1]), int(parts[2]))
        elif len(parts) == 2 and parts[0] == "draft" and parts[1].isdigit() and int(parts[1]) < len(self.turns):
            self.toggle_draft(int(parts[1]))

    def _on_hover(self, url: QUrl) -> None:
        tip = self._tips.get(url.toString())
        if tip:
            QToolTip.showText(QCursor.pos(), tip, self)


def _excerpt(answer: CitedAnswer, number: int, preview: str | None) -> str:
    """What to quote under a source: the sentence that supports the answer when the answer knows it,
    else the passage's sentence closest to the question, else the passage's opening."""
    evidence_for = getattr(answer, "evidence_for", None)
    evidence = evidence_for(number) if callable(evidence_for) else None
    text = getattr(evidence, "text", "") if evidence is not None else ""
    if text:
        return f"“{' '.join(text.split())}”"
    if preview:
        return f"“{preview}”"
    return " ".join(answer.sources[number].text.split())[:140] + "…"


class FirstRunGuide(QWidget):
    """Shown in place of the conversation while the library is empty: how to add files, a one-click
    sample library, and whether the model is ready."""

    add_files = Signal()
    add_folder = Signal()
    try_sample = Signal()

    def __init__(self) -> None:
        super().__init__()
        title = QLabel("<h2>Ask questions about your own files</h2>")
        title.setTextFormat(Qt.TextFormat.RichText)
        intro = QLabel(
            "Footnotes reads your documents and answers with numbered citations to the exact page. "
            "Everything stays on this computer.<br><br>"
            "<b>Drop files or folders anywhere on this window</b>, or add them:"
        )
        intro.setTextFormat(Qt.TextFormat.RichText)
        intro.setWordWrap(True)
        self.files_button = _button("Add files…", "Choose files to add to the library", self.add_files)
        self.folder_button = _button("Add folder…", "Choose a folder to add to the library", self.add_folder)
        adds = QHBoxLayout()
        adds.addWidget(self.files_button)
        adds.addWidget(self.folder_button)
        adds.addStretch(1)
        sample_note = QLabel(
            "New here? Try it first on three small sample files: an espresso machine's user guide (PDF), "
            "beekeeping notes and a travel log. They are indexed in seconds."
        )
        sample_note.setWordWrap(True)
        self.sample_button = _button(
            "Try the sample library", "Index the bundled sample files and ask questions about them", self.try_sample
        )
        font = QFont(self.sample_button.font())
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.sample_button.setFont(font)
        self.sample_button.setMinimumHeight(44)
        self.sample_button.setStyleSheet(
            "QPushButton { background-color:#1a5fd0; color:white; border-radius:6px; padding:8px 22px; }"
            "QPushButton:disabled { background-color:#9bb5e0; }"
        )
        self.model_label = QLabel()
        self.model_label.setStyleSheet("color: gray")
        self.model_label.setAccessibleName("Model status")
        card = QFrame()
        card.setMaximumWidth(560)
        column = QVBoxLayout(card)
        column.setSpacing(12)
        for widget in (title, intro):
            column.addWidget(widget)
        column.addLayout(adds)
        column.addSpacing(10)
        column.addWidget(sample_note)
        column.addWidget(self.sample_button, 0, Qt.AlignmentFlag.AlignLeft)
        column.addSpacing(10)
        column.addWidget(self.model_label)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(card, 4)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)

    def set_indexing(self, indexing: bool) -> None:
        """Disable the buttons while files are being indexed."""
        for button in (self.files_button, self.folder_button, self.sample_button):
            button.setEnabled(not indexing)
        self.sample_button.setText("Indexing…" if indexing else "Try the sample library")

    def set_model_status(self, text: str) -> None:
        """Say which model is loading or ready."""
        self.model_label.setText(text)


def _button(text: str, description: str, signal: Signal) -> QPushButton:
    button = QPushButton(text)
    button.setAccessibleName(text.rstrip("…"))
    button.setAccessibleDescription(description)
    button.setToolTip(description)
    button.clicked.connect(signal)
    return button
