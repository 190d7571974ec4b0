"""The window, offscreen with real widgets, the real embedder and the real 0.5B model."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest
from conftest import make_pdf
from PySide6.QtCore import QMimeData, QPoint, QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent, QTextCursor
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from app.engine import Engine
from app.text_match import _skeleton
from app.window import MainWindow
from rag.export import export

KETTLE_FACT = "The Zephyr-9 kettle has a warranty of seven years."


def _window(qtbot: QtBot, tmp_path: Path) -> MainWindow:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(Engine(tmp_path / "lib", model="light"), settings)
    qtbot.addWidget(window)
    window.show()
    return window


def _drop(window: MainWindow, paths: list[Path]) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(
        QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    window.dropEvent(event)  # QApplication.sendEvent drops Drop events that no real drag started
    assert event.isAccepted()


def _click_citation(qtbot: QtBot, window: MainWindow, turn: int, number: int) -> None:
    """Click the first chip of citation `number` in answer `turn`, with the mouse, where it is drawn."""
    document = window.chat.document()
    block = document.begin()
    while block.isValid():
        fragments = block.begin()
        while not fragments.atEnd():
            fragment = fragments.fragment()
            if fragment.charFormat().anchorHref() == f"cite:{turn}:{number}":
                cursor = QTextCursor(document)
                cursor.setPosition(fragment.position() + 1)
                window.chat.ensureCursorVisible()
                window.chat.setTextCursor(cursor)
                point = window.chat.cursorRect(cursor).center()
                QTest.mouseClick(window.chat.viewport(), Qt.MouseButton.LeftButton, pos=point)
                return
            fragments += 1
        block = block.next()
    raise AssertionError(f"no chip for citation {number}")


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "recipes.md").write_text("# Bread\nKnead the dough for ten minutes, then let it rise for an hour.\n")
    make_pdf(folder / "kettle.pdf", ["Zephyr-9 kettle manual. Safety notes.", KETTLE_FACT])
    make_pdf(
        folder / "handbook.pdf",
        [f"Handbook page {n}. " + "Lift with your knees, not your back. " * 40 for n in range(30)],
    )  # enough work to watch the event loop during it
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7 nothing here")
    return folder


def test_dropping_a_folder_indexes_it_while_the_window_stays_responsive(
    qtbot: QtBot, tmp_path: Path, docs: Path
) -> None:
    window = _window(qtbot, tmp_path)
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(50)
    _drop(window, [docs])
    assert window.busy
    qtbot.waitUntil(lambda: not window.busy, timeout=120_000)
    timer.stop()

    assert {(Path(r.path).name, r.status) for r in window.library.model.records} == {
        ("recipes.md", "indexed"),
        ("kettle.pdf", "indexed"),
        ("handbook.pdf", "indexed"),
        ("broken.pdf", "failed"),
    }
    assert "Indexed 3 file(s)" in window.status_label.text()
    assert window.library.problems.count() == 1 and "damaged PDF" in window.library.problems.item(0).text()
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) >= 10 and max(gaps) < 1.0, "the event loop stalled while indexing"
    assert str(docs) in window.watcher.directories()  # changes on disk are picked up


def test_ask_streams_cites_opens_the_source_exports_and_stops(qtbot: QtBot, tmp_path: Path, docs: Path) -> None:
    window = _window(qtbot, tmp_path)
    window.index_paths([docs])
    qtbot.waitUntil(lambda: not window.busy, timeout=120_000)

    streamed: list[str] = []
    window.query.setText("How long is the warranty of the Zephyr-9 kettle?")
    window.ask()
    assert window.answering
    qtbot.waitUntil(lambda: bool(window.chat.turns[-1].streamed) or not window.answering, timeout=300_000)
    streamed.append(window.chat.turns[-1].streamed)  # text arrived before the answer was complete
    qtbot.waitUntil(lambda: not window.answering, timeout=300_000)
    answer = window.chat.turns[-1].answer
    assert answer is not None and answer.cited, window.chat.toPlainText()
    assert streamed[0] and len(streamed[0]) <= len(window.chat.turns[-1].streamed)
    shown = window.chat.toPlainText()
    assert "seven" in shown.lower() or "7" in shown
    assert "kettle.pdf, page 2" in shown
    assert window.meter.plan is not None and window.meter.plan.included

    number = next(n for n in answer.cited if Path(answer.sources[n].path).name == "kettle.pdf")
    _click_citation(qtbot, window, 0, number)
    chunk = answer.sources[number]
    assert window.viewer.current_page == 2 and window.viewer.stack.currentWidget() is window.viewer.page_area
    assert _skeleton(window.viewer.highlighted_text)[0] == _skeleton(chunk.text)[0]
    window.grab().save(str(tmp_path / "answer.png"))

    for suffix in (".md", ".html", ".pdf"):
        path = export(window.chat.answers, tmp_path / f"chat{suffix}")
        assert path.stat().st_size > 500

    window.query.setText("Describe the Zephyr-9 kettle warranty in as much detail as you can.")
    window.ask()
    qtbot.waitUntil(lambda: len(window.chat.turns[-1].streamed) > 0, timeout=120_000)
    stopped_at = time.perf_counter()
    window.stop_answer()
    qtbot.waitUntil(lambda: not window.answering, timeout=30_000)
    assert time.perf_counter() - stopped_at < 5.0


def test_a_text_citation_highlights_its_exact_span(qtbot: QtBot, tmp_path: Path, docs: Path) -> None:
    window = _window(qtbot, tmp_path)
    window.index_paths([docs])
    qtbot.waitUntil(lambda: not window.busy, timeout=120_000)
    window.query.setText("How long should bread dough be kneaded?")
    window.ask()
    qtbot.waitUntil(lambda: not window.answering, timeout=300_000)
    answer = window.chat.turns[-1].answer
    number = next((n for n in answer.sources if Path(answer.sources[n].path).name == "recipes.md"), None)
    assert number is not None
    window.open_citation(0, number)
    assert window.viewer.stack.currentWidget() is window.viewer.text_view
    assert window.viewer.highlighted_text == answer.sources[number].text
    assert window.viewer.text_view.extraSelections()[0].cursor.selectedText() == answer.sources[number].text.replace(
        "\n", "\u2029"
    )


def test_a_library_of_ten_thousand_files_stays_responsive(qtbot: QtBot, tmp_path: Path) -> None:
    from indexer.store import DocumentRecord

    window = _window(qtbot, tmp_path)
    records = [
        DocumentRecord(i, f"/archive/{i:05d}-letter.pdf", "h", 1, 0.0, "indexed", None, None, "pypdf", 3, 7)
        for i in range(10_000)
    ]
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(20)
    started = time.perf_counter()
    window.library.show_records(records)
    for row in range(0, 10_000, 500):  # scroll through the whole list
        window.library.view.scrollTo(window.library.model.index(row, 0))
        qtbot.wait(5)
    qtbot.wait(100)
    timer.stop()
    assert window.library.model.rowCount() == 10_000
    assert "10000 documents" in window.library.counts.text()
    gaps = [b - a for a, b in itertools.pairwise([started, *ticks])]
    assert max(gaps) < 1.0, "the window froze while showing 10,000 files"
