"""Running core work off the GUI thread: a job on Qt's thread pool that reports through signals."""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


class JobSignals(QObject):
    """Delivered on the GUI thread: progress snapshots, the result, or an error message."""

    progress = Signal(object)
    done = Signal(object)
    failed = Signal(str)


class Job(QRunnable):
    """Runs `work(report_progress, cancel)` on the pool; `cancel` is a threading.Event it should honour."""

    def __init__(self, work: Callable[[Callable[[Any], None], threading.Event], Any]) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.signals = JobSignals()
        self.cancel = threading.Event()
        self._work = work

    def run(self) -> None:
        """Called by the pool's thread."""
        try:
            result = self._work(self.signals.progress.emit, self.cancel)
        except Exception as exc:  # noqa: BLE001 - shown to the user rather than lost in a thread
            traceback.print_exc()
            self.signals.failed.emit(str(exc))
            return
        self.signals.done.emit(result)

    def start(self) -> Job:
        """Queue the job on the global pool."""
        QThreadPool.globalInstance().start(self)
        return self
