"""Located citations: a passage of a text file names its section and lines, a log its block of lines,
a sheet its cells; the location is stored, migrated into old libraries and shown everywhere."""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import make_pdf
from pytestqt.qtbot import QtBot

from app.gui.source_viewer import SourceViewer
from app.main import main
from indexer.chunker import Chunker
from indexer.embedder import Embedder
from indexer.indexer import Indexer
from indexer.loaders import load
from indexer.location import describe
from indexer.scan import content_hash
from indexer.store import CATALOGUE, SCHEMA_VERSION, FileFacts, Store
from indexer.types import Chunk, Hit, Page
from rag.citations import CitedAnswer
from rag.export import to_markdown
from rag.retriever import relocated

SECTION = re.compile(r"^§ (?P<label>.+), lines? (?P<first>\d+)(–(?P<last>\d+))?$")
LINES = re.compile(r"^lines? (?P<first>\d+)(–(?P<last>\d+))?$")


def _manual(path: Path) -> Path:
    """A 3,000-line Markdown manual: 16 chapters of 5 sections, each section 28 lines with one code word
    (``kappa<chapter>x<section>``) on its own line, then an appendix of over 700 lines under one heading."""
    lines: list[str] = []
    for chapter in range(1, 17):
        lines += [f"# Chapter {chapter}", ""]
        for section in range(1, 6):
            lines += [f"## Topic {chapter}.{section}", ""]
            for row in range(25):
                if row == 12:
                    lines.append(f"The access code for topic {chapter}.{section} is kappa{chapter}x{section}.")
                else:
                    lines.append(f"Reading {row} of topic {chapter}.{section}: the gauge shows {row * chapter} units.")
            lines.append("")
    lines += ["# Appendix", "", "Setext title", "------------", ""]
    lines += [f"Appendix note {n}: the valve number {n} is checked yearly." for n in range(3000 - len(lines))]
    assert len(lines) == 3000
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _lines_hold(path: Path, first: int | str, last: int | str | None, text: str) -> bool:
    """True when the file's lines first..last (1-based; last None: the first alone) contain the text."""
    lines = path.read_text(encoding="utf-8").split("\n")
    return text in "\n".join(lines[int(first) - 1 : int(last or first)])


# -- describe ------------------------------------------------------------------------------------


def test_describe_names_pages_units_lines_rows_and_cells() -> None:
    text = "alpha\nbeta\ngamma\ndelta\n"
    assert describe(Page(3, text), 0, 5) == ""
    assert describe(Page(3, text, label="slide 3"), 0, 5) == "slide 3"
    assert describe(Page(1, text, label="§ Installation", first_line=120), 6, 16) == "§ Installation, lines 121–122"
    assert describe(Page(1, text, first_line=1), 0, len(text)) == "lines 1–4"
    assert describe(Page(1, text, first_line=7), 11, 16) == "line 9"
    rows = Page(1, "Item\tCost\nRent\t900\nFood\t300\n", label="Budget!A:F", first_line=1, line_kind="rows")
    assert describe(rows, 10, 28) == "Budget!A2:F3"
    assert describe(rows, 10, 18) == "Budget!A2:F2"
    quoted = Page(2, "x\ny\n", label="'Q1 plan'!B:D", first_line=40, line_kind="rows")
    assert describe(quoted, 0, 3) == "'Q1 plan'!B40:D41"
    assert describe(Page(1, "a\nb\n", label="Budget", first_line=2, line_kind="rows"), 0, 3) == "Budget, rows 2–3"
    assert Chunk(1, 4, 0, 1, "x").where == "p. 4"
    assert Chunk(1, 4, 0, 1, "x", location="slide 4").where == "slide 4"


# -- the text loader -----------------------------------------------------------------------------


