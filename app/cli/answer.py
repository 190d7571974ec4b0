"""The `footnotes` commands that answer: ask and chat, through the Engine, each run with the `Settings`
its flags describe."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
from pathlib import Path

from app.core.engine import AnswerEvents, Engine
from app.core.errors import ModelProblem
from app.core.logs import debug_logging, redact
from app.core.options import checked_model, open_engine, parse_scope, user_settings
from indexer.attachments import display_name
from llm.base import Generator
from llm.openai_backend import ServerError
from rag.citations import CitedAnswer
from rag.context import ContextPlan
from rag.export import export
from rag.scope import Scope
from usererrors import InvalidValue

logger = logging.getLogger("footnotes.cli")


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _out(text: str = "", end: str = "\n") -> None:
    """Print to stdout. When its reader has gone (`footnotes ask … | head`), stdout goes nowhere from then
    on, so the answer is still made, logged and exported instead of the command dying mid-answer."""
    try:
        print(text, end=end, flush=True)
    except BrokenPipeError:
        nowhere = os.open(os.devnull, os.O_WRONLY)
        os.dup2(nowhere, sys.stdout.fileno())
        os.close(nowhere)


def _engine(args: argparse.Namespace) -> Engine:
    """The Engine over the command's library with its model loaded, each way the model can fail turned
    into a user error of its kind (its options checked before the slow load)."""
    settings = user_settings(args)
    engine = open_engine(args, settings)
    spec = checked_model(settings)
    engine.embedder(_say)  # the library refuses another embedder than its own before the model loads
    started = time.perf_counter()
    try:
        generator = engine.answerer(_say).generator
    except (ServerError, InvalidValue) as exc:  # a server, device or backend that cannot run it
        raise ModelProblem(exc.what, exc.todo) from exc
    except (ValueError, OSError) as exc:  # transformers' own, for a file or folder it cannot load
        raise ModelProblem(
            f"cannot load the model {Path(spec).name}: {exc}", "give a GGUF file or a model folder"
        ) from exc
    print(f"Model ready in {time.perf_counter() - started:.0f} s.", file=sys.stderr, flush=True)
    logger.info("model ready in %.1f s: %s", time.perf_counter() - started, generator.describe())
    return engine


def _answer(engine: Engine, question: str, args: argparse.Namespace, scope: Scope | None = None) -> CitedAnswer:
    def show_plan(plan: ContextPlan | None) -> None:
        if args.show_context and plan is not None:
            print(plan.describe(), file=sys.stderr, flush=True)

    streamed: list[str] = []

    def stream(token: str) -> None:
        streamed.append(token)
        _out(token, end="")

    events = AnswerEvents(plan=show_plan, token=None if args.json else stream)
    answer = engine.ask(question, events, threading.Event(), scope)
    _log_answer(engine.answerer(_say).generator, question, answer)
    if args.json:
        _out(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
    else:
        _out()
        if checked := checked_line("".join(streamed), answer):
            _out(checked)
        _print_sources(answer)
    return answer


def checked_line(streamed: str, answer: CitedAnswer) -> str | None:
    """The answer as checked, when it differs from the draft the terminal showed while it streamed (the
    check moved, added or removed markers): the sources printed below number that text, not the draft."""
    if " ".join(streamed.split()) == " ".join(answer.text.split()):
        return None
    return f"Checked: {answer.text}"


def _log_answer(generator: Generator, question: str, answer: CitedAnswer) -> None:
    """The answer's model, backend and timings; the question only as its size unless debugging."""
    timing = ", ".join(f"{key}={value:.3g}" for key, value in answer.timing.items())
    logger.info(
        "answer to %s by %s (%s on %s): %d source(s) cited%s; %s",
        redact(question, debug_logging()),
        answer.model or generator.name,
        generator.backend,
        generator.device,
        len(answer.cited),
        ", withheld" if answer.withheld else "",
        timing or "no timings",
    )


def _print_sources(answer: CitedAnswer) -> None:
    if answer.withheld:
        _out(f"(withheld, most of it is not what your files say: “{' '.join(answer.withheld.split())}”)")
    if answer.removed_markers:
        _out(f"(removed citations that pointed at no source: {answer.removed_markers})")
    for note in answer.notes:
        _out(f"  {note}")
    listed = answer.cited
    if answer.refused and answer.sources:
        listed = answer.cited + [n for n in sorted(answer.sources) if n not in answer.cited]
        _out("Closest passages:")
    for n in listed:
        chunk = answer.sources[n]
        excerpt = " ".join(chunk.text.split())
        _out(f"[{n}] {display_name(chunk.path)}, {chunk.where}: {excerpt[:160]}{'…' if len(excerpt) > 160 else ''}")


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer one question with citations."""
    engine = _engine(args)
    try:
        answer = _answer(engine, args.question, args, parse_scope(args, engine.store))
    finally:
        engine.close()
    if args.export:
        print(f"Exported to {export([answer], Path(args.export))}", file=sys.stderr)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    """A small REPL with follow-up questions; an empty line or EOF ends it."""
    engine = _engine(args)
    try:
        while True:
            try:
                question = input("\nyou> ").strip()
            except EOFError:
                break
            if not question or question in ("exit", "quit"):
                break
            _answer(engine, question, args)
    finally:
        engine.close()
    answers = [turn.answer for turn in engine.conversation.turns]
    if args.export and answers:
        print(f"Exported to {export(answers, Path(args.export))}", file=sys.stderr)
    return 0
