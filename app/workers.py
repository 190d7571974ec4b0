"""Running core work off the GUI thread: a job on Qt's thread pool that reports through signals.

Jobs the window waits for when it closes (indexing, answers) run on Qt's global pool; a job that may
outlive the window and cannot be cancelled (loading the model at start-up) runs on `background_pool()`,
which closing the window does not wait for.
"""

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
        self.running = False
        """True from `start` until the work has returned or raised (set on the worker thread)."""
        self._work = work

    def run(self) -> None:
        """Called by the pool's thread."""
        try:
            result = self._work(self.signals.progress.emit, self.cancel)
        except Exception as exc:  # noqa: BLE001 - shown to the user rather than lost in a thread
            traceback.print_exc()
            self.running = False
            self.signals.failed.emit(str(exc))
            return
        self.running = False
        self.signals.done.emit(result)

    def start(self, pool: QThreadPool | None = None) -> Job:
        """Queue the job on `pool` (default: Qt's global pool)."""
        self.running = True
        (pool or QThreadPool.globalInstance()).start(self)
        return self


_background: QThreadPool | None = None


def background_pool() -> QThreadPool:
    """A pool of its own for long, uncancellable work that the window must not wait for on closing."""
    global _background
    if _background is None:
        _background = QThreadPool()
        _background.setMaxThreadCount(1)
    return _background
