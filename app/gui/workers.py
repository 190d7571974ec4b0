"""Running core work off the GUI thread: jobs on Qt's thread pool that report through typed signals.

Each kind of work has signals of its own, one per event (after napari's `thread_worker`): an answer
sends `token(str)`, `evidence(list)`, `plan`, `status(str)`; indexing sends `progress(IndexProgress)`;
any job ends with `done(result)` or `failed(Failure)`. A failure is classified on the worker thread:
a user error keeps its one-line message, anything else is logged with its traceback.

A job given an `owner` (the controller that started it) delivers its signals only while the owner lives: a
job that ends after its window is gone reaches nothing of it (`relay`).

Jobs the window waits for when it closes (indexing, answers) run on Qt's global pool; a job that may
outlive the window and cannot be cancelled (loading the model at start-up) runs on `background_pool()`,
which closing the window does not wait for.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from app.core.engine import STOPPED_LOADING, AnswerEvents, Cancelled, Engine
from app.core.errors import describe, is_user_error
from app.core.logs import log_dir
from app.core.passages import previews, previews_of
from indexer.indexer import IndexProgress, IndexReport
from indexer.store import DocumentRecord
from rag.scope import Scope
from usererrors import WINDOW

log = logging.getLogger("footnotes.gui")
PAUSE_POLL_SECONDS = 0.1
_STARTED: set[Worker] = set()
"""Jobs queued or running: the pool holds only their C++ side."""


@dataclass(frozen=True)
class Failure:
    """Why a job failed, as the window shows it: `message`, and whether it was unexpected (a bug, whose
    traceback is in the log) rather than a user error the message explains."""

    message: str
    unexpected: bool = False


def failure_of(exc: BaseException) -> Failure:
    """Classify an exception raised by a job (on the worker thread, so the traceback is still at hand)."""
    if isinstance(exc, Cancelled):
        return Failure(STOPPED_LOADING)
    if is_user_error(exc):
        return Failure(describe(exc, WINDOW))
    log.error("a background job failed", exc_info=exc)
    return Failure(f"Something went wrong — the log is in {log_dir()}", unexpected=True)


class JobSignals(QObject):
    """Delivered on the GUI thread: progress snapshots, the result, or the failure."""

    progress = Signal(object)
    done = Signal(object)
    failed = Signal(Failure)


def relay(emitter: QObject, owner: QObject) -> QObject:
    """A copy of `emitter` (same signal class) that is `owner`'s child and re-emits each of its signals:
    what `emitter` sends after `owner` is deleted is dropped with the copy, and `emitter` itself, which a
    worker thread may still emit on, stays alive."""
    copy = type(emitter)(owner)
    for name, member in vars(type(emitter)).items():
        if isinstance(member, Signal):
            getattr(emitter, name).connect(getattr(copy, name))
    return copy


class Worker(QRunnable):
    """Runs `work()` on a pool and ends with `signals.done(result)` or `signals.failed(Failure)`;
    subclasses emit their typed events on `emitter` and honour `cancel`. Connect to `signals`: the same
    signals, delivered only while `owner` (when given) lives."""

    def __init__(self, emitter: QObject, owner: QObject | None = None) -> None:
        super().__init__()
        self.emitter: Any = emitter
        self.signals: Any = relay(emitter, owner) if owner is not None else emitter
        self.setAutoDelete(False)
        self.cancel = threading.Event()
        self.running = False
        """True from `start` until the work has returned or raised (set on the worker thread)."""

    def work(self) -> Any:
        """The job itself, on the pool's thread."""
        raise NotImplementedError

    def run(self) -> None:
        """Called by the pool's thread."""
        try:
            result = self.work()
        except Exception as exc:  # noqa: BLE001 - shown to the user rather than lost in a thread
            self.running = False
            self.emitter.failed.emit(failure_of(exc))
            return
        else:
            self.running = False
            self.emitter.done.emit(result)
        finally:
            _STARTED.discard(self)

    def start(self, pool: QThreadPool | None = None) -> Worker:
        """Queue the job on `pool` (default: Qt's global pool); it is kept until its work has returned,
        also when whoever started it is gone (its `emitter` must outlive the emits)."""
        self.running = True
        _STARTED.add(self)
        (pool or QThreadPool.globalInstance()).start(self)
        return self


class Job(Worker):
    """Simple work: `work(report_progress, cancel)`, reporting any object through `signals.progress`."""

    def __init__(
        self, work: Callable[[Callable[[Any], None], threading.Event], Any], owner: QObject | None = None
    ) -> None:
        super().__init__(JobSignals(), owner)
        self._work = work

    def work(self) -> Any:
        """Run the callable given."""
        return self._work(self.emitter.progress.emit, self.cancel)


