"""Screenshots of the window's main states, taken offscreen on the sample library in assets/sample.

    QT_QPA_PLATFORM=offscreen python bench/screenshots.py [--model light|quality] [--out docs/screenshots]

Saves empty.png, indexing.png, answer.png, source.png and settings.png.
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

from app.engine import Engine  # noqa: E402
from app.settings_dialog import SettingsDialog  # noqa: E402
from app.window import MainWindow  # noqa: E402
from llm.bundled import default_preset  # noqa: E402

QUESTION = "How often should I descale the Aurora 3, and what happens to the warranty if I don't?"


def wait_until(app: QApplication, condition: Callable[[], bool], timeout: float = 600) -> None:
    """Run the event loop until `condition` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not reach the expected state")
        app.processEvents()
        time.sleep(0.02)


def save(widget: QWidget, folder: Path, name: str) -> None:
    """Grab a widget into folder/name.png."""
    path = folder / f"{name}.png"
    widget.grab().save(str(path))
    print(f"saved {path}")


def main() -> None:
    """Drive the window through its states and save a screenshot of each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model preset or path (default: the app's default)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv)
    with tempfile.TemporaryDirectory() as scratch:
        settings = QSettings(str(Path(scratch) / "settings.ini"), QSettings.Format.IniFormat)
        engine = Engine(Path(scratch) / "library", model=args.model or default_preset())
        window = MainWindow(engine, settings)
        window.resize(1500, 880)
        window.show()
        app.processEvents()
        save(window, args.out, "empty")

        window.index_paths([ROOT / "assets" / "sample"])
        wait_until(app, lambda: (window.progress.maximum() > 0 and window.progress.value() >= 1) or not window.busy)
        save(window, args.out, "indexing")
        wait_until(app, lambda: not window.busy)

        window.query.setText(QUESTION)
        window.ask()
        wait_until(app, lambda: not window.answering)
        save(window, args.out, "answer")

        answer = window.chat.turns[-1].answer
        pdf_citations = [n for n in answer.cited if answer.sources[n].path.endswith(".pdf")] if answer else []
        if pdf_citations:
            window.open_citation(0, pdf_citations[0])
            app.processEvents()
            save(window, args.out, "source")
        else:
            print("the answer cited no PDF passage; source.png not taken")

        dialog = SettingsDialog(window.preferences, window)
        dialog.show()
        QTimer.singleShot(0, dialog.adjustSize)
        app.processEvents()
        save(dialog, args.out, "settings")
        dialog.close()
        window.close()


if __name__ == "__main__":
    main()
