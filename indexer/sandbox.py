"""Reading files in a child process, with a time limit and a memory ceiling.

Parsers meet hostile input: a PDF can loop a parser forever, blow up its memory or crash it. The
loaders therefore run in a child process that the indexer can abandon: past the time limit it is
killed and restarted, a memory ceiling (RLIMIT_AS) turns a blow-up into a clean error, and a crash
costs that one file. Each outcome becomes a `LoadError` with a reason, and the run goes on.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
from dataclasses import dataclass
from pathlib import Path

from indexer.loaders import LoadError, load
from indexer.types import Document, IssueKind


@dataclass(frozen=True)
class SandboxSettings:
    """Limits for reading one file."""

    timeout_s: float = 300.0
    memory_mb: int = 3072


def _serve(connection: multiprocessing.connection.Connection, memory_mb: int) -> None:
    """Child process: load each path it is sent and answer with the document or the error."""
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
            connection.send(("ok", load(Path(path), password)))
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
        connection = self._start()
        connection.send((str(path), password))
        if not connection.poll(self.settings.timeout_s):
            self._stop()
            raise LoadError(IssueKind.TIMEOUT, f"reading it took longer than {self.settings.timeout_s:.0f} s; skipped")
        try:
            reply = connection.recv()
        except (EOFError, OSError):
            code = self._process.exitcode if self._process else None
            self._stop()
            raise LoadError(IssueKind.CRASHED, f"the parser crashed on this file (exit code {code}); skipped") from None
        if reply[0] == "ok":
            return reply[1]
        raise LoadError(reply[1], reply[2])

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