def test_markup_files_become_sections_with_their_first_lines(tmp_path: Path) -> None:
    rst = tmp_path / "guide.rst"
    rst.write_text(
        "=====\nGuide\n=====\n\nThe guide explains how the pump, the valve and the gauge fit together.\n\n"
        "Install\n-------\n\nUnpack the pump, bolt it to the frame and connect the intake hose firmly.\n"
    )
    org = tmp_path / "plan.org"
    org.write_text(
        "* Spring :garden:\nSow the beans and peas after the last frost, in rows one metre apart.\n"
        "** Tools\nSharpen the hoe and oil the shears before the season starts in earnest.\n"
    )
    tex = tmp_path / "paper.tex"
    tex.write_text(
        "\\section{Method}\nWe measured the flow at the intake every hour for a week in March.\n"
        "\\subsection*{Setup}\nThe gauge was mounted one metre above the pump on a steel bracket.\n"
        "\\section{Results}\nThe flow fell by a third whenever the upstream valve was half closed.\n"
    )
    located = {path.name: [(p.label, p.first_line) for p in load(path).pages] for path in (rst, org, tex)}
    assert located == {
        "guide.rst": [("§ Guide", 1), ("§ Install", 7)],
        "plan.org": [("§ Spring", 1), ("§ Tools", 3)],  # a lone top heading is the title: no parent
        "paper.tex": [("§ Method", 1), ("§ Method › Setup", 3), ("§ Results", 5)],
    }
    for path in (rst, org, tex):
        assert "".join(p.text for p in load(path).pages) == path.read_text()


