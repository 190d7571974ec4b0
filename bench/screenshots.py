"""Screenshots of the real window in its main states, light and dark, on the sample library in assets/sample.

    xvfb-run -a -s "-screen 0 1440x900x24" env QT_QPA_PLATFORM=xcb python bench/screenshots.py
    QT_QPA_PLATFORM=offscreen python bench/screenshots.py [--generate] [--model light] [--out docs/screenshots]

Saves to docs/screenshots/: empty.png (the first-run guide); indexing-light.png and indexing-dark.png
(the sample library being indexed, paused after its first file: counts, rate, time left); chat-light.png
and chat-dark.png (an answer with a Markdown list, citation chips and source cards); source-light.png and
source-dark.png (the source viewer open at the cited PDF page, the supporting sentence highlighted);
settings-light.png and settings-dark.png (built from the settings declaration, grouped by section).

The answer is recorded, not generated, unless --generate is given: a 0.5B model on a laptop CPU
takes minutes and seldom writes a list, and a screenshot should show what the view does with one.
The recording is only the answer's text (below); the passages are what the real index retrieves for
the question, and the citations, supporting sentences and highlights are computed from them by the
same `rag.citations.cite` the app runs on a generated answer.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from app.core.engine import Engine  # noqa: E402
from app.core.passages import previews_of  # noqa: E402
from app.core.settings import ModelSection, Settings  # noqa: E402
from app.gui.settings_dialog import SettingsDialog  # noqa: E402
from app.gui.theme import apply_theme  # noqa: E402
from app.gui.window import MainWindow  # noqa: E402
from llm.bundled import default_preset  # noqa: E402
from rag.citations import CitedAnswer, cite  # noqa: E402

QUESTION = "How often should I descale the Aurora 3, and what happens to the warranty if I don't?"
RECORDED = (
    "Descale the Aurora 3 **every 200 cups or every two months**, whichever comes first [{descale}]. To descale it:\n\n"
    "1. Dissolve one sachet of citric-acid descaler in one litre of water [{descale}].\n"
    "2. Run it through the steam wand and the group head [{descale}].\n"
    "3. Rinse afterwards with two full tanks of clean water [{descale}].\n\n"
    "If you skip it, *the warranty does not cover damage caused by scale* [{warranty}]; otherwise the machine "
    "is covered for three years from the date of purchase [{warranty}]."
)
"""The answer's text, written from pages 4 and 6 of the sample guide; its markers are filled in with
the numbers those pages get among the retrieved passages."""


def wait_until(app: QApplication, condition: Callable[[], bool], timeout: float = 600) -> None:
    """Run the event loop until `condition` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not reach the expected state")
        app.processEvents()
        time.sleep(0.02)


def settle(app: QApplication, seconds: float = 0.3) -> None:
    """Let layouts, repaints and a palette change go through before a grab."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.02)


def save(widget: QWidget, folder: Path, name: str) -> None:
    """Grab a widget into folder/name.png."""
    path = folder / f"{name}.png"
    widget.grab().save(str(path))
    print(f"saved {path}")


def recorded_answer(window: MainWindow) -> CitedAnswer:
    """Show the recorded answer over the passages the index really returns for the question."""
    engine = window.engine
    hits = engine.search(QUESTION)

    def number_of(page: int) -> int:
        return next(n for n, hit in enumerate(hits, 1) if hit.chunk.path.endswith(".pdf") and hit.chunk.page == page)

    text = RECORDED.format(descale=number_of(4), warranty=number_of(6))
    answer = cite(QUESTION, text, hits, engine.embedder().embed, model="recorded")
    window.chat.start_turn(QUESTION)
    window.chat.show_evidence(previews_of(hits, QUESTION))
    window.chat.finish_turn(answer)
    return answer


def generated_answer(app: QApplication, window: MainWindow) -> CitedAnswer | None:
    """Ask the question through the window and the model, as a user would."""
    window.query.setText(QUESTION)
    window.answers.ask()
    wait_until(app, lambda: not window.answers.answering)
    return window.chat.turns[-1].answer


def main() -> None:
    """Drive the window through its states and save a screenshot of each, light and dark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model preset or path (default: the app's default)")
    parser.add_argument("--generate", action="store_true", help="generate the answer with the model")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv)
    apply_theme(app, "light")
    with tempfile.TemporaryDirectory() as scratch:
        settings = QSettings(str(Path(scratch) / "settings.ini"), QSettings.Format.IniFormat)
        engine = Engine(Path(scratch) / "library", Settings(model=ModelSection(args.model or default_preset())))
        window = MainWindow(engine, settings, warm_model=args.generate)
        window.resize(1400, 860)
        window.show()
        settle(app)
        save(window, args.out, "empty")

        window.indexing.index_paths([ROOT / "assets" / "sample"])
        wait_until(
            app, lambda: (window.progress.maximum() > 0 and window.progress.value() >= 1) or not window.indexing.busy
        )
        if window.indexing.busy:  # paused after the first file, so both shots show the same moment
            window.indexing.toggle_pause()
            wait_until(app, lambda: window.indexing._index_job is None or window.indexing._index_job.holding)
            for choice in ("light", "dark"):
                apply_theme(app, choice)
                settle(app)
                save(window, args.out, f"indexing-{choice}")
            apply_theme(app, "light")
            window.indexing.toggle_pause()
        wait_until(app, lambda: not window.indexing.busy)

        answer = generated_answer(app, window) if args.generate else recorded_answer(window)
        pdf_citations = [n for n in answer.cited if answer.sources[n].path.endswith(".pdf")] if answer else []
        for choice in ("light", "dark"):
            apply_theme(app, choice)
            settle(app)
            save(window, args.out, f"chat-{choice}")
        if pdf_citations:
            window.answers.open_citation(len(window.chat.turns) - 1, pdf_citations[-1])
            wait_until(app, lambda: not window.answers.opening_source)  # the page is read and drawn off the GUI thread
            for choice in ("light", "dark"):
                apply_theme(app, choice)
                settle(app)
                save(window, args.out, f"source-{choice}")
        else:
            print("the answer cited no PDF passage; no source screenshot")

        for choice in ("light", "dark"):
            apply_theme(app, choice)
            dialog = SettingsDialog(window.preferences, window)
            dialog.show()
            QTimer.singleShot(0, dialog.adjustSize)
            settle(app)
            save(dialog, args.out, f"settings-{choice}")
            dialog.close()
        window.close()


if __name__ == "__main__":
    main()
