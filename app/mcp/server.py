"""`footnotes mcp`: the library served over the Model Context Protocol on stdin and stdout, so another
assistant (a desktop chat app, an IDE) can search it and ask it questions.

A thin shell over `app.core.engine.Engine`, like the window and the CLI:

* tool ``search(query, k)``: the passages the retriever finds, each with its file, page, span and text;
* tool ``ask(question)``: the cited answer, each ``[n]`` with its file, page, span and supporting sentence;
* one resource per indexed document, ``footnotes://document/<id>``: its stored text with page markers.

The embedder loads on the first search, the language model on the first question. Standard output is
the protocol's channel: the SDK's stdio transport points file descriptor 1 at stderr while it serves,
so a stray print (or a C library's output) goes to stderr and never corrupts a message; our own
messages go to the log (`app.core.logs`).
"""

from __future__ import annotations

import argparse
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.types import Resource as ResourceInfo

from app.core.engine import AnswerEvents, Engine
from app.core.errors import USER_ERRORS, describe, is_user_error
from app.core.logs import app_version, debug_logging, redact
from app.core.options import checked_model, open_engine, user_settings
from app.core.passages import Passage, best_sentence, passage
from indexer.attachments import display_name
from indexer.store import DocumentRecord
from indexer.types import Page
from rag.citations import CitedAnswer, SentenceCheck

logger = logging.getLogger("footnotes.mcp")

URI_PREFIX = "footnotes://document/"
MAX_K = 50
INSTRUCTIONS = (
    "Footnotes searches and answers from the user's own indexed files. Use `search` to find passages "
    "(file, page, text) and `ask` for a short answer whose [n] markers cite a file and page; read a "
    "whole document through its footnotes://document/<id> resource."
)


@dataclass(frozen=True)
class Citation:
    """What an answer's marker ``[number]`` cites: the passage's place and span, and the sentence of it
    that supports the answer (its span in the page's stored text)."""

    number: int
    file: str
    path: str
    page: int
    location: str
    char_start: int
    char_end: int
    sentence: str
    sentence_start: int
    sentence_end: int


@dataclass(frozen=True)
class SentenceVerdict:
    """One sentence of the answer (or of its withheld draft) and its verdict: ``supported`` (by the
    sources it cites), ``contradicted`` (`source_says` is the sentence of source `source` that says
    otherwise) or ``not_stated``; `reason` says why in words."""

    text: str
    verdict: str
    cites: list[int]
    reason: str
    source: int | None = None
    source_says: str = ""


@dataclass(frozen=True)
class Answer:
    """A cited answer: `text` with ``[n]`` markers, one `Citation` per marker, whether it says the
    files do not hold the answer (`refused`) or replaced a draft most of which they do not state
    (`withheld`, the draft in `draft`), a verdict per sentence, the sentences no passage supports,
    and, for a refusal, the closest passages (`closest`)."""

    question: str
    text: str
    citations: list[Citation]
    refused: bool
    withheld: bool
    weak_sentences: list[str]
    model: str
    sentences: list[SentenceVerdict]
    draft: str
    closest: list[Citation]


def citation(answer: CitedAnswer, number: int) -> Citation:
    """Marker ``[number]`` of an answer with its supporting sentence (the best evidence the citation
    check found; without any, the passage sentence closest to the question)."""
    chunk = answer.sources[number]
    evidence = answer.evidence_for(number)
    if evidence is not None:
        sentence, start, end = evidence.text, evidence.char_start, evidence.char_end
    else:
        sentence = best_sentence(chunk.text, answer.question)
        offset = chunk.text.find(sentence)
        start = chunk.char_start + max(offset, 0)
        end = start + len(sentence) if offset >= 0 else chunk.char_end
    return Citation(
        number=number,
        file=display_name(chunk.path),
        path=chunk.path,
        page=chunk.page,
        location=chunk.where,
        char_start=chunk.char_start,
        char_end=chunk.char_end,
        sentence=sentence,
        sentence_start=start,
        sentence_end=end,
    )


def answer_record(answer: CitedAnswer) -> Answer:
    """A cited answer as the `ask` tool returns it."""
    return Answer(
        question=answer.question,
        text=answer.text,
        citations=[citation(answer, n) for n in answer.cited],
        refused=answer.refused,
        withheld=bool(answer.withheld),
        weak_sentences=[check.text for check in answer.weak_sentences],
        model=answer.model,
        sentences=[_verdict(check) for check in answer.sentences if check.verdict],
        draft=answer.withheld,
        closest=[citation(answer, n) for n in sorted(answer.sources)] if answer.refused else [],
    )


