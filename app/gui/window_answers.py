"""The window's conversation side: asking, streaming an answer through its typed events, stopping,
opening a citation's source (its page text read off the GUI thread), and exporting."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog

from app.core.engine import Preview
from app.gui.workers import AnswerJob, Failure, Job, failure_of
from indexer.types import Chunk
from rag.citations import Checking, CitedAnswer
from rag.context import ContextPlan
from rag.export import FORMATS, export, to_markdown

if TYPE_CHECKING:
    from app.gui.window import MainWindow

    _Base = MainWindow
else:
    _Base = object

log = logging.getLogger("footnotes.gui")
EXPORT_FILTERS = "PDF (*.pdf);;Markdown (*.md);;HTML (*.html)"


class AnswersMixin(_Base):
    """Asking, the answer's events, citations and their sources, exporting."""

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
        job = AnswerJob(self.engine, question, self.scope)
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
        self.stop_action.setEnabled(True)
        job.start()

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
            self.status_label.setText(f"Answering with {self.engine.model}…")
        self.chat.append_token(token)
        if first:
            self._show_model_state()  # the question may have loaded the model
            self.first_token.emit()

    def _on_checked(self, checking: Checking) -> None:
        if not self.chat.turns:
            return
        self.chat.show_checking(checking)
        if checking.written and checking.waiting:
            self.status_label.setText(
                f"Checking the answer against its sources: {checking.waiting} sentence(s) to read…"
            )

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
        self.status_label.setText(f"{message} ({time.perf_counter() - self._started:.0f} s)")

    def _on_answered(self, answer: CitedAnswer) -> None:
        self._end_answer()
        self.chat.finish_turn(answer)
        if self.chat.turns:  # not when a new chat was started while this answer was on its way
            self._remember(self.chat.turns[-1].question, answer)
        self._citation = None
        timing = answer.timing
        if "tokens_per_second" in timing:
            self.status_label.setText(
                f"Answered in {timing['seconds']:.1f} s (first token after "
                f"{timing['seconds_to_first_token']:.1f} s, {timing['tokens_per_second']:.1f} tokens/s)"
            )
        else:
            self.status_label.setText("The library holds nothing relevant to that question.")

    def _on_answer_failed(self, failure: Failure) -> None:
        self._end_answer()
        log.warning("answer failed: %s", failure.message)
        self.chat.fail_turn(failure.message)
        self.show_failure("", failure)

    def _end_answer(self) -> None:
        self._answer_job = None
        self._tick.stop()
        self.send_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.stop_action.setEnabled(False)  # Esc goes back to the widgets (closing the find bar…)

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
            self.status_label.setText("No citations yet: ask a question first.")
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
        job = Job(lambda _report, _cancel: engine.page_text(chunk))
        job.signals.done.connect(lambda page_text: self._show_source(job, chunk, page_text, focus))
        job.signals.failed.connect(lambda failure: self._show_source(job, chunk, None, focus, failure))
        self._source_job = job  # a later click supersedes this one
        self.status_label.setText(f"Citation [{number}]: {Path(chunk.path).name}, {chunk.where}")
        job.start()

    def _show_source(
        self, job: Job, chunk: Chunk, page_text: str | None, focus: object, failure: Failure | None = None
    ) -> None:
        if job is not self._source_job:
            return
        self._source_job = None
        if failure is not None:
            self.show_failure("The page could not be read: ", failure)
        self.viewer.show_chunk(chunk, page_text, focus)  # type: ignore[arg-type]
        self.source_shown.emit()

    def new_chat(self) -> None:
        """Start a new conversation."""
        self.stop_answer()
        self.engine.new_chat()
        self.chat.reset()
        self.meter.show_plan(None)
        self.meter_label.clear()
        self.current_chat = None
        self._citation = None
        self.chat_list.list.clearSelection()

    # -- export -----------------------------------------------------------------------------
    def export_chat(self) -> None:
        """Save the conversation's answers with their sources as Markdown, HTML or PDF (the file dialog
        is window-modal and returns at once; `export_dialog` is it while open)."""
        if not self.chat.answers:
            self.status_label.setText("Nothing to export yet: ask a question first.")
            return
        dialog = QFileDialog(self, "Export chat", "footnotes-answer.pdf", EXPORT_FILTERS)
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
            self.show_failure("The chat could not be exported: ", failure_of(exc))
            return
        self.status_label.setText(f"Exported to {target}")

    def copy_answer(self) -> None:
        """Copy the last answer with its sources, as Markdown, to the clipboard."""
        if self.chat.answers:
            QGuiApplication.clipboard().setText(to_markdown(self.chat.answers[-1:]))
            self.status_label.setText("Answer and sources copied.")
