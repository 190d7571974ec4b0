"""The conversation pane: questions, the passages each answer will use (shown before its first
token), answers streaming in, citation chips and sources under each answer (the first-run guide that
stands in for it while the library is empty is `app.gui.first_run`).

Everything a document or a model wrote is HTML-escaped before display: text is never markup here,
so nothing in a document can load an image, follow a link or style the page. A finished answer's
Markdown (lists, code, emphasis, tables) is rendered by `app.gui.rich_text`, which knows no links or
images; its colours come from `app.gui.theme`, so it reads in light and dark.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QUrl, Signal
from PySide6.QtGui import QCursor, QTextBlockFormat, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QTextBrowser, QToolTip

from app.gui import theme
from app.gui.rich_text import markdown_html
from indexer.attachments import display_name
from rag.citations import Checking, CitedAnswer

if TYPE_CHECKING:
    from app.core.passages import Preview

_MARKERS = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_FLAGGED = re.compile("([\ue000\ue003])(\\d+)\ue001")
"""Private marks around a flagged sentence: U+E000 not stated, U+E003 contradicted, then its index."""
_NOT_STATED, _CONTRADICTED, _FLAG_END = "\ue000", "\ue003", "\ue002"


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
    checking: Checking | None = None
    """The verdicts so far while the answer is written and checked."""

    @property
    def shown_answer(self) -> CitedAnswer | None:
        """The answer as far as it is shown: the finished one, else the checked part of the draft."""
        return self.answer or (self.checking.answer if self.checking else None)


class ChatView(QTextBrowser):
    """Renders the turns; a click on a citation chip emits `citation_clicked(turn, number)`.

    The document is built turn by turn and only the last turn ever changes: streamed tokens are
    inserted as plain text at its end, and its status, evidence and finished answer replace that
    turn alone, so a long conversation is not laid out again for every token. The whole document is
    rebuilt only for a restored chat, a revealed draft or a change of theme (`full_renders` counts
    those; `turn_renders` counts the last turn's)."""

    citation_clicked = Signal(int, int)
    contradiction_clicked = Signal(int, int)
    """(turn, sentence): a contradicted sentence was clicked; its source sentence should be shown."""

    def __init__(self) -> None:
        super().__init__()
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.turns: list[ChatTurn] = []
        self.full_renders = 0
        self.turn_renders = 0
        self._tips: dict[str, str] = {}
        self._turn_start = 0
        """Where the last turn begins in the document."""
        self._streaming = False
        """Whether the document's last paragraph is the last turn's streamed text, open for tokens."""
        self._colors = theme.colors()
        self.anchorClicked.connect(self._on_anchor)
        self.highlighted.connect(self._on_hover)
        # shown once the library has files (an empty library shows the first-run guide instead); one line:
        # a placeholder does not wrap
        self.setPlaceholderText("Ask about your files below: every answer cites the page it comes from.")

    # -- updates ----------------------------------------------------------------------------
    def start_turn(self, question: str) -> None:
        """Show a new question with an empty answer, after the turns already shown."""
        self.turns.append(ChatTurn(question))
        self._append_last_turn()

    def show_evidence(self, evidence: list[Preview]) -> None:
        """Show the passages the last answer will be written from, before its text arrives."""
        if not self.turns:  # the chat was cleared while the answer was on its way
            return
        self.turns[-1].evidence = list(evidence)
        self._render_last_turn()

    def set_status(self, text: str) -> None:
        """Say what the last answer is waiting for, in place of its text until the first token."""
        if not self.turns:  # the chat was cleared while the answer was on its way
            return
        self.turns[-1].status = text
        self._render_last_turn()

    def toggle_draft(self, turn: int) -> None:
        """Reveal (or hide again) the withheld draft of answer `turn`."""
        self.turns[turn].show_draft = not self.turns[turn].show_draft
        if turn == len(self.turns) - 1:
            self._render_last_turn()
        else:
            self._render()

    def append_token(self, text: str) -> None:
        """Add streamed text to the last answer: inserted at the end of the document, nothing else redrawn."""
        if not self.turns:  # the chat was cleared while the answer was on its way
            return
        self.turns[-1].streamed += text
        if not self._streaming:  # the first token replaces the status line by an open paragraph
            self._render_last_turn()
            return
        following = self._at_bottom()
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text, QTextCharFormat())  # plain text: a model's "<b>" is shown, not applied
        if following:
            self._scroll_to_end()

    def show_checking(self, checking: Checking) -> None:
        """Show the verdicts known so far on the last answer: its complete sentences marked (flagged ones
        as in a finished answer, supported ones with their chips), the text still streaming after them."""
        if not self.turns or self.turns[-1].answer is not None:
            return
        self.turns[-1].checking = checking
        self._render_last_turn()

    def finish_turn(self, answer: CitedAnswer) -> None:
        """Replace the streamed text by the checked, cited answer, rendered (Markdown, chips, sources)."""
        if not self.turns:  # the chat was cleared while the answer was on its way
            return
        self.turns[-1].answer = answer
        self._render_last_turn()

    def fail_turn(self, message: str) -> None:
        """Show an error in place of the answer."""
        if not self.turns:  # the chat was cleared while the answer was on its way
            return
        self.turns[-1].error = message
        self._render_last_turn()

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
        """Lay out every turn again (a restored chat, a theme change)."""
        self.full_renders += 1
        self._tips = {}
        self._colors = theme.colors()
        self.clear()
        self._turn_start = 0
        for index in range(len(self.turns)):
            self._turn_start = self._insert_turn(index, first=index == 0)
        self._scroll_to_end()

    def _append_last_turn(self) -> None:
        """Add the last turn after the others, leaving them as they are."""
        self._turn_start = self._insert_turn(len(self.turns) - 1, first=len(self.turns) == 1)
        self._scroll_to_end()

    def _render_last_turn(self) -> None:
        """Replace the last turn, and only it, by its current state."""
        if self._turn_start > self._end():  # the document was changed from outside (cleared)
            self._render()
            return
        self.turn_renders += 1
        following = self._at_bottom()
        cursor = QTextCursor(self.document())
        cursor.setPosition(self._turn_start)
        cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        self._fill_turn(cursor, len(self.turns) - 1)
        if following:
            self._scroll_to_end()

    def _insert_turn(self, index: int, first: bool) -> int:
        """Append turn `index` in a block of its own; returns the position where it begins."""
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        if not first:
            cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
        start = cursor.position()
        self._fill_turn(cursor, index)
        return start

    def _fill_turn(self, cursor: QTextCursor, index: int) -> None:
        turn = self.turns[index]
        cursor.setBlockFormat(QTextBlockFormat())
        cursor.setCharFormat(QTextCharFormat())
        start = cursor.position()
        cursor.insertHtml(self._turn_html(index, turn))
        if index > 0:  # the question's own top margin is lost when its paragraph joins the turn's first block
            spaced = QTextCursor(self.document())
            spaced.setPosition(start)
            margin = spaced.blockFormat()
            margin.setTopMargin(self.fontMetrics().height() * 1.5)
            spaced.setBlockFormat(margin)
        self._streaming = bool(turn.streamed) and turn.answer is None and not turn.error
        if self._streaming:  # the tokens to come go into a plain paragraph of their own
            checked = turn.checking is not None and bool(turn.checking.answer.text)
            tail = turn.streamed[turn.checking.covered :] if turn.checking else turn.streamed
            if checked and not turn.checking.written and "\n" not in tail:
                # The sentence being written goes on after the checked ones, in their paragraph.
                cursor.insertText(" " + tail.lstrip(), QTextCharFormat())
            else:
                cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
                cursor.insertText(tail.lstrip(), QTextCharFormat())

    def _end(self) -> int:
        return max(0, self.document().characterCount() - 1)

    def _at_bottom(self) -> bool:
        bar = self.verticalScrollBar()
        return bar.value() >= bar.maximum() - self.fontMetrics().height()

    def _scroll_to_end(self) -> None:
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _turn_html(self, index: int, turn: ChatTurn) -> str:
        c = self._colors
        question = (
            f"<p style='margin-top:1em;margin-bottom:0.4em'><span style='color:{c.muted}'>You</span><br>"
            f"<b>{html.escape(turn.question)}</b></p>"
        )
        if turn.error:
            return question + f"<p style='color:{c.error}'>{html.escape(turn.error)}</p>"
        if turn.answer is None:
            evidence = self._evidence_html(turn.evidence)
            if turn.streamed:
                return question + evidence + self._checking_html(index, turn.checking)
            status = html.escape(turn.status or "Thinking…")
            return question + evidence + f"<p style='color:{c.muted}'><i>{status}</i></p>"
        return question + self._answer_html(index, turn)

    def _checking_html(self, index: int, checking: Checking | None) -> str:
        """The complete sentences of an answer still being written or checked, with their verdicts."""
        if checking is None or not checking.answer.text:
            return ""
        html_text = self._prose_html(index, checking.answer, checking.answer.text)
        if checking.written and checking.waiting:
            c = self._colors
            html_text += (
                f"<p style='color:{c.muted}'><i>Reading {checking.waiting} sentence(s) against their sources…</i></p>"
            )
        return html_text

    def _evidence_html(self, evidence: list[Preview]) -> str:
        """The passages being read, each with its sentence closest to the question."""
        if not evidence:
            return ""
        c = self._colors
        rows = [
            f"<tr><td style='color:{c.chip_fg}'><b>{item.number}</b></td>"
            f"<td><b>{html.escape(display_name(item.chunk.path))}</b>, "
            f"<span style='color:{c.muted}'>{html.escape(item.chunk.where)}</span><br>"
            f"<span style='color:{c.muted}'>“{html.escape(item.sentence)}”</span></td></tr>"
            for item in evidence
        ]
        return (
            f"<p style='color:{c.muted};margin-bottom:2px'>Reading these passages:</p><table cellspacing='2'>"
            + "".join(rows)
            + "</table>"
        )

    def _answer_html(self, index: int, turn: ChatTurn) -> str:
        answer = turn.answer
        assert answer is not None
        parts = [self._prose_html(index, answer, answer.text)]
        if answer.withheld:
            parts.append(self._draft_html(index, answer, turn.show_draft))
        if answer.refused and answer.sources:
            # A refusal keeps what the search found: the closest passages, each openable.
            closest = answer.cited + [n for n in sorted(answer.sources) if n not in answer.cited]
            parts.append(self._sources_html(index, turn, closest, "Closest passages"))
        elif answer.cited:
            parts.append(self._sources_html(index, turn, answer.cited, "Sources"))
        return "".join(parts)

    def _prose_html(self, index: int, answer: CitedAnswer, text: str) -> str:
        """Text of an answer (or of its draft) as Markdown with chips and verdict marks."""
        return markdown_html(self._mark_verdicts(index, answer, text), self._colors, lambda s: self._decorate(index, s))

    def _mark_verdicts(self, index: int, answer: CitedAnswer, text: str) -> str:
        """`text` with each flagged sentence between private marks, which `_decorate` turns into its look
        after Markdown is parsed: contradicted struck through in the error colour (a click shows the
        source sentence that says otherwise), not stated dotted; the reason on hover."""
        for number, check in enumerate(answer.sentences):
            if not check.flagged or "\n" in check.text or check.text not in text:
                continue
            if check.verdict == "contradicted":
                self._tips[f"contra:{index}:{number}"] = f"{check.note()}. Click to open the source sentence."
                mark = _CONTRADICTED
            else:
                self._tips[f"weak:{index}:{number}"] = f"Not stated by your files: {check.reason}"
                mark = _NOT_STATED
            text = text.replace(check.text, f"{mark}{number}\ue001{check.text}{_FLAG_END}", 1)
        return text

    def _decorate(self, index: int, escaped: str) -> str:
        """Prose of an answer, escaped: markers become chips, flagged sentences get their look and a
        short label a screen reader reads with the link."""
        escaped = _MARKERS.sub(lambda m: self._chips(index, m.group(1)), escaped)
        c = self._colors
        labels = []

        def opening(match: re.Match[str]) -> str:
            contradicted = match.group(1) == _CONTRADICTED
            labels.append(" (contradicted by the source)" if contradicted else " (not stated in your files)")
            if contradicted:
                style = f"color:{c.error};text-decoration:line-through"
                return f"<a href='contra:{index}:{match.group(2)}' style='{style}'>"
            return f"<a href='weak:{index}:{match.group(2)}' style='color:inherit;text-decoration:underline dotted'>"

        escaped = _FLAGGED.sub(opening, escaped)
        for label in labels:
            small = (
                f"<span style='color:{c.error if 'contradicted' in label else c.muted};font-size:small'>{label}</span>"
            )
            escaped = escaped.replace(_FLAG_END, f"</a>{small}", 1)
        return escaped

    def _chips(self, index: int, numbers: str) -> str:
        return "".join(self._chip(index, int(n)) for n in numbers.split(","))

    def _sources_html(self, index: int, turn: ChatTurn, numbers: list[int], title: str) -> str:
        """A card per source in `numbers`: its chip, file and place, and the sentence it is quoted for."""
        answer = turn.answer
        assert answer is not None
        c = self._colors
        previews = {item.number: item.sentence for item in turn.evidence}
        cards = [f"<p style='color:{c.muted};margin-top:0.6em;margin-bottom:2px'>{html.escape(title)}</p>"]
        for number in numbers:
            chunk = answer.sources[number]
            cards.append(
                f"<table width='100%' cellspacing='0' cellpadding='7' style='margin-bottom:5px;"
                f"background-color:{c.card_bg};border:1px solid {c.card_border}'><tr><td>"
                f"{self._chip(index, number)}&nbsp; <a href='cite:{index}:{number}' "
                f"style='text-decoration:none;color:{c.text}'><b>{html.escape(display_name(chunk.path))}</b></a>, "
                f"<span style='color:{c.muted}'>{html.escape(chunk.where)}</span><br>"
                f"<span style='color:{c.muted}'>{html.escape(_excerpt(answer, number, previews.get(number)))}</span>"
                "</td></tr></table>"
            )
        return "".join(cards)

    def _draft_html(self, index: int, answer: CitedAnswer, shown: bool) -> str:
        """The note that a draft was withheld, a link to reveal it, and the draft itself when revealed,
        each sentence with its verdict."""
        c = self._colors
        note = (
            f"<p style='color:{c.muted}'><i>A draft answer was withheld: most of it is not what the passages "
            "below say.</i> "
        )
        if not shown:
            return note + f"<a href='draft:{index}'>Show the unsupported draft</a></p>"
        return (
            note
            + f"<a href='draft:{index}'>Hide the draft</a></p>"
            + f"<table width='100%' cellpadding='6' style='background-color:{c.draft_bg}'><tr><td>"
            + f"<p style='color:{c.error};margin:0'><b>Unsupported draft</b>: the passages do not back it; "
            + "do not rely on it.</p>"
            + f"<div style='color:{c.draft_fg}'>{self._prose_html(index, answer, answer.withheld)}</div>"
            + "</td></tr></table>"
        )

    def _chip(self, turn: int, number: int) -> str:
        c = self._colors
        style = f"background-color:{c.chip_bg};color:{c.chip_fg};text-decoration:none;font-weight:bold"
        return f"<a href='cite:{turn}:{number}' style='{style}'>&nbsp;{number}&nbsp;</a>"

    # -- interaction ------------------------------------------------------------------------
    def changeEvent(self, event: QEvent) -> None:
        """Draw the conversation again in the new colours when the palette changes (a theme switch)."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and theme.colors() != self._colors:
            self._render()

    def _on_anchor(self, url: QUrl) -> None:
        parts = url.toString().split(":")
        if len(parts) == 3 and parts[0] == "cite":
            self.citation_clicked.emit(int(parts[1]), int(parts[2]))
        elif len(parts) == 3 and parts[0] == "contra":
            self.contradiction_clicked.emit(int(parts[1]), int(parts[2]))
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