def test_a_heading_alone_joins_the_section_it_introduces(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text(
        "# Setup\n\n## Debian\n\nRun apt install footnotes, then start it from the menu of applications.\n"
        "```\n# a comment, not a heading\n```\n"
    )
    pages = load(path).pages
    assert [(p.label, p.first_line) for p in pages] == [("§ Debian", 1)]
    assert pages[0].text == path.read_text()


def test_form_feed_pages_keep_their_numbers_and_lines(tmp_path: Path) -> None:
    path = tmp_path / "printout.txt"
    path.write_text("first page line one\nline two\n\fsecond page\nmore\n")
    pages = load(path).pages
    assert [(p.label, p.first_line) for p in pages] == [("p. 1", 1), ("p. 2", 3)]
    assert describe(pages[1], 12, 16) == "p. 2, line 4"


# -- indexing and search --------------------------------------------------------------------------


def test_a_long_markdown_file_cites_sections_and_true_line_ranges(
    tmp_path: Path, embedder: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    manual = _manual(docs / "manual.md")
    library = str(tmp_path / "lib")
    assert main(["--library", library, "index", str(docs), "--quiet"]) == 0
    capsys.readouterr()
    for chapter, section in [(1, 1), (7, 3), (16, 5)]:
        code = f"kappa{chapter}x{section}"
        assert main(["--library", library, "search", code, "--mode", "keyword", "--json", "-k", "1"]) == 0
        hit = json.loads(capsys.readouterr().out)[0]
        found = SECTION.match(hit["location"])
        assert found, hit["location"]
        assert found["label"] == f"Chapter {chapter} › Topic {chapter}.{section}"
        assert code in hit["text"]
        assert _lines_hold(manual, found["first"], found["last"], hit["text"])
    assert main(["--library", library, "search", "kappa7x3", "--mode", "keyword", "-k", "1"]) == 0
    assert "manual.md  § Chapter 7 › Topic 7.3, lines " in capsys.readouterr().out

    with Store(Path(library)) as store:
        record = store.document(str(manual))
        assert record is not None
        chunks = store.chunks_of(record.id)
        pages = store.pages(record.id)
        assert store.check() == []
    appendix = [c for c in chunks if c.location.startswith("§ Appendix › Setext title")]
    assert len({c.page for c in appendix}) >= 3  # 700 lines under one heading: blocks of lines
    assert all(p.first_line > 0 and p.label.startswith("§ ") for p in pages)
    for chunk in chunks:
        found = SECTION.match(chunk.location)
        assert found and _lines_hold(manual, found["first"], found["last"], chunk.text), chunk.location


def test_a_log_without_headings_is_cited_by_blocks_of_lines(tmp_path: Path, embedder: Embedder) -> None:
    log = tmp_path / "server.log"
    log.write_text(
        "\n".join(
            f"2024-05-01 10:{n // 60:02d}:{n % 60:02d} INFO worker {n} "
            + ("ERROR disk quota exceeded on volume zeta" if n == 450 else "request served in 12 ms")
            for n in range(1, 701)
        )
        + "\n"
    )
    store = Store(tmp_path / "lib")
    Indexer(store, embedder).run([log])
    hit = store.search_keyword("quota exceeded zeta", 1)[0]
    found = LINES.match(hit.chunk.where)
    assert found, hit.chunk.where
    first, last = int(found["first"]), int(found["last"] or found["first"])
    assert 401 <= first <= 450 <= last
    assert _lines_hold(log, first, last, hit.chunk.text)
    record = store.document(str(log))
    assert record is not None
    assert [(p.label, p.first_line) for p in store.pages(record.id)] == [("", 1), ("", 201), ("", 401), ("", 601)]
    page = store.page(record.id, hit.chunk.page)
    assert page is not None
    start = page.text.index("ERROR disk quota")
    end = page.text.index("\n", start)
    narrowed = replace(hit.chunk, char_start=start, char_end=end, text=page.text[start:end])
    assert relocated(store, [Hit(narrowed, 1.0)])[0].chunk.where == "line 450"  # as compression leaves it
    store.close()


def test_a_schema_3_library_migrates_and_rereads_its_text_files(tmp_path: Path, embedder: Embedder) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    notes = docs / "notes.md"
    notes.write_text(
        "# Boat\n\nThe hull is sanded and painted every second spring, before launch.\n\n"
        "# Engine\n\nThe engine oil is changed every hundred hours of running time.\n"
    )
    boat = make_pdf(docs / "boat.pdf", ["The bilge pump must be tested every spring."])
    store = Store(tmp_path / "lib")
    indexer = Indexer(store, embedder)
    indexer.run([boat])
    whole = Page(1, notes.read_text())  # what the text loader made before: the file as one page
    chunks = Chunker(embedder.token_spans_factory()).chunk_page(0, whole)
    stat = notes.stat()
    facts = FileFacts(str(notes), content_hash(notes), stat.st_size, stat.st_mtime)
    store.write_document(facts, "text", [whole], chunks, embedder.embed([c.text for c in chunks]))
    store.add_roots([docs])
    store.close()
    with sqlite3.connect(tmp_path / "lib" / CATALOGUE) as raw:  # the catalogue as schema 3 wrote it
        for table, column in [("pages", "label"), ("pages", "first_line"), ("pages", "line_kind")]:
            raw.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        raw.execute("ALTER TABLE chunks DROP COLUMN location")
        raw.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")

    store = Store(tmp_path / "lib")
    assert store._meta("schema_version") == str(SCHEMA_VERSION) == "4"
    assert store.check() == []
    old = store.search_keyword("engine oil", 1)[0].chunk
    assert (old.where, old.page) == ("p. 1", 1)  # still readable before the next run
    report = Indexer(store, embedder).run()
    assert report.indexed == [str(notes)] and report.unchanged == [str(boat)]
    engine = store.search_keyword("engine oil", 1)[0].chunk
    assert engine.where == "§ Engine, lines 5–7"
    assert _lines_hold(notes, 5, 7, engine.text)
    assert store.search_keyword("bilge pump", 1)[0].chunk.where == "p. 1"
    assert Indexer(store, embedder).run().unchanged == [str(boat), str(notes)]
    assert store.check() == []
    store.close()


# -- what the user sees ---------------------------------------------------------------------------


def test_export_and_answer_records_carry_the_location(tmp_path: Path) -> None:
    chunk = Chunk(
        doc_id=1,
        page=4,
        char_start=0,
        char_end=32,
        text="Run apt install footnotes first.",
        id=9,
        path="/docs/notes.md",
        location="§ Installation, lines 120–121",
    )
    answer = CitedAnswer("How do I install it?", "Run apt install footnotes [1].", {1: chunk}, [1])
    assert "**[1]** `/docs/notes.md`, § Installation, lines 120–121" in to_markdown([answer])
    record = answer.to_dict()
    assert record["sources"]["1"]["location"] == "§ Installation, lines 120–121"
    assert CitedAnswer.from_dict(json.loads(json.dumps(record))).sources[1].where == "§ Installation, lines 120–121"


def test_the_viewer_titles_and_scrolls_to_a_located_passage(tmp_path: Path, qtbot: QtBot) -> None:
    text = "".join(f"Line {n}: the pressure is {n} kPa.\n" for n in range(1, 201))
    page = Page(2, text, label="§ Installation", first_line=100)
    start = text.index("Line 180:")
    end = text.index("\n", start)
    chunk = Chunk(
        2, 2, start, end, text[start:end], path=str(tmp_path / "notes.md"), location=describe(page, start, end)
    )
    viewer = SourceViewer()
    qtbot.addWidget(viewer)
    viewer.resize(600, 300)
    viewer.show()
    viewer.show_chunk(chunk, text)
    assert viewer.title.text() == "<b>notes.md</b> · § Installation, line 279"
    assert viewer.highlighted_text == "Line 180: the pressure is 180 kPa."
    assert viewer.text_view.verticalScrollBar().value() > 0
