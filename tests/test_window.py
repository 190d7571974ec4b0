"""The window, offscreen with real widgets: dropping a folder indexes it without freezing the GUI."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

from conftest import make_pdf
from PySide6.QtCore import QMimeData, QPoint, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent
from pytestqt.qtbot import QtBot

from app.engine import Engine
from app.window import MainWindow


def _drop(window: MainWindow, paths: list[Path]) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(
        QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    window.dropEvent(event)  # QApplication.sendEvent drops Drop events that no real drag started
    assert event.isAccepted()


def test_drop_a_folder_then_search(qtbot: QtBot, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "recipes.md").write_text("# Bread\nKnead the dough for ten minutes, then let it rise for an hour.\n")
    make_pdf(docs / "manual.pdf", ["Safety notes.", "To reset the router, hold the button for 30 seconds."])
    make_pdf(
        docs / "handbook.pdf",
        [f"Handbook page {n}. " + "Lift with your knees, not your back. " * 40 for n in range(30)],
    )  # enough work to watch the event loop during it
    (docs / "broken.pdf").write_bytes(b"%PDF-1.7 nothing here")
    window = MainWindow(Engine(tmp_path / "lib"))
    qtbot.addWidget(window)
    window.show()

    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(50)
    _drop(window, [docs])
    assert window.busy
    qtbot.waitUntil(lambda: not window.busy, timeout=120_000)
    timer.stop()

    assert {(Path(r.path).name, r.status) for r in window.library.records} == {
        ("recipes.md", "indexed"),
        ("manual.pdf", "indexed"),
        ("handbook.pdf", "indexed"),
        ("broken.pdf", "failed"),
    }
    assert "Indexed 3 file(s)" in window.status_label.text()
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) >= 10 and max(gaps) < 1.0, "the event loop stalled while indexing"

    window.query.setText("how do I reset the router?")
    window.search()
    qtbot.waitUntil(lambda: "page 2" in window.results.toPlainText(), timeout=60_000)
    assert "hold the button for 30 seconds" in window.results.toPlainText()
    window.grab().save(str(tmp_path / "window.png"))
