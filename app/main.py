"""The `footnotes` command: with a command, the command line (`app.cli`) or the MCP server (`app.mcp`);
with none, the window (`app.gui`). The one place that knows all three front ends.

A user error is one line on stderr with an exit code per kind (see `app.core.errors`); anything else keeps
its traceback and goes to the log (see `app.core.logs`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from app.cli.parser import build_parser
from app.core.errors import NO_WINDOW, Interrupted, UsageError, describe, exit_code, is_user_error
from app.core.logs import log_file, setup_logging
from app.core.options import store_url

__all__ = ["main"]

logger = logging.getLogger("footnotes.cli")


def _fail(exc: BaseException) -> int:
    """Print a user error as one line, log it, and return its exit code."""
    message = describe(exc)
    code = exit_code(exc)
    print(f"footnotes: error: {message}", file=sys.stderr)
    logger.warning("error (exit %d, %s): %s", code, type(exc).__name__, message)
    return code


def _open_window(args: argparse.Namespace) -> int:
    """The window, after checking that Qt can open one here (Qt's own failure is an abort that names no fix).
    ``--store`` and the other settings flags apply to this run of the window (see `app.gui.launch.window_start`)."""
    from app.core.platform_check import window_problem

    setup_logging("gui")  # what run_app logs to; a refusal below is logged there too
    try:
        store_url(args)
    except UsageError as exc:
        return _fail(exc)
    problem = window_problem()
    if problem:
        print(f"footnotes: {problem}", file=sys.stderr)
        return NO_WINDOW
    from app.gui.launch import run_app

    library = Path(args.library).expanduser() if args.library else None
    try:
        return run_app(library, collection=args.collection, flags=args)
    except Exception as exc:
        if is_user_error(exc):  # a library that cannot be opened, such as a --store server that is not there
            return _fail(exc)
        raise


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `footnotes` console script (`python -m app` too)."""
    args = build_parser().parse_args(argv)
    if args.command is None:
        return _open_window(args)
    setup_logging("cli")
    logger.info("command: %s", args.command)
    try:
        if args.command == "mcp":
            from app.mcp.server import cmd_mcp

            args.func = cmd_mcp
        return int(args.func(args))
    except KeyboardInterrupt:
        return _fail(Interrupted("interrupted; rerun the command when you are ready"))
    except Exception as exc:
        if is_user_error(exc):
            return _fail(exc)
        logger.exception("unexpected error in footnotes %s", args.command)
        print(f"footnotes: unexpected error; the log {log_file()} has the details", file=sys.stderr)
        raise


if __name__ == "__main__":
    sys.exit(main())
