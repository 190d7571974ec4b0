"""A SIGKILL at any moment of an indexing run leaves a sound library that a rerun completes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import make_pdf

from indexer.embedder import Embedder
from indexer.indexer import Indexer
from indexer.store import Store

KILLS = int(os.environ.get("FOOTNOTES_KILL_ITERATIONS", "3"))


def _corpus(folder: Path) -> Path:
    folder.mkdir()
    for i in range(10):
        sentences = [
            f"Note {i} line {j}: the {['owl', 'fox', 'elk'][j % 3]} walked {j} miles north." for j in range(60)
        ]
        (folder / f"note-{i}.md").write_text("\n".join(sentences))
    make_pdf(folder / "manual.pdf", [f"Manual page {n}. " + "Turn the valve clockwise. " * 30 for n in range(1, 9)])
    return folder


def _state(store: Store) -> dict[str, list[tuple[int, int, int, str]]]:
    result = {}
    for doc in store.documents():
        chunks, _ = store.document_chunks(doc.id)
        result[Path(doc.path).name] = [(c.page, c.char_start, c.char_end, c.text) for c in chunks]
    return result


def _kill_mid_index(library: Path, corpus: Path, delay: float) -> None:
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "app", "--library", str(library), "index", str(corpus), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert process.stdout is not None
    for line in process.stdout:  # wait until embedding is under way
        if line.startswith("progress"):
            break
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def test_sigkill_mid_index_never_corrupts_and_rerun_converges(tmp_path: Path, embedder: Embedder) -> None:
    corpus = _corpus(tmp_path / "corpus")
    clean = Store(tmp_path / "clean")
    Indexer(clean, embedder).run([corpus])
    expected = _state(clean)
    rng = random.Random(7)
    interrupted = 0
    for attempt in range(KILLS):
        library = tmp_path / f"killed-{attempt}"
        _kill_mid_index(library, corpus, delay=rng.uniform(0.0, 1.5))
        store = Store(library)
        assert store.check() == [], f"attempt {attempt}"
        partial = _state(store)
        assert all(partial[name] == expected[name] for name in partial)  # each file all or nothing
        interrupted += len(partial) < len(expected)
        report = Indexer(store, embedder).run([corpus])
        assert not report.cancelled
        assert _state(store) == expected
        store.save_vectors()
        assert store.check() == []
    assert interrupted, "no kill landed before the run finished; the test proved nothing"