def _verdict(check: SentenceCheck) -> SentenceVerdict:
    against = check.contradiction
    return SentenceVerdict(
        text=check.text,
        verdict=check.verdict,
        cites=check.cites,
        reason=check.reason,
        source=against.number if against else None,
        source_says=against.text if against else "",
    )


def document_text(pages: list[Page]) -> str:
    """A document's stored text, each page under a marker line such as ``--- page 4 ---``."""
    return "\n\n".join(f"--- {page.label or f'page {page.number}'} ---\n{page.text}" for page in pages)


def document_uri(record: DocumentRecord) -> str:
    """The resource address of an indexed document."""
    return f"{URI_PREFIX}{record.id}"


class FootnotesServer(MCPServer):
    """An MCP server whose resources are the library's documents at the moment they are listed."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(name="footnotes", version=app_version(), instructions=INSTRUCTIONS, log_level="WARNING")
        self.engine = engine
        self._asking = threading.Lock()  # one question at a time: the conversation is reset for each
        self.add_tool(self.search)
        self.add_tool(self.ask)
        self.resource(f"{URI_PREFIX}{{doc_id}}", name="document", mime_type="text/plain")(self.read_document)

    async def list_resources(self) -> list[ResourceInfo]:
        """One resource per indexed document: its file name, path and page count."""
        return [
            ResourceInfo(
                uri=document_uri(record),
                name=display_name(record.path),
                description=f"{record.path} ({record.page_count} page{'' if record.page_count == 1 else 's'})",
                mime_type="text/plain",
            )
            for record in self.engine.documents()
        ]

    def search(self, query: str, k: int = 5) -> list[Passage]:
        """Find the `k` passages (1 to 50) of the user's files that best match `query`, best first: each
        with its file, page, character span in the page, kind of page, score and text."""
        if not 1 <= k <= MAX_K:
            raise ToolError(f"k must be between 1 and {MAX_K}, not {k}.")
        with _as_tool_error():
            hits = self.engine.search(query, top_k=k)
        logger.info("mcp search %s: %d hit(s)", redact(query, debug_logging(), "query"), len(hits))
        return [passage(hit) for hit in hits]

    def ask(self, question: str) -> Answer:
        """Answer `question` from the user's files with a local model: the text's [n] markers each cite a
        file, page and supporting sentence; `refused` when the files do not hold the answer."""
        with self._asking, _as_tool_error():
            self.engine.new_chat()
            events = AnswerEvents(status=lambda message: logger.info("mcp ask: %s", message))
            answer = self.engine.ask(question, events, threading.Event())
        logger.info("mcp ask %s: %d source(s) cited", redact(question, debug_logging()), len(answer.cited))
        return answer_record(answer)

    def read_document(self, doc_id: str) -> str:
        """The stored text of document `doc_id`, page by page."""
        record = next((r for r in self.engine.documents() if str(r.id) == doc_id), None)
        if record is None:
            raise ResourceNotFoundError(f"The library has no indexed document {doc_id}.")
        return document_text(self.engine.document_pages(record.id))


@contextmanager
def _as_tool_error() -> Iterator[None]:
    """Turn a user error (no model, a question too long for the window, a damaged library) into the one
    sentence the calling assistant shows; a bug passes unchanged, so the SDK logs its traceback."""
    try:
        yield
    except USER_ERRORS as exc:
        if not is_user_error(exc):
            raise
        message = describe(exc)
        raise ToolError(f"{message[:1].upper()}{message[1:].rstrip('.')}.") from exc


def serve(engine: Engine) -> int:
    """Serve the engine's library over MCP on stdin and stdout until the client closes; returns 0."""
    logger.info("mcp server started")
    FootnotesServer(engine).run("stdio")
    logger.info("mcp server stopped")
    return 0


def cmd_mcp(args: argparse.Namespace) -> int:
    """``footnotes mcp``: serve the library over the Model Context Protocol on stdin and stdout until the
    client closes."""
    settings = user_settings(args)
    engine = open_engine(args, settings)
    checked_model(settings)
    return serve(engine)
