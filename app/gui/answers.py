"""The window's conversation side: asking, streaming an answer through its typed events, stopping,
opening a citation's source (its page text read off the GUI thread), and exporting."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QLabel, QLineEdit, QPushButton, QStackedWidget

from app.core.engine import Engine
from app.core.passages import Preview
from app.gui.chat_view import ChatView
from app.gui.context_meter import ContextMeter
from app.gui.source_viewer import SourceViewer
from app.gui.status_line import StatusLine
from app.gui.workers import AnswerJob, Failure, Job, failure_of
from indexer.types import Chunk
from rag.citations import Checking, CitedAnswer
from rag.context import ContextPlan
from rag.export import FORMATS, export, to_markdown
from rag.scope import Scope

log = logging.getLogger("footnotes.gui")
EXPORT_FILTERS = "PDF (*.pdf);;Markdown (*.md);;HTML (*.html)"


class AnswerController(QObject):
    """Asking, the answer's events, citations and their sources, exporting; over the current `engine`
    (`set_engine`) and the scope the chats controller says (`set_scope`)."""

    answering_changed = Signal(bool)
    """True when an answer starts, False when it ends (done, stopped or failed)."""
    answered = Signal(str, object, object)
    """(question, `CitedAnswer`, `Scope` it was asked in) of each finished answer, to be saved."""
    evidence_shown = Signal(list)
    """The passages (`Preview`s) of the answer being written, emitted once they are on screen."""
    first_token = Signal()
    """Emitted when an answer's first token is on screen."""
    source_shown = Signal()
    """Emitted when a citation's passage is on screen in the source viewer."""
    model_used = Signal()
    """The first token came: the question may have loaded the model."""

    def __init__(
        self,
        engine: Engine,
        chat: ChatView,
        query: QLineEdit,
        buttons: tuple[QPushButton, QPushButton],
        meter: tuple[ContextMeter, QLabel],
        viewer: SourceViewer,
        centre: QStackedWidget,
        status: StatusLine,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.chat, self.query, self.viewer, self.centre_stack, self.status = chat, query, viewer, centre, status
        self.send_button, self.stop_button = buttons
        self.meter, self.meter_label = meter
        self.scope = Scope()
        self._asked_scope = self.scope
        self._answer_job: AnswerJob | None = None
        self._source_job: Job | None = None
        self._citation: tuple[int, int] | None = None
        self._started = 0.0
        self._status_message = ""
        self.export_dialog: QFileDialog | None = None
        self._tick = QTimer(self, interval=1000)  # the seconds while an answer waits for its first token
        self._tick.timeout.connect(self._show_elapsed)

    def set_engine(self, engine: Engine) -> None:
        """Answer from another collection's engine from now on."""
        self.engine = engine

    def set_scope(self, scope: Scope) -> None:
        """What the next question is about (the selected files, or the whole collection)."""
        self.scope = scope

    @property
    def answering(self) -> bool:
        """True while an answer is being generated."""
        return self._answer_job is not None

    def ask(self) -> None:
        """Answer the question in the background, streaming it into the conversation."""
        question = self.query.text().strip()
        if not question or self.answering:
            return
        self.query.clear()
        self.centre_stack.setCurrentWidget(self.chat)  # even on an empty library, the answer is shown
        self.chat.start_turn(question)
        self._asked_scope = self.scope
        job = AnswerJob(self.engine, question, self.scope, owner=self)
        job.signals.evidence.connect(self._on_evidence)
        job.signals.plan.connect(self._on_plan)
        job.signals.status.connect(self._on_answer_status)
        job.signals.token.connect(self._on_token)
        job.signals.checked.connect(self._on_checked)
        job.signals.done.connect(self._on_answered)
        job.signals.failed.connect(self._on_answer_failed)
        self._answer_job = job
        self._started = time.perf_counter()
        self._status_message = ""
        self._tick.start()
        self.send_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        job.start()
        self.answering_changed.emit(True)

    def stop_answer(self) -> None:
        """Stop generating; the text so far stays."""
        if self._answer_job is not None:
            self._answer_job.cancel.set()

    def _on_token(self, token: str) -> None:
        if not self.chat.turns:  # a new chat was started while this answer was on its way
            return
        first = not self.chat.turns[-1].streamed
        if self._tick.isActive():
            self._tick.stop()
            self.status.say(f"Answering with {self.engine.model}…")
        self.chat.append_token(token)
        if first:
            self.model_used.emit()  # the question may have loaded the model
            self.first_token.emit()

    def _on_checked(self, checking: Checking) -> None:
        if not self.chat.turns:
            return
        self.chat.show_checking(checking)
        if checking.written and checking.waiting:
            self.status.say(f"Checking the answer against its sources: {checking.waiting} sentence(s) to read…")

    def _on_evidence(self, evidence: list[Preview]) -> None:
        if self.chat.turns:
            self.chat.show_evidence(evidence)
            self.evidence_shown.emit(evidence)

    def _on_plan(self, plan: ContextPlan | None) -> None:
        if not self.chat.turns:
            return
        self.meter.show_plan(plan)
        shown = self.meter.plan
        self.meter_label.setText(
            f"{shown.prompt_tokens + shown.answer_reserve} / {shown.window} tokens" if shown else "no relevant passages"
        )

    def _on_answer_status(self, message: str) -> None:
        if not self.chat.turns:
            return
        self._status_message = message
        self._show_elapsed()
        if not self.chat.turns[-1].streamed:
            self.chat.set_status(message)

    def _show_elapsed(self) -> None:
        message = self._status_message or "Reading passages…"
        self.status.say(f"{message} ({time.perf_counter() - self._started:.0f} s)")

    def _on_answered(self, answer: CitedAnswer) -> None:
        self._end_answer()
        self.chat.finish_turn(answer)
        if self.chat.turns:  # not when a new chat was started while this answer was on its way
            self.answered.emit(self.chat.turns[-1].question, answer, self._asked_scope)
        self._citation = None
        timing = answer.timing
        if "tokens_per_second" in timing:
            self.status.say(
                f"Answered in {timing['seconds']:.1f} s (first token after "
                f"{timing['seconds_to_first_token']:.1f} s, {timing['tokens_per_second']:.1f} tokens/s)"
            )
        else:
            self.status.say("The library holds nothing relevant to that question.")

    def _on_answer_failed(self, failure: Failure) -> None:
        self._end_answer()
        log.warning("answer failed: %s", failure.message)
        self.chat.fail_turn(failure.message)
        self.status.fail("", failure)

    def _end_answer(self) -> None:
        self._answer_job = None
        self._tick.stop()
        self.send_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.answering_changed.emit(False)  # Esc goes back to the widgets (closing the find bar…)

    # -- citations and sources --------------------------------------------------------------
    def citations(self) -> list[tuple[int, int]]:
        """Every (turn, number) cited in the conversation, in reading order."""
        return [
            (turn, number)
            for turn, shown in enumerate(self.chat.turns)
            if shown.answer is not None
            for number in shown.answer.cited
        ]

    def next_citation(self, step: int = 1) -> None:
        """Open the source of the next citation (`step` -1: the previous one), wrapping around."""
        cited = self.citations()
        if not cited:
            self.status.say("No citations yet: ask a question first.")
            return
        at = cited.index(self._citation) if self._citation in cited else (-1 if step > 0 else 0)
        turn, number = cited[(at + step) % len(cited)]
        self.open_citation(turn, number)

    def previous_citation(self) -> None:
        """Open the source of the previous citation."""
        self.next_citation(-1)

    @property
    def opening_source(self) -> bool:
        """True while a citation's page text is being read for the source viewer."""
        return self._source_job is not None

    def open_citation(self, turn: int, number: int) -> None:
        """Show the passage behind citation `number` of answer `turn` in the source viewer (its page text
        is read on a worker; `source_shown` says when it is on screen)."""
        answer = self.chat.turns[turn].shown_answer
        if answer is None or number not in answer.sources:
            return
        evidence_for = getattr(answer, "evidence_for", None)  # the supporting sentence, when citations know it
        self._open_passage(turn, number, evidence_for(number) if callable(evidence_for) else None)

    def open_contradiction(self, turn: int, sentence: int) -> None:
        """Show the source sentence that contradicts sentence `sentence` of answer `turn`."""
        answer = self.chat.turns[turn].shown_answer
        if answer is None or sentence >= len(answer.sentences):
            return
        against = answer.sentences[sentence].contradiction
        if against is not None and against.number in answer.sources:
            self._open_passage(turn, against.number, against)

    def _open_passage(self, turn: int, number: int, focus: object) -> None:
        answer = self.chat.turns[turn].shown_answer
        assert answer is not None
        self._citation = (turn, number)
        chunk, engine = answer.sources[number], self.engine
        job = Job(lambda _report, _cancel: engine.page_text(chunk), owner=self)
        job.signals.done.connect(lambda page_text: self._show_source(job, chunk, page_text, focus))
        job.signals.failed.connect(lambda failure: self._show_source(job, chunk, None, focus, failure))
        self._source_job = job  # a later click supersedes this one
        self.status.say(f"Citation [{number}]: {Path(chunk.path).name}, {chunk.where}")
        job.start()

    def _show_source(
        self, job: Job, chunk: Chunk, page_text: str | None, focus: object, failure: Failure | None = None
    ) -> None:
        if job is not self._source_job:
            return
        self._source_job = None
        if failure is not None:
            self.status.fail("The page could not be read: ", failure)
        self.viewer.show_chunk(chunk, page_text, focus)  # type: ignore[arg-type]
        self.source_shown.emit()

    def reset(self) -> None:
        """Start a new conversation: stop the answer being written, forget the conversation and show none."""
        self.stop_answer()
        self.engine.new_chat()
        self.chat.reset()
        self.meter.show_plan(None)
        self.meter_label.clear()
        self._citation = None

    # -- export -----------------------------------------------------------------------------
    def export_chat(self) -> None:
        """Save the conversation's answers with their sources as Markdown, HTML or PDF (the file dialog
        is window-modal and returns at once; `export_dialog` is it while open)."""
        if not self.chat.answers:
            self.status.say("Nothing to export yet: ask a question first.")
            return
        dialog = QFileDialog(self.chat.window(), "Export chat", "footnotes-answer.pdf", EXPORT_FILTERS)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # a hidden dialog must not keep the keys
        dialog.fileSelected.connect(lambda path: self._export_to(path, dialog.selectedNameFilter()))
        dialog.finished.connect(lambda _result: setattr(self, "export_dialog", None))
        self.export_dialog = dialog
        dialog.open()

    def _export_to(self, path: str, chosen: str) -> None:
        target = Path(path)
        if target.suffix.lower() not in FORMATS:
            target = target.with_suffix(".pdf" if "PDF" in chosen else ".md" if "Markdown" in chosen else ".html")
        try:
            export(self.chat.answers, target)
        except Exception as exc:  # noqa: BLE001 - a full disk or a read-only folder is said, not raised
            self.status.fail("The chat could not be exported: ", failure_of(exc))
            return
        self.status.say(f"Exported to {target}")

    def copy_answer(self) -> None:
        """Copy the last answer with its sources, as Markdown, to the clipboard."""
        if self.chat.answers:
            QGuiApplication.clipboard().setText(to_markdown(self.chat.answers[-1:]))
            self.status.say("Answer and sources copied.")
