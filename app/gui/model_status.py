"""The model's side of the window: loading the model in the background from the start, saying in the
status bar which model is ready or loading, and where questions and embeddings go (this process, a local
server, or another machine)."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel

from app.core.embedders import where_embedded
from app.core.engine import Engine
from app.core.logs import app_version, log_dir
from app.gui.first_run import FirstRunGuide
from app.gui.workers import Failure, Job, background_pool

log = logging.getLogger("footnotes.gui")
WARNING_STYLE = "color: #b35900; font-weight: bold"


class ModelController(QObject):
    """The model's warm-up job and the status bar's model, server and embedder labels, for the current
    `engine` (`set_engine` when another collection is shown)."""

    def __init__(
        self, engine: Engine, model_label: QLabel, server_label: QLabel, embedder_label: QLabel, guide: FirstRunGuide
    ) -> None:
        super().__init__()
        self.engine = engine
        self.model_label, self.server_label, self.embedder_label = model_label, server_label, embedder_label
        self.guide = guide
        self._warm_job: Job | None = None
        self.closing = False
        """Set when the window closes: a warm-up ending later changes no widget."""

    def set_engine(self, engine: Engine) -> None:
        """Show the model of another collection's engine."""
        self.engine = engine
        self.show_state()

    @property
    def warming(self) -> bool:
        """True while the background warm-up is loading the model."""
        return self._warm_job is not None and self._warm_job.running

    def start_warmup(self) -> None:
        """Load the embedder and the model in the background, so the first question does not wait for
        them; a question asked meanwhile waits for this same load. Closing the window does not wait."""
        if self.warming:
            return
        if self.engine.model_loaded:
            self.show_state()
            return
        engine = self.engine  # the job must not reach the window, which may be gone when it ends
        job = Job(lambda report, _cancel: engine.warm(report), owner=self)
        job.signals.progress.connect(self._on_progress)
        job.signals.done.connect(self._on_ready)
        job.signals.failed.connect(self._on_failed)
        self._warm_job = job
        self._set_status(f"Model: loading {engine.model}…", "Loading the model in the background")
        job.start(background_pool())

    def _on_progress(self, message: object) -> None:
        if not self.closing:
            self.model_label.setToolTip(str(message))

    def _on_ready(self, description: object) -> None:
        log.info("model warmed up: %s", description)
        if not self.closing:
            self.show_state()

    def _on_failed(self, failure: Failure) -> None:
        log.warning("model warm-up failed: %s", failure.message)
        if not self.closing:
            self._set_status(
                "Model: failed to load", f"{failure.message}\nIt is tried again with the next question; see Settings."
            )

    def show_state(self) -> None:
        """Say which model is ready, loading, or loaded with the first question."""
        description = self.engine.model_description()
        if description:
            self._set_status(f"Model: {description} ready", description)
        elif self.warming:
            self._set_status(f"Model: loading {self.engine.model}…", "Loading the model in the background")
        else:
            self._set_status(f"Model: {self.engine.model} (loads with the first question)")

    def show_server(self) -> None:
        """Say, all the time, when questions leave this process for a model server, and warn when they
        leave the machine."""
        server = self.engine.server
        self.server_label.setVisible(self.engine.backend == "server")
        model = server.model or "the server's model"
        if server.is_local:
            self.server_label.setText(f"Answers from {model} at {server.host} (local server)")
            self.server_label.setStyleSheet("")
        else:
            self.server_label.setText(f"Questions and passages are sent to {server.host} (remote server)")
            self.server_label.setStyleSheet(WARNING_STYLE)
        text, leaves = where_embedded(self.engine.embedding) or ("", False)  # likewise for an embeddings server
        self.embedder_label.setVisible(bool(text))
        self.embedder_label.setText(text)
        self.embedder_label.setStyleSheet(WARNING_STYLE if leaves else "")

    def about_text(self) -> str:
        """Version, model, backend and library, for *Help > About Footnotes*."""
        engine = self.engine
        model = engine.model_description() or f"{engine.model} (not loaded yet)"
        return (
            f"Footnotes {app_version()}\n"
            "Answers questions about your own files, with numbered citations; nothing leaves this computer.\n\n"
            f"Model: {model}\n"
            f"Backend: {engine.backend} · device: {engine.device}\n"
            f"Library: {engine.location}\n"
            f"Logs: {log_dir()}\n"
        )

    def _set_status(self, text: str, tip: str = "") -> None:
        self.model_label.setText(text)
        self.model_label.setToolTip(tip)
        self.guide.set_model_status(text)
