"""The `footnotes` commands that answer: ask, chat, and mcp (the library served to another assistant);
each runs with the `Settings` its flags describe."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from app.cli.library import library_location, load_embedder, open_store, parse_scope, user_settings
from app.core.engine import Engine
from app.core.errors import (
    ContextTooSmall,
    LibraryMissing,
    ModelProblem,
    UsageError,
    context_overflow_message,
    describe,
)
from app.core.logs import debug_logging, redact
from app.core.settings import Settings
from indexer.attachments import display_name
from indexer.store import CATALOGUE, Store
from llm.base import Generator
from llm.bundled import PRESETS
from llm.loader import load_generator, pick_backend
from llm.openai_backend import ServerError, check_url
from rag.answer import Answerer, AnswerSettings, Conversation
from rag.citations import CitedAnswer
from rag.context import ContextOverflow, ContextPlan
from rag.export import export
from rag.retriever import RetrievalSettings
from rag.scope import Scope

logger = logging.getLogger("footnotes.cli")


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _load_model(settings: Settings) -> Generator:
    """The generator asked for, with each way it can fail turned into a user error of its kind."""
    if settings.model.backend == "server":
        return _connect_server(settings)
    spec = _checked_model(settings)  # checks the options before a slow load
    try:
        return load_generator(spec, settings.model.backend, settings.model.device, status=_say)
    except (ValueError, OSError) as exc:
        name = Path(spec).name
        raise ModelProblem(f"cannot load the model {name}: {exc}; give a GGUF file or a model folder") from exc


def _connect_server(settings: Settings) -> Generator:
    """The model server the ``--server-*`` options name; one that cannot be used is a model problem."""
    try:
        return load_generator(backend="server", server=settings.server.connection(), status=_say)
    except ServerError as exc:
        raise ModelProblem(str(exc)) from exc


def _answerer(args: argparse.Namespace, settings: Settings, store: Store) -> Answerer:
    started = time.perf_counter()
    generator = _load_model(settings)
    print(f"Model ready in {time.perf_counter() - started:.0f} s.", file=sys.stderr, flush=True)
    logger.info("model ready in %.1f s: %s", time.perf_counter() - started, generator.describe())
    embedder = load_embedder(args)
    store.bind_embedder(embedder.name, embedder.dim)
    answer_settings = AnswerSettings(retrieval=RetrievalSettings(top_k=settings.retrieval.top_k))
    return Answerer(store, embedder, generator, answer_settings)


def _answer(
    answerer: Answerer,
    question: str,
    conversation: Conversation | None,
    args: argparse.Namespace,
    scope: Scope | None = None,
) -> CitedAnswer:
    def show_plan(plan: ContextPlan | None) -> None:
        if args.show_context and plan is not None:
            print(plan.describe(), file=sys.stderr, flush=True)

    streamed: list[str] = []

    def stream(token: str) -> None:
        streamed.append(token)
        print(token, end="", flush=True)

    try:
        on_token = None if args.json else stream
        answer = answerer.ask(question, conversation, on_token=on_token, on_plan=show_plan, scope=scope)
    except ContextOverflow as exc:
        raise ContextTooSmall(context_overflow_message(answerer.generator.context_window)) from exc
    _log_answer(answerer.generator, question, answer)
    if args.json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
    else:
        print()
        if checked := checked_line("".join(streamed), answer):
            print(checked)
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
        print(f"(withheld, most of it is not what your files say: “{' '.join(answer.withheld.split())}”)")
    if answer.removed_markers:
        print(f"(removed citations that pointed at no source: {answer.removed_markers})")
    for note in answer.notes:
        print(f"  {note}")
    listed = answer.cited
    if answer.refused and answer.sources:
        listed = answer.cited + [n for n in sorted(answer.sources) if n not in answer.cited]
        print("Closest passages:")
    for n in listed:
        chunk = answer.sources[n]
        excerpt = " ".join(chunk.text.split())
        print(f"[{n}] {display_name(chunk.path)}, {chunk.where}: {excerpt[:160]}{'…' if len(excerpt) > 160 else ''}")


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer one question with citations."""
    settings = user_settings(args)
    with open_store(args) as store:
        scope = parse_scope(args, store)
        answerer = _answerer(args, settings, store)
        answer = _answer(answerer, args.question, None, args, scope)
    if args.export:
        print(f"Exported to {export([answer], Path(args.export))}", file=sys.stderr)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    """A small REPL with follow-up questions; an empty line or EOF ends it."""
    settings = user_settings(args)
    with open_store(args) as store:
        answerer = _answerer(args, settings, store)
        conversation = Conversation()
        while True:
            try:
                question = input("\nyou> ").strip()
            except EOFError:
                break
            if not question or question in ("exit", "quit"):
                break
            _answer(answerer, question, conversation, args)
    if args.export and conversation.turns:
        print(f"Exported to {export([t.answer for t in conversation.turns], Path(args.export))}", file=sys.stderr)
    return 0


def _checked_model(settings: Settings) -> str:
    """The model asked for, with its path and backend options checked now (the model itself loads later);
    for a model server, its URL (the server is asked when the model is first needed)."""
    model = settings.model
    if model.backend == "server":
        try:
            check_url(settings.server.connection())
        except ServerError as exc:
            raise ModelProblem(str(exc)) from exc
        return settings.server.model
    spec = model.name
    path = Path(PRESETS[spec].filename) if spec in PRESETS else Path(spec).expanduser()
    if spec not in PRESETS and not path.exists():
        raise ModelProblem(
            f"no model at {path}; give --model {' or '.join(PRESETS)}, a local GGUF file or a model folder"
        )
    try:
        pick_backend(path, model.backend, model.device)
    except ValueError as exc:
        raise UsageError(describe(exc)) from exc
    return spec


def cmd_mcp(args: argparse.Namespace) -> int:
    """Serve the library over the Model Context Protocol on stdin and stdout until the client closes."""
    from app.mcp.server import serve

    settings = user_settings(args)
    folder = library_location(args)
    if isinstance(folder, Path) and not (folder / CATALOGUE).exists():
        raise LibraryMissing(f"no library at {folder}; index something first: footnotes index PATH")
    _checked_model(settings)
    return serve(Engine.from_settings(settings, folder))
