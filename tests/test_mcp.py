"""`footnotes mcp`: the real MCP client starts the server as another assistant would (a subprocess on
stdio), lists its tools and documents, searches, asks, and reads a document; nothing but protocol
messages may reach its standard output."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession, MCPError, StdioServerParameters, stdio_client
from mcp.types import CallToolResult, ListResourcesResult, ReadResourceResult

from indexer.embedder import Embedder
from indexer.indexer import Indexer
from indexer.store import Store

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "assets" / "sample"
QUESTION = "How often should the Aurora 3 be descaled?"
GUIDE = "aurora3-user-guide.pdf"
DESCALING_PAGE = 4


@dataclass
class Seen:
    """What the client saw in one session with the server."""

    tools: dict[str, Any] = field(default_factory=dict)
    search: CallToolResult | None = None
    bad_search: CallToolResult | None = None
    ask: CallToolResult | None = None
    resources: ListResourcesResult | None = None
    document: ReadResourceResult | None = None
    missing_document: MCPError | None = None
    stream_errors: list[Exception] = field(default_factory=list)


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """The sample folder indexed into a fresh library."""
    folder = tmp_path_factory.mktemp("mcp-library")
    with Store(folder) as store:
        report = Indexer(store, embedder).run([SAMPLE])
    assert len(report.indexed) == 3
    return folder


async def _session(library: Path, logs: Path) -> Seen:
    seen = Seen()

    async def on_message(message: object) -> None:
        if isinstance(message, Exception):  # a line on stdout that is not a protocol message
            seen.stream_errors.append(message)

    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "app", "--library", str(library), "mcp", "--model", "light"],
        env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "FOOTNOTES_LOG_DIR": str(logs)},
        cwd=ROOT,
    )
    async with stdio_client(server) as (read, write), ClientSession(read, write, message_handler=on_message) as client:
        await client.initialize()
        seen.tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        seen.search = await client.call_tool("search", {"query": QUESTION, "k": 3})
        seen.bad_search = await client.call_tool("search", {"query": QUESTION, "k": 0})
        seen.ask = await client.call_tool("ask", {"question": QUESTION})
        seen.resources = await client.list_resources()
        guide = next(r for r in seen.resources.resources if r.name == GUIDE)
        seen.document = await client.read_resource(guide.uri)
        try:
            await client.read_resource("footnotes://document/999999")
        except MCPError as exc:  # the server's error response
            seen.missing_document = exc
    return seen


@pytest.fixture(scope="module")
def seen(library: Path, tmp_path_factory: pytest.TempPathFactory) -> Seen:
    """One session of the real client with `footnotes mcp` as a subprocess (the light model)."""
    logs = tmp_path_factory.mktemp("mcp-logs")
    return anyio.run(_session, library, logs)


def test_the_server_offers_search_and_ask_and_keeps_stdout_for_the_protocol(seen: Seen) -> None:
    assert set(seen.tools) == {"search", "ask"}
    assert set(seen.tools["search"].input_schema["properties"]) == {"query", "k"}
    assert seen.tools["search"].input_schema["required"] == ["query"]
    assert set(seen.tools["ask"].input_schema["properties"]) == {"question"}
    assert seen.stream_errors == []


def test_search_finds_the_descaling_page_with_its_span(seen: Seen, library: Path) -> None:
    assert seen.search is not None and not seen.search.is_error
    passages = seen.search.structured_content["result"]
    assert 1 <= len(passages) <= 3
    top = passages[0]
    assert set(top) == {"file", "path", "page", "location", "char_start", "char_end", "kind", "score", "text"}
    assert (top["file"], top["page"], top["kind"]) == (GUIDE, DESCALING_PAGE, "content")
    assert "every 200 cups" in top["text"]
    with Store(library) as store:
        record = store.document(top["path"])
        assert record is not None
        page = store.page_text(record.id, top["page"])
    assert page is not None and page[top["char_start"] : top["char_end"]] == top["text"]
    assert json.loads(seen.search.content[0].text) == top  # the same passage as text for older clients


def test_a_search_with_a_bad_k_is_one_sentence_of_error(seen: Seen) -> None:
    assert seen.bad_search is not None and seen.bad_search.is_error
    assert seen.bad_search.content[0].text.endswith("search: k must be between 1 and 50, not 0.")


def test_ask_cites_the_descaling_page_with_its_sentence(seen: Seen) -> None:
    assert seen.ask is not None and not seen.ask.is_error, seen.ask
    answer = seen.ask.structured_content
    assert answer["question"] == QUESTION
    assert not answer["refused"] and not answer["withheld"]
    assert "200" in answer["text"]
    cited = {(c["file"], c["page"]) for c in answer["citations"]}
    assert (GUIDE, DESCALING_PAGE) in cited
    for c in answer["citations"]:
        assert f"[{c['number']}]" in answer["text"]
        assert c["char_start"] <= c["sentence_start"] < c["sentence_end"] <= c["char_end"]
    descaling = next(c for c in answer["citations"] if c["page"] == DESCALING_PAGE)
    assert "200 cups" in descaling["sentence"]


def test_every_sample_document_is_a_resource_and_reads_as_text_with_page_markers(seen: Seen) -> None:
    assert seen.resources is not None
    names = {r.name: r for r in seen.resources.resources}
    assert set(names) == {p.name for p in SAMPLE.iterdir()}
    assert all(r.mime_type == "text/plain" and str(r.uri).startswith("footnotes://document/") for r in names.values())
    assert seen.document is not None
    text = seen.document.contents[0].text
    assert text.startswith("--- page 1 ---\nAurora 3 espresso machine: user guide")
    assert "--- page 4 ---\n3 Descaling" in text
    assert text.count("--- page ") == 6


def test_an_unknown_document_is_refused(seen: Seen) -> None:
    assert seen.missing_document is not None
    assert "no indexed document 999999" in str(seen.missing_document)
