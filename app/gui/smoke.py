"""Proof that the installed app works as a user meets it: ``python -m app.gui.smoke --out DIR``.

Run by `.ci/run` after the run command's install, on a real (virtual) X server with Qt's ``xcb``
platform: the window opens on the bundled defaults and is shown, a screenshot of the X screen is
saved, the sample library is indexed with "Try the sample library", one question is answered
through the llama.cpp backend, a second screenshot is saved, and the app quits cleanly. Every step
prints one line; any failure exits non-zero with the reason.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from indexer.attachments import display_name

QUESTION = "How often should the Aurora 3 be descaled?"
IN_OTHER_WORDS = "Is my espresso machine still covered if it breaks after two years?"
"""Asked in other words than the guide's "covered by a warranty of three years" (issue #20): the model
refuses it, and quote first must answer with that sentence, footnoted."""


def _wait(app, condition: Callable[[], bool], seconds: float, what: str) -> None:
    """Run the event loop until `condition` holds; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"smoke: timed out after {seconds:.0f} s waiting for {what}")
        app.processEvents()
        time.sleep(0.05)


def _screenshot(app, window, path: Path) -> None:
    """Grab the X screen (not the widget's own paint): proof that the window is really shown."""
    settle = time.monotonic() + 1.0  # let the last updates reach the X server
    while time.monotonic() < settle:
        app.processEvents()
        time.sleep(0.05)
    image = window.screen().grabWindow(0)
    if image.isNull() or not image.save(str(path)):
        raise SystemExit(f"smoke: could not take a screenshot to {path}")
    print(f"smoke: screenshot {path} ({image.width()}x{image.height()})", flush=True)


def _ask(app, window, question: str, timeout: float):
    """Ask one question in the window and wait for its checked answer."""
    window.query.setText(question)
    window.answers.ask()
    _wait(app, lambda: not window.answers.answering, timeout, f"the answer to '{question}'")
    if len(window.chat.answers) < len(window.chat.turns):
        raise SystemExit(f"smoke: no answer came back to '{question}'")
    return window.chat.answers[-1]


def run(out: Path, model: str, backend: str, timeout: float) -> dict:
    """Drive the window through the first-run path; returns what was seen."""
    from app.core.platform_check import window_problem

    problem = window_problem()
    if problem:
        raise SystemExit(problem)
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app.core.engine import Engine
    from app.core.settings import ModelSection, Settings
    from app.gui.window import MainWindow

    started = time.monotonic()
    app = QApplication.instance() or QApplication([sys.argv[0]])
    platform = app.platformName()
    library = Path(tempfile.mkdtemp(prefix="footnotes-smoke-"))
    settings = QSettings(str(library / "settings.ini"), QSettings.Format.IniFormat)
    engine = Engine(library / "library", Settings(model=ModelSection(model, backend)))
    window = MainWindow(engine, settings, warm_model=True)
    window.show()
    _wait(app, lambda: window.isVisible() and window.windowHandle().isExposed(), 60, "the window to be shown")
    print(f"smoke: window shown on Qt platform '{platform}' in {time.monotonic() - started:.1f} s", flush=True)
    _screenshot(app, window, out / "window.png")
    if not window.indexing.guide_shown:
        raise SystemExit("smoke: the first-run guide is not shown on an empty library")

    window.indexing.try_sample()
    indexed = lambda: not window.indexing.busy and window.library.model.rowCount() >= 3  # noqa: E731
    _wait(app, indexed, timeout, "the sample to be indexed")
    print(f"smoke: sample library indexed ({window.library.model.rowCount()} documents)", flush=True)
    _wait(app, lambda: not window.model.warming, timeout, "the model to load")

    asked = time.monotonic()
    answer = _ask(app, window, QUESTION, timeout)
    answers = window.chat.answers
    generator = engine.answerer(lambda _m: None).generator
    seen = {
        "platform": platform,
        "backend": generator.backend,
        "model": answer.model,
        "answer": answer.text,
        "cited": [f"{display_name(answer.sources[n].path)} {answer.sources[n].where}" for n in answer.cited],
        "seconds_to_answer": round(time.monotonic() - asked, 1),
        "timing": answer.timing,
    }
    print(f"smoke: answered in {seen['seconds_to_answer']} s with {generator.describe()}", flush=True)
    print(f"smoke: {answer.text}", flush=True)
    _screenshot(app, window, out / "answer.png")
    if answer.cited:
        window.answers.open_citation(len(answers) - 1, answer.cited[0])
        _wait(app, lambda: not window.answers.opening_source, 30, "the source to open")  # read off the GUI thread
        _screenshot(app, window, out / "source.png")
    other = _ask(app, window, IN_OTHER_WORDS, timeout)
    seen["in_other_words"] = {
        "answer": other.text,
        "cited": [f"{display_name(other.sources[n].path)} {other.sources[n].where}" for n in other.cited],
    }
    print(f"smoke: {other.text}", flush=True)
    _screenshot(app, window, out / "other-words.png")
    window.close()
    app.processEvents()
    shutil.rmtree(library, ignore_errors=True)  # the sample library; the screenshots stay in `out`
    return seen


def main(argv: list[str] | None = None) -> int:
    """Run the smoke test and check what it saw."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="smoke-out", help="folder for the screenshots and the result")
    parser.add_argument("--model", default="quality")
    parser.add_argument("--backend", default="llama.cpp")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seen = run(out, args.model, args.backend, args.timeout)
    (out / "result.json").write_text(json.dumps(seen, indent=2), encoding="utf-8")
    failures = []
    if seen["platform"] != "xcb" and os.environ.get("QT_QPA_PLATFORM") == "xcb":
        failures.append(f"Qt platform is {seen['platform']}, not xcb")
    if seen["backend"] != args.backend:
        failures.append(f"answered by {seen['backend']}, not {args.backend}")
    if not seen["cited"]:
        failures.append("the answer cites no source")
    elif not any("aurora3-user-guide.pdf" in c for c in seen["cited"]):
        failures.append(f"the answer does not cite the Aurora 3 guide: {seen['cited']}")
    other = seen["in_other_words"]
    if "three years" not in other["answer"] or "aurora3-user-guide.pdf p. 6" not in other["cited"]:
        failures.append(f"'{IN_OTHER_WORDS}' is not answered with the three-year warranty of p. 6: {other}")
    for failure in failures:
        print(f"smoke: FAILED: {failure}", file=sys.stderr)
    print("smoke: passed" if not failures else "smoke: failed", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
