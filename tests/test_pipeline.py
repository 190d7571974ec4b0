"""The indexing pipeline streams: a large PDF's first chunks are embedded while the parser is still on
its later pages, and an unchanged library is re-indexed without the model or the parser."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from conftest import make_pdf

from indexer.embedder import Embedder, default_model_path
from indexer.indexer import Indexer, IndexProgress
from indexer.store import EmbedderMismatch, Store

PAGES = 100


def _long_pdf(path: Path) -> Path:
    """A PDF of PAGES full pages (about 3 KB of text, three chunks each), every page about its own topic."""
    sentence = "Page {n} of the manual explains how valve {n} is set, checked and cleaned by the crew. "
    return make_pdf(path, [(sentence.format(n=n) * 36) for n in range(1, PAGES + 1)])


def test_a_large_pdf_is_embedded_while_its_later_pages_are_still_parsed(tmp_path: Path, embedder: Embedder) -> None:
    pdf = _long_pdf(tmp_path / "manual.pdf")
    store = Store(tmp_path / "lib")
    cancel = threading.Event()
    seen: list[IndexProgress] = []

    def progress(state: IndexProgress) -> None:
        seen.append(IndexProgress(**vars(state)))
        if state.chunks_embedded:
            cancel.set()  # the first batch is embedded: the rest of the run need not be waited for

    report = Indexer(store, embedder).run([pdf], progress=progress, cancel=cancel)
    first = next(state for state in seen if state.chunks_embedded)
    # The reader runs at most STREAM_PAGES (16) pages ahead of the embedder, and the pipe from the parser
    # holds some 20 pages of this size: so when the first batch (~11 pages) is embedded the parser cannot
    # have reached page 100. Without streaming the first batch would wait for all 100 pages.
    assert first.current_file == str(pdf)
    assert 0 < first.pages_read < PAGES // 2
    assert report.cancelled and report.indexed == []
    assert store.document(str(pdf)) is None  # a file is written whole or not at all
    store.close()


def test_an_unchanged_library_is_reindexed_without_the_model_or_the_parser(tmp_path: Path, embedder: Embedder) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "garden.md").write_text("# Garden\nTomatoes need six hours of sun and deep watering twice a week.\n")
    make_pdf(folder / "trip.pdf", ["Day one: we flew to Oslo.", "Day two: the fjord cruise left at nine."])
    made: list[int] = []

    def make_embedder() -> Embedder:
        made.append(1)
        return embedder

    store = Store(tmp_path / "lib")
    first = Indexer(store, make_embedder).run([folder])
    assert sorted(Path(p).name for p in first.indexed) == ["garden.md", "trip.pdf"]
    assert made == [1]  # made once, when the first file needed it

    made.clear()
    states: list[IndexProgress] = []
    again = Indexer(store, make_embedder).run([folder], progress=lambda s: states.append(IndexProgress(**vars(s))))
    assert sorted(Path(p).name for p in again.unchanged) == ["garden.md", "trip.pdf"]
    assert again.indexed == [] and again.chunks_embedded == 0
    assert made == []  # the model was never loaded: nothing needed it
    assert all(s.pages_read == 0 for s in states)  # no file was opened by the parser
    assert states[-1].files_done == 2
    store.close()


def test_a_model_made_on_demand_that_differs_from_the_library_s_is_refused(tmp_path: Path, embedder: Embedder) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "garden.md").write_text("# Garden\nTomatoes need six hours of sun and deep watering twice a week.\n")
    store = Store(tmp_path / "lib")
    Indexer(store, embedder).run([folder])
    (folder / "bees.md").write_text("# Bees\nA hive needs a dry place sheltered from the north wind.\n")
    # A model from another folder is another embedder to the library (its identity is its folder's name and
    # files), so it must be refused; the refusal happens in whichever thread makes the model first, and
    # reaches the caller either way.
    other = tmp_path / "my-minilm"
    for file in default_model_path().rglob("*"):
        if file.is_file():
            (other / file.relative_to(default_model_path())).parent.mkdir(parents=True, exist_ok=True)
            (other / file.relative_to(default_model_path())).symlink_to(file)
    with pytest.raises(EmbedderMismatch, match="re-index"):
        Indexer(store, lambda: Embedder(other)).run([folder])
    assert store.document(str(folder / "bees.md")) is None
    store.close()
