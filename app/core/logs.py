"""A log file a user can send: start-up facts, skips and failures, timings, and unexpected errors.

The log lives in the user log folder (``$FOOTNOTES_LOG_DIR`` overrides it) as ``footnotes.log``,
rotated at 1 MB with 5 old files kept. It never holds document or question text unless debug
logging is on (``FOOTNOTES_DEBUG_LOG=1``): use `redact` for anything a user typed or indexed.
A folder that cannot be written never stops the program: it runs without a file log.
"""

from __future__ import annotations

import logging
import os
import platform
import sys
from dataclasses import dataclass
from importlib import metadata
from logging.handlers import RotatingFileHandler
from pathlib import Path

LOGGER_NAME = "footnotes"
LOG_FILE = "footnotes.log"
MAX_BYTES = 1 << 20
BACKUPS = 5
_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(process)d %(threadName)s] %(message)s"

logger = logging.getLogger(LOGGER_NAME)


@dataclass
class _LogState:
    handler: logging.Handler | None = None
    warned: bool = False
    debug: bool = False


_STATE = _LogState()


class _QuietFileHandler(RotatingFileHandler):
    """A rotating file handler whose write errors (disk full, folder gone) are never shown to the user."""

    def handleError(self, record: logging.LogRecord) -> None:
        """Drop the record: a log must never break or clutter the program."""


def app_version() -> str:
    """The installed Footnotes version, or ``0+unknown`` when running from an uninstalled tree."""
    try:
        return metadata.version("footnotes")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def log_dir() -> Path:
    """The folder of the log: ``$FOOTNOTES_LOG_DIR``, else the platform's user log folder."""
    override = os.environ.get("FOOTNOTES_LOG_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_log_dir

    return Path(user_log_dir("Footnotes", appauthor=False))


def log_file() -> Path:
    """The current log file's path (it may not exist yet)."""
    return log_dir() / LOG_FILE


def debug_requested() -> bool:
    """True when the environment asks for debug logging (``FOOTNOTES_DEBUG_LOG=1``)."""
    return os.environ.get("FOOTNOTES_DEBUG_LOG", "").strip().lower() in ("1", "true", "yes", "on")


def debug_logging() -> bool:
    """True when the installed log may hold document and question text."""
    return _STATE.debug


def redact(text: str, debug: bool, label: str = "question") -> str:
    """`text` itself when debugging, else only its size, e.g. ``<question: 42 chars>``."""
    return text if debug else f"<{label}: {len(text)} chars>"


def setup_logging(program: str, debug: bool = False) -> Path:
    """Log to ``footnotes.log`` in `log_dir()` and record the start-up facts; returns the log file's path.

    Idempotent: a second call with the same folder changes nothing. When the folder cannot be
    written, the program runs without a file log and says so once on stderr.
    """
    debug = debug or debug_requested()
    _STATE.debug = debug
    logger.setLevel(logging.DEBUG if debug else logging.INFO)
    path = log_file()
    current = _STATE.handler
    if isinstance(current, RotatingFileHandler) and Path(current.baseFilename) == path.absolute():
        return path
    _remove_handler()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = _QuietFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    except OSError as exc:
        _warn_once(
            f"footnotes: warning: cannot write the log in {path.parent} ({exc.strerror or exc}); running without"
        )
        handler = logging.NullHandler()  # keeps logging's last-resort handler off stderr
    else:
        handler.setFormatter(logging.Formatter(_FORMAT))
    logger.addHandler(handler)
    _STATE.handler = handler
    _log_start(program, debug)
    return path


def _remove_handler() -> None:
    if _STATE.handler is not None:
        logger.removeHandler(_STATE.handler)
        _STATE.handler.close()
    _STATE.handler = None


def _warn_once(message: str) -> None:
    if not _STATE.warned:
        print(message, file=sys.stderr)
        _STATE.warned = True


def _log_start(program: str, debug: bool) -> None:
    logger.info(
        "start %s: Footnotes %s, Python %s (%s), %s, debug log %s",
        program,
        app_version(),
        platform.python_version(),
        sys.executable,
        platform.platform(),
        "on" if debug else "off",
    )