class AnswerSignals(QObject):
    """One signal per event of an answer, in the order they come."""

    evidence = Signal(list)
    """`Preview`s of the passages: first those found, then those the model reads (numbered as cited)."""
    plan = Signal(object)
    """The context plan (`ContextPlan | None`)."""
    status = Signal(str)
    """What the answer waits for (loading the model, reading passages…)."""
    token = Signal(str)
    checked = Signal(object)
    """A `Checking`: the verdicts so far, sentence by sentence while the answer streams, then the judge's."""
    done = Signal(object)
    """The `CitedAnswer`."""
    failed = Signal(Failure)


class AnswerJob(Worker):
    """Answer `question` with `engine` (within `scope`, unless it is the whole collection)."""

    def __init__(self, engine: Engine, question: str, scope: Scope, owner: QObject | None = None) -> None:
        super().__init__(AnswerSignals(), owner)
        self.engine, self.question, self.scope = engine, question, scope

    def work(self) -> Any:
        """Ask, emitting each event as it happens."""
        signals, question = self.emitter, self.question
        events = AnswerEvents(
            status=signals.status.emit,
            retrieved=lambda hits: signals.evidence.emit(previews_of(hits, question)),
            plan=signals.plan.emit,
            prepared=lambda prepared: signals.evidence.emit(previews(prepared)),
            token=signals.token.emit,
            check=signals.checked.emit,
        )
        return self.engine.ask(question, events, self.cancel, None if self.scope.whole else self.scope)


class IndexSignals(QObject):
    """Progress of an indexing run, whether it is paused, and its end."""

    progress = Signal(IndexProgress)
    paused = Signal(bool)
    done = Signal(object)
    """An `IndexResult`."""
    failed = Signal(Failure)


@dataclass(frozen=True)
class Listing:
    """The library as the window shows it: every document record (failed ones too) and the indexed roots."""

    records: list[DocumentRecord]
    roots: list[Path]


@dataclass(frozen=True)
class IndexResult:
    """What an indexing run did, with the library's listing read after it (on the worker thread)."""

    report: IndexReport
    listing: Listing


def read_listing(engine: Engine) -> Listing:
    """Read the catalogue and the roots (may wait for the indexer's writer: call it off the GUI thread)."""
    return Listing(engine.catalogue(), engine.roots())


class IndexJob(Worker):
    """Index `paths` with `engine`; `pause()` holds the run at its next progress report until `resume()`
    (or cancel). The indexer reports from its writer thread between files and batches, never inside a
    write, so a paused run holds no lock."""

    def __init__(
        self,
        engine: Engine,
        paths: list[Path],
        force: bool = False,
        passwords: dict[str, str] | None = None,
        owner: QObject | None = None,
    ) -> None:
        super().__init__(IndexSignals(), owner)
        self.engine, self.paths, self.force, self.passwords = engine, paths, force, passwords
        self._running = threading.Event()
        self._running.set()
        self._holding = threading.Event()

    @property
    def paused(self) -> bool:
        """True while the run is held."""
        return not self._running.is_set()

    @property
    def holding(self) -> bool:
        """True while the worker is actually held (a pause takes effect at the next progress report)."""
        return self._holding.is_set()

    def pause(self) -> None:
        """Hold the run at its next progress report."""
        self._running.clear()
        self.emitter.paused.emit(True)

    def resume(self) -> None:
        """Let a held run go on."""
        self._running.set()
        self.emitter.paused.emit(False)

    def work(self) -> Any:
        """Index, then read the listing to show."""
        report = self.engine.index(self.paths, self._report, self.cancel, force=self.force, passwords=self.passwords)
        return IndexResult(report, read_listing(self.engine))

    def _report(self, state: IndexProgress) -> None:
        # A copy: the indexer goes on changing its snapshot while the GUI thread reads this one.
        self.emitter.progress.emit(replace(state))
        if self._running.is_set():
            return
        self._holding.set()
        try:
            while not self._running.wait(PAUSE_POLL_SECONDS):  # cancelling must work while paused
                if self.cancel.is_set():
                    return
        finally:
            self._holding.clear()


_background: QThreadPool | None = None


def background_pool() -> QThreadPool:
    """A pool of its own for long, uncancellable work that the window must not wait for on closing."""
    global _background
    if _background is None:
        _background = QThreadPool()
        _background.setMaxThreadCount(1)
    return _background
