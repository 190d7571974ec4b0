"""The window, offscreen with real widgets, the real embedder and the real 0.5B model."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import make_pdf
from PySide6.QtCore import QMimeData, QObject, QPoint, QSettings, Qt, QTimer, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QDropEvent, QTextCursor
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from app.core.engine import Engine
from app.core.passages import Preview
from app.core.settings import Settings
from app.gui.chat_view import ChatView
from app.gui.source_viewer import SourceViewer
from app.gui.text_match import _skeleton
from app.gui.window import MainWindow
from indexer.types import Chunk
from rag.citations import CitedAnswer, Evidence
from rag.export import export

KETTLE_FACT = "The Zephyr-9 kettle has a warranty of seven years."


def _window(qtbot: QtBot, tmp_path: Path, warm_model: bool = False) -> MainWindow:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(Engine(tmp_path / "lib", Settings.preset("light")), settings, warm_model=warm_model)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: not window.indexing.listing, timeout=30_000)  # the first listing is read off the GUI thread
    return window


def _drop(window: MainWindow, paths: list[Path]) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(
        QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    window.dropEvent(event)  # QApplication.sendEvent drops Drop events that no real drag started
    assert event.isAccepted()


def _click_link(chat: ChatView, href: str) -> None:
    """Click the first link to `href` in the chat, with the mouse, where it is drawn."""
    document = chat.document()
    block = document.begin()
    while block.isValid():
        fragments = block.begin()
        while not fragments.atEnd():
            fragment = fragments.fragment()
            if fragment.charFormat().anchorHref() == href:
                cursor = QTextCursor(document)
                cursor.setPosition(fragment.position() + 1)
                chat.ensureCursorVisible()
                chat.setTextCursor(cursor)
                point = chat.cursorRect(cursor).center()
                QTest.mouseClick(chat.viewport(), Qt.MouseButton.LeftButton, pos=point)
                return
            fragments += 1
        block = block.next()
    raise AssertionError(f"no link to {href}")


def _click_citation(qtbot: QtBot, window: MainWindow, turn: int, number: int) -> None:
    """Click the first chip of citation `number` in answer `turn`, with the mouse, where it is drawn."""
    _click_link(window.chat, f"cite:{turn}:{number}")


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    return _docs(tmp_path)


def _docs(tmp_path: Path) -> Path:
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
    ticks: list[bool] = []  # one per timer event the GUI thread handled: was indexing running then?
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(window.indexing.busy))
    timer.start(50)
    _drop(window, [docs])
    assert window.indexing.busy
    qtbot.waitUntil(lambda: not window.indexing.busy, timeout=120_000)
    timer.stop()

    assert {(Path(r.path).name, r.status) for r in window.library.model.records} == {
        ("recipes.md", "indexed"),
        ("kettle.pdf", "indexed"),
        ("handbook.pdf", "indexed"),
        ("broken.pdf", "failed"),
    }
    assert "Indexed 3 file(s)" in window.status_label.text()
    assert window.library.problems.count() == 1 and "damaged PDF" in window.library.problems.item(0).text()
    # Indexing on the GUI thread would hold the event loop until it ended: no timer event while busy.
    assert ticks.count(True) >= 10, "the event loop did not run while indexing"
    assert str(docs) in window.indexing.watcher.directories()  # changes on disk are picked up

    # A failed file says why in place, and "Show in folder" opens the folder holding it.
    model = window.library.model
    row = next(i for i, r in enumerate(model.records) if r.path.endswith("broken.pdf"))
    assert model.data(model.index(row, 1)).startswith("failed: ") and "damaged PDF" in model.data(model.index(row, 1))
    opened = _OpenedUrls()
    QDesktopServices.setUrlHandler("file", opened, "record")
    try:
        window.library.view.setCurrentIndex(model.index(row, 0))
        QTimer.singleShot(200, lambda: _choose_menu_item("Show in folder"))
        window.library.view.customContextMenuRequested.emit(QPoint(-1, -1))  # as the Menu key does
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert opened.urls == [QUrl.fromLocalFile(str(docs))]


class _OpenedUrls(QObject):
    """Stands in for the desktop: records the URLs Footnotes asks it to open."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def record(self, url: QUrl) -> None:
        self.urls.append(url)


