"""Reading files in a child process, with a time limit and a memory ceiling.

Parsers meet hostile input: a PDF can loop a parser forever, blow up its memory or crash it. The
loaders therefore run in a child process that the indexer can abandon: past the time limit it is
killed and restarted, a memory ceiling (RLIMIT_AS) turns a blow-up into a clean error, and a crash
costs that one file. Each outcome becomes a `LoadError` with a reason, and the run goes on.

Pages come back one message at a time as the child reads them (`SandboxedLoader.stream`), so the
indexer chunks and embeds the first pages of a large PDF while the child, on its own core and
without sharing the indexer's GIL, parses the rest. The pipe's buffer bounds how far it runs ahead.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from indexer.loaders import LoadError, stream
from indexer.types import Document, IssueKind, Page


@dataclass(frozen=True)
class SandboxSettings:
    """Limits for reading one file."""

    timeout_s: float = 300.0
    memory_mb: int = 3072


def _serve(connection: multiprocessing.connection.Connection, memory_mb: int) -> None:
    """Child process: read each path it is sent and answer with its pages, one message each, then the
    document (without its pages) or the error."""
    try:
        import resource

        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass  # no rlimits on this platform: the time limit still holds
    while True:
        try:
            path, password = connection.recv()
        except (EOFError, OSError):
            return  # the indexer is gone
        try:
            for item in stream(Path(path), password):
                connection.send(("page", item) if isinstance(item, Page) else ("ok", item))
        except LoadError as exc:
            connection.send(("error", exc.kind, exc.reason))
        except MemoryError:
            connection.send(("error", IssueKind.TOO_LARGE, f"reading it needs more than {memory_mb} MB of memory"))


class SandboxedLoader:
    """`load()` in a reusable child process; use as a context manager or call `close()`."""

    def __init__(self, settings: SandboxSettings | None = None) -> None:
        self.settings = settings or SandboxSettings()
        self._context = multiprocessing.get_context("spawn")
        self._process: multiprocessing.process.BaseProcess | None = None
        self._connection: multiprocessing.connection.Connection | None = None

    def _start(self) -> multiprocessing.connection.Connection:
        if self._process is None or not self._process.is_alive() or self._connection is None:
            self._stop()
            parent, child = self._context.Pipe()
            process = self._context.Process(
                target=_serve, args=(child, self.settings.memory_mb), daemon=True, name="footnotes-loader"
            )
            try:
                process.start()  # a spawn can fail (a script without a __main__ guard): nothing to stop then
            finally:
                child.close()
            self._process, self._connection = process, parent
        return self._connection

    def load(self, path: Path, password: str | None = None) -> Document:
        """Load a file within the limits; LoadError when it cannot be read, times out or crashes."""
        pages: list[Page] = []
        for item in self.stream(path, password):
            if isinstance(item, Page):
                pages.append(item)
            else:
                return replace(item, pages=pages)
        raise LoadError(IssueKind.CRASHED, "the parser stopped before the end of the file; skipped")

    def stream(self, path: Path, password: str | None = None) -> Iterator[Page | Document]:
        """A file's pages as the child reads them, then its `Document` without pages (`indexer.loaders.stream`);
        LoadError when it cannot be read, times out or crashes, possibly after some pages. The time limit
        counts the time spent waiting for the child, not the time the caller spends on the pages. Closing
        the iterator before its end ends the child, which would otherwise still be sending pages."""
        connection = self._start()
        connection.send((str(path), password))
        finished = False
        waited = 0.0
        try:
            while True:
                began = time.perf_counter()
                ready = connection.poll(max(0.0, self.settings.timeout_s - waited))
                waited += time.perf_counter() - began
                reply = self._reply(connection) if ready else None
                if reply is None:
                    self._stop()
                    raise LoadError(
                        IssueKind.TIMEOUT, f"reading it took longer than {self.settings.timeout_s:.0f} s; skipped"
                    )
                if reply[0] == "page":
                    yield reply[1]
                    continue
                finished = True
                if reply[0] == "ok":
                    yield reply[1]
                    return
                raise LoadError(reply[1], reply[2])
        finally:
            if not finished:
                self._stop()

    def _reply(self, connection: multiprocessing.connection.Connection) -> tuple:
        """The child's next message; LoadError when it crashed."""
        try:
            return connection.recv()
        except (EOFError, OSError):
            code = self._process.exitcode if self._process else None
            self._stop()
            raise LoadError(IssueKind.CRASHED, f"the parser crashed on this file (exit code {code}); skipped") from None

    def _stop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join(timeout=5)
            self._process = None

    def close(self) -> None:
        """End the child process."""
        self._stop()

    def __enter__(self) -> SandboxedLoader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