def _choose_menu_item(text: str) -> None:
    """Pick `text` in the open popup menu with the keyboard."""
    from PySide6.QtWidgets import QApplication, QMenu

    menu = QApplication.activePopupWidget()
    assert isinstance(menu, QMenu), "no menu is open"
    menu.setActiveAction(next(a for a in menu.actions() if a.text() == text))
    QTest.keyClick(menu, Qt.Key.Key_Return)


def test_indexing_pauses_and_resumes_with_progress_counts_and_rate(qtbot: QtBot, tmp_path: Path, docs: Path) -> None:
    window = _window(qtbot, tmp_path)
    window.indexing.index_paths([docs])
    window.indexing.toggle_pause()  # held at its first progress report, before any file is written
    job = window.indexing._index_job
    assert window.indexing.index_paused and window.library.pause_button.text() == "Resume"
    assert window.menus.pause_action.isEnabled() and "Resume" in window.menus.pause_action.text()
    texts: list[str] = []
    job.signals.progress.connect(lambda _state: texts.append(window.library.progress_label.text()))
    qtbot.waitUntil(lambda: job.holding, timeout=120_000)

    def passages() -> int:
        return sum(r.chunk_count for r in window.engine.catalogue())

    held = passages()
    qtbot.wait(1500)
    assert passages() == held and job.holding and window.indexing.busy  # nothing is written while paused
    window.indexing.toggle_pause()
    assert not window.indexing.index_paused and window.library.pause_button.text() == "Pause"
    qtbot.waitUntil(lambda: not window.indexing.busy, timeout=120_000)
    assert passages() > held
    assert sum(r.status == "indexed" for r in window.library.model.records) == 3
    pace = re.compile(r"\d+ / \d+ files · \d+ passages · \d+ passages/s")
    assert any(pace.search(text) for text in texts), texts
    assert not window.library.pause_button.isVisible() and not window.menus.pause_action.isEnabled()


def test_cancelling_a_paused_run_ends_it(qtbot: QtBot, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    for n in range(3):
        (folder / f"note{n}.md").write_text(f"# Note {n}\nThe locker code is {n}{n}{n}.\n")
    window = _window(qtbot, tmp_path)
    window.indexing.index_paths([folder])
    window.library.pause_button.click()
    job = window.indexing._index_job
    qtbot.waitUntil(lambda: job.holding, timeout=120_000)
    window.library.cancel_button.click()
    qtbot.waitUntil(lambda: not window.indexing.busy, timeout=30_000)
    assert window.status_label.text().startswith("Cancelled after indexing")


def test_a_failed_job_says_why_and_an_unexpected_one_points_to_the_log(
    qtbot: QtBot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from app.core.logs import log_dir
    from app.gui.workers import failure_of

    missing = tmp_path / "gone.pdf"
    try:
        missing.read_bytes()
    except OSError as exc:
        user = failure_of(exc)
    assert not user.unexpected and str(missing) in user.message and "check the path" in user.message

    window = _window(qtbot, tmp_path)
    window.status.fail("Indexing stopped: ", user)
    assert window.status_label.text() == f"Indexing stopped: {user.message}" and not window.log_button.isVisible()

    window.engine.store.close()  # reading the library now fails with a programming error, not a user error
    with caplog.at_level(logging.ERROR, logger="footnotes.gui"):
        window.indexing.refresh_library()
        qtbot.waitUntil(lambda: not window.indexing.listing, timeout=30_000)
    expected = f"Something went wrong — the log is in {log_dir()}"
    assert window.status_label.text() == f"The library could not be read: {expected}"
    assert window.log_button.isVisible() and window.log_button.accessibleName() == "Open log folder"
    assert any(record.exc_info for record in caplog.records)  # the traceback is logged


@dataclass
class Asked:
    """One real answer in a window, shared by the tests of its behaviours (generating it is slow)."""

    window: MainWindow
    tmp: Path
    answer: CitedAnswer
    streamed_early: str
    events: list[tuple[str, object]]


def _wait(condition, timeout: float) -> None:
    """Run the event loop until `condition()` (a module-scoped fixture has no qtbot)."""
    deadline = time.perf_counter() + timeout
    while not condition():
        assert time.perf_counter() < deadline, "timed out"
        QTest.qWait(20)


@pytest.fixture(scope="module")
def asked(qapp, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Asked]:
    tmp = tmp_path_factory.mktemp("asked")
    window = MainWindow(
        Engine(tmp / "lib", Settings.preset("light")), QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat)
    )
    window.show()
    window.indexing.index_paths([_docs(tmp)])
    _wait(lambda: not window.indexing.busy, 600)
    events: list[tuple[str, object]] = []

    def on_evidence(evidence: list[Preview]) -> None:
        events.append(("evidence", (evidence, window.chat.turns[-1].streamed, window.chat.toPlainText())))

    window.answers.evidence_shown.connect(on_evidence)
    window.answers.first_token.connect(lambda: events.append(("token", window.chat.turns[-1].streamed)))
    window.query.setText("How long is the warranty of the Zephyr-9 kettle?")
    window.answers.ask()
    assert window.answers.answering
    _wait(lambda: bool(window.chat.turns[-1].streamed) or not window.answers.answering, 300)
    streamed_early = window.chat.turns[-1].streamed  # text arrived before the answer was complete
    _wait(lambda: not window.answers.answering, 300)
    answer = window.chat.turns[-1].answer
    assert answer is not None and answer.cited, window.chat.toPlainText()
    yield Asked(window, tmp, answer, streamed_early, events)
    window.close()


def test_an_answer_streams_and_cites_its_sources(asked: Asked) -> None:
    window = asked.window
    assert asked.streamed_early and len(asked.streamed_early) <= len(window.chat.turns[-1].streamed)
    shown = window.chat.toPlainText()
    assert "seven" in shown.lower() or "7" in shown
    assert "kettle.pdf, p. 2" in shown
    assert window.meter.plan is not None and window.meter.plan.included


def test_evidence_is_on_screen_before_the_first_token(asked: Asked) -> None:
    # The passages found (file, page, best sentence) were on screen before the model was asked, then
    # the passages as the model reads them (compressed, numbered as cited), then the answer.
    window, events = asked.window, asked.events
    assert [kind for kind, _ in events] == ["evidence", "evidence", "token"]
    found = events[0][1][0]
    assert any(Path(item.chunk.path).name == "kettle.pdf" and item.chunk.page == 2 for item in found)
    evidence, streamed_then, shown_then = events[1][1]
    assert streamed_then == "" and evidence and all(isinstance(item, Preview) for item in evidence)
    assert [item.chunk for item in evidence] == [hit.chunk for hit in window.meter.plan.included]
    kettle = next(item for item in evidence if Path(item.chunk.path).name == "kettle.pdf" and item.chunk.page == 2)
    assert kettle.sentence == KETTLE_FACT
    assert "kettle.pdf, p. 2" in shown_then and KETTLE_FACT in shown_then


def test_clicking_a_citation_opens_its_page_highlighted(qtbot: QtBot, asked: Asked) -> None:
    window, answer = asked.window, asked.answer
    number = next(n for n in answer.cited if Path(answer.sources[n].path).name == "kettle.pdf")
    with qtbot.waitSignal(window.answers.source_shown, timeout=30_000):  # the page text is read off the GUI thread
        _click_citation(qtbot, window, 0, number)
    chunk = answer.sources[number]
    assert window.viewer.current_page == 2 and window.viewer.stack.currentWidget() is window.viewer.page_area
    assert _skeleton(window.viewer.highlighted_text)[0] == _skeleton(chunk.text)[0]
    window.grab().save(str(asked.tmp / "answer.png"))


def test_the_chat_exports_with_its_sources(asked: Asked) -> None:
    for suffix in (".md", ".html", ".pdf"):
        path = export(asked.window.chat.answers, asked.tmp / f"chat{suffix}")
        assert path.stat().st_size > 500
    markdown = (asked.tmp / "chat.md").read_text()
    assert "kettle.pdf" in markdown


def test_stop_ends_an_answer_at_once(qtbot: QtBot, asked: Asked) -> None:
    window = asked.window
    window.query.setText("Describe the Zephyr-9 kettle warranty in as much detail as you can.")
    window.answers.ask()
    qtbot.waitUntil(lambda: len(window.chat.turns[-1].streamed) > 0, timeout=120_000)
    after_stop: list[str] = []
    window.answers._answer_job.signals.token.connect(after_stop.append)
    window.answers.stop_answer()
    qtbot.waitUntil(lambda: not window.answers.answering, timeout=30_000)
    # Generation checks the cancel flag per token: at most the tokens already on their way arrive.
    assert len(after_stop) <= 3, after_stop


def test_a_text_citation_highlights_its_exact_span(qtbot: QtBot, tmp_path: Path, docs: Path) -> None:
    window = _window(qtbot, tmp_path, warm_model=True)  # the model loads while the files are indexed
    assert window.model.warming or window.engine.model_loaded
    assert window.model_label.text().startswith("Model:")
    window.indexing.index_paths([docs])
    qtbot.waitUntil(lambda: not window.indexing.busy, timeout=120_000)
    window.query.setText("How long should bread dough be kneaded?")
    window.answers.ask()  # if the warm-up is still loading, the question waits for that same load
    qtbot.waitUntil(lambda: not window.answers.answering, timeout=300_000)
    qtbot.waitUntil(lambda: not window.model.warming, timeout=60_000)
    assert window.model_label.text() == f"Model: {window.engine.model_description()} ready"
    assert window.engine.model_description() in window.model.about_text()
    answer = window.chat.turns[-1].answer
    number = next((n for n in answer.sources if Path(answer.sources[n].path).name == "recipes.md"), None)
    assert number is not None
    with qtbot.waitSignal(window.answers.source_shown, timeout=30_000):
        window.answers.open_citation(0, number)
    assert window.viewer.stack.currentWidget() is window.viewer.text_view
    evidence = answer.evidence_for(number)  # the supporting sentence, when a sentence cites it
    expected = evidence.text if evidence is not None else answer.sources[number].text
    assert window.viewer.highlighted_text == expected
    assert window.viewer.text_view.extraSelections()[0].cursor.selectedText() == expected.replace("\n", "\u2029")


def test_a_citation_with_evidence_highlights_only_the_supporting_sentence(qtbot: QtBot) -> None:
    page = "# Bread\nKnead the dough for ten minutes. Then let it rise for an hour.\n"
    chunk = Chunk(doc_id=1, page=1, char_start=8, char_end=len(page) - 1, text=page[8:-1], path="/gone/recipes.md")
    sentence = "Then let it rise for an hour."
    viewer = SourceViewer()
    qtbot.addWidget(viewer)
    start = page.index(sentence)
    viewer.show_chunk(chunk, page, Evidence(1, start, start + len(sentence), sentence, 0.8))
    assert viewer.highlighted_text == sentence
    assert viewer.text_view.extraSelections()[0].cursor.selectedText() == sentence
    viewer.show_chunk(chunk, page)  # no evidence: the whole passage
    assert viewer.highlighted_text == chunk.text


def test_help_menu_opens_the_log_folder_and_tells_about_the_app(qtbot: QtBot, tmp_path: Path) -> None:
    from app.core.logs import log_dir

    window = _window(qtbot, tmp_path)
    assert window.menus.help_menu.menuAction() in window.menuBar().actions()
    texts = {a.text().replace("&", ""): a for a in window.menus.help_menu.actions()}
    assert texts["Open log folder"] is window.menus.log_action and window.menus.log_action.isEnabled()
    assert texts["About Footnotes"].isEnabled()
    assert window.status.log_folder_url() == QUrl.fromLocalFile(str(log_dir()))
    about = window.model.about_text()
    assert "Footnotes" in about and str(window.engine.folder) in about and "light" in about


def test_closing_while_the_model_loads_neither_waits_nor_crashes(qtbot: QtBot, tmp_path: Path) -> None:
    window = _window(qtbot, tmp_path, warm_model=True)
    assert window.model.warming and "loading" in window.model_label.text()
    window.close()
    assert not window.isVisible()
    shown = window.model_label.text()
    qtbot.waitUntil(lambda: not window.model.warming, timeout=300_000)  # the load ends after the window closed
    qtbot.wait(50)  # its signals arrive and are ignored
    assert window.model_label.text() == shown and window.engine.model_loaded
