"""The Indexer end to end with the real embedder: incremental runs, bad files, cancel, duplicates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import encrypt_pdf, make_pdf

from indexer.embedder import Embedder
from indexer.indexer import Indexer, IndexProgress
from indexer.scan import ScanSettings
from indexer.store import Store


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "garden.md").write_text("# Garden\nTomatoes need six hours of sun and deep watering twice a week.\n")
    (folder / "cars.txt").write_text("The car's timing belt must be replaced every 100,000 kilometres.\n")
    make_pdf(folder / "trip.pdf", ["Day one: we flew to Oslo.", "Day two: the fjord cruise left at nine."])
    return folder


@pytest.fixture
def library(tmp_path: Path, embedder: Embedder) -> tuple[Store, Indexer, Path]:
    store = Store(tmp_path / "lib")
    return store, Indexer(store, embedder), _folder(tmp_path)


def _ids(store: Store, path: Path) -> set[int]:
    record = store.document(str(path))
    assert record is not None
    return {c.id for c in store.document_chunks(record.id)[0]}


def test_index_then_reindex_embeds_nothing(library: tuple[Store, Indexer, Path], embedder: Embedder) -> None:
    store, indexer, folder = library
    first = indexer.run([folder])
    assert sorted(Path(p).name for p in first.indexed) == ["cars.txt", "garden.md", "trip.pdf"]
    assert first.chunks_embedded == store.chunk_count() >= 3
    hit = store.search_dense(embedder.embed(["When did the fjord cruise leave?"])[0], 1)[0]
    assert Path(hit.chunk.path).name == "trip.pdf" and hit.chunk.page == 2
    second = indexer.run([folder])
    assert second.chunks_embedded == 0 and second.indexed == []
    assert len(second.unchanged) == 3
    assert store.check() == []


def test_a_changed_file_replaces_only_its_chunks(library: tuple[Store, Indexer, Path]) -> None:
    store, indexer, folder = library
    indexer.run([folder])
    before = {name: _ids(store, folder / name) for name in ("garden.md", "cars.txt", "trip.pdf")}
    (folder / "cars.txt").write_text("The bicycle chain should be oiled every month.\n")
    report = indexer.run([folder])
    assert [Path(p).name for p in report.indexed] == ["cars.txt"]
    assert report.chunks_embedded == len(_ids(store, folder / "cars.txt"))
    assert _ids(store, folder / "garden.md") == before["garden.md"]
    assert _ids(store, folder / "trip.pdf") == before["trip.pdf"]
    assert _ids(store, folder / "cars.txt").isdisjoint(before["cars.txt"])
    assert [h.chunk.text for h in store.search_keyword("bicycle", 3)] == [
        "The bicycle chain should be oiled every month."
    ]
    assert store.search_keyword("timing belt", 3) == []


def test_a_deleted_file_disappears(library: tuple[Store, Indexer, Path]) -> None:
    store, indexer, folder = library
    indexer.run([folder])
    (folder / "garden.md").unlink()
    report = indexer.run()  # no paths: refresh the library's known roots
    assert [Path(p).name for p in report.removed] == ["garden.md"]
    assert store.document(str(folder / "garden.md")) is None
    assert store.search_keyword("tomatoes", 5) == []
    assert store.check() == []


def test_a_folder_that_is_not_there_keeps_its_documents(tmp_path: Path, embedder: Embedder) -> None:
    """A refresh with a folder missing (an unplugged drive, a share not mounted) keeps that folder's files and
    says so, as it does for a root folder left empty (the mount point of a drive not mounted looks so); a
    file deleted in a folder that still holds others goes."""
    texts = {"drive": "The lighthouse keeper logs the fog horn.", "home": "Sourdough rises overnight.", "emptied": ""}
    folders = {name: tmp_path / name for name in texts}
    for name, folder in folders.items():
        folder.mkdir()
        (folder / "a.txt").write_text(f"{texts[name]} First note of {name}.\n")
        (folder / "b.txt").write_text(f"Second note of {name}, about the {name} folder.\n")
    store = Store(tmp_path / "lib")
    indexer = Indexer(store, embedder)
    assert len(indexer.run(list(folders.values())).indexed) == 6
    drive, home, emptied = folders.values()
    drive.rename(tmp_path / "unplugged")
    (home / "b.txt").unlink()
    for file in emptied.iterdir():
        file.unlink()

    report = indexer.run()  # no paths: refresh every root, as the window's watcher and F5 do
    assert store.document(str(drive / "a.txt")) is not None and drive in store.roots()
    assert report.removed == [str(home / "b.txt")]
    assert report.missing == [str(drive)] and report.empty == [str(emptied)]
    assert sorted(report.kept) == [str(f / n) for f in (drive, emptied) for n in ("a.txt", "b.txt")]
    assert [Path(h.chunk.path).parent for h in store.search_keyword("lighthouse fog horn", 5)] == [drive]
    assert store.check() == []

    (tmp_path / "unplugged").rename(drive)  # plugged in again: nothing is read anew
    again = indexer.run()
    assert again.missing == [] and again.removed == [] and again.chunks_embedded == 0
    assert again.empty == [str(emptied)] and len(again.kept) == 2  # still empty: still kept
    assert sorted(Path(p).relative_to(tmp_path) for p in again.unchanged) == [
        Path("drive/a.txt"),
        Path("drive/b.txt"),
        Path("home/a.txt"),
    ]


REFRESH_UNCHANGED = """
import json, sys
from indexer.indexer import Indexer
from indexer.store import Store

def no_embedder():
    raise SystemExit("a refresh of unchanged files embeds nothing")

with Store(sys.argv[1]) as store:
    report = Indexer(store, no_embedder).run()
print(json.dumps({"removed": report.removed, "kept": report.kept, "unreadable": report.unreadable,
                  "missing": report.missing, "skipped": [[i.path, str(i.kind), i.reason] for i in report.skipped]}))
"""


def test_a_folder_the_system_will_not_list_keeps_its_files(tmp_path: Path, embedder: Embedder) -> None:
    """A subfolder that cannot be listed (its permissions changed, a share's I/O error) says nothing about
    its files: a refresh keeps them and says why, instead of removing them as deleted. The refresh runs in
    a process the folder's permissions stop (as root: without the capabilities that override them)."""
    notes, private = tmp_path / "notes", tmp_path / "notes" / "private"
    private.mkdir(parents=True)
    (notes / "a.txt").write_text("The lighthouse keeper logs the fog horn.\n")
    for name in ("b.txt", "c.txt"):
        (private / name).write_text(f"Private note {name}: the harbour master's ledger.\n")
    with Store(tmp_path / "lib") as store:  # c.txt added on its own too: a root inside the folder shut later
        assert len(Indexer(store, embedder).run([notes, private / "c.txt"]).indexed) == 3
    refresh = [sys.executable, "-c", REFRESH_UNCHANGED, str(tmp_path / "lib")]
    if os.geteuid() == 0:  # root reads any folder: drop the two capabilities that let it
        refresh = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", *refresh]
    private.chmod(0o000)
    try:
        done = subprocess.run(refresh, capture_output=True, text=True, timeout=120)
    finally:
        private.chmod(0o755)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["removed"] == [] and report["unreadable"] == [str(private)]
    assert report["missing"] == [str(private / "c.txt")]  # cannot be seen: as good as not there, so kept
    assert sorted(report["kept"]) == [str(private / "b.txt"), str(private / "c.txt")]
    [issue] = report["skipped"]
    assert issue[:2] == [str(private), "unreadable"] and "cannot list this folder (Permission denied)" in issue[2]
    with Store(tmp_path / "lib") as store:
        assert store.document(str(private / "b.txt")) is not None
        assert sorted(Path(h.chunk.path).name for h in store.search_keyword("harbour ledger", 5)) == ["b.txt", "c.txt"]


def test_bad_files_are_reported_while_the_rest_index(library: tuple[Store, Indexer, Path]) -> None:
    store, indexer, folder = library
    corrupt = folder / "corrupt.pdf"
    corrupt.write_bytes((folder / "trip.pdf").read_bytes()[:300])
    encrypt_pdf(folder / "trip.pdf", folder / "locked.pdf", user_password="secret")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "program.txt").write_bytes(bytes(range(256)) * 40)
    make_pdf(folder / "scan.pdf", ["", ""], image_only=True)
    (folder / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    report = indexer.run([folder])
    failed = {Path(i.path).name: i.kind for i in report.failed}
    assert failed == {
        "corrupt.pdf": "corrupt",
        "locked.pdf": "locked",
        "empty.txt": "empty",
        "program.txt": "binary",
        "scan.pdf": "no-text",
    }
    assert all(i.reason for i in report.failed)
    assert [Path(i.path).name for i in report.skipped] == ["clip.mp4"]
    assert sorted(Path(p).name for p in report.indexed) == ["cars.txt", "garden.md", "trip.pdf"]
    recorded = {Path(d.path).name: d.error for d in store.documents() if d.status == "failed"}
    assert "password" in recorded["locked.pdf"] and "text layer" in recorded["scan.pdf"]
    assert store.check() == []


def test_hidden_folders_and_large_files_are_passed_over(tmp_path: Path, embedder: Embedder) -> None:
    folder = _folder(tmp_path)
    (folder / ".git").mkdir()
    (folder / ".git" / "notes.txt").write_text("secret git internals")
    (folder / "big.txt").write_text("x " * 700_000)
    store = Store(tmp_path / "lib")
    report = Indexer(store, embedder, scanning=ScanSettings(max_file_mb=1)).run([folder])
    assert "notes.txt" not in {Path(d.path).name for d in store.documents()}
    assert [(Path(i.path).name, i.kind) for i in report.skipped] == [("big.txt", "too-large")]


def test_identical_content_is_reused_not_re_embedded(library: tuple[Store, Indexer, Path]) -> None:
    store, indexer, folder = library
    indexer.run([folder])
    copy = folder / "garden-copy.md"
    copy.write_bytes((folder / "garden.md").read_bytes())
    report = indexer.run([folder])
    assert report.chunks_embedded == 0 and [Path(p).name for p in report.reused] == ["garden-copy.md"]
    assert {Path(h.chunk.path).name for h in store.search_keyword("tomatoes", 5)} == {"garden.md", "garden-copy.md"}


def test_cancel_keeps_finished_files_and_a_rerun_completes(library: tuple[Store, Indexer, Path]) -> None:
    store, indexer, folder = library
    cancel = threading.Event()
    seen: list[IndexProgress] = []

    def on_progress(state: IndexProgress) -> None:
        seen.append(state)
        if state.files_done >= 1:
            cancel.set()

    report = indexer.run([folder], progress=on_progress, cancel=cancel)
    assert report.cancelled and 1 <= len(report.indexed) < 3
    assert store.check() == []
    rest = indexer.run([folder])
    assert len(rest.indexed) == 3 - len(report.indexed) and not rest.cancelled
    assert {Path(d.path).name for d in store.documents()} == {"cars.txt", "garden.md", "trip.pdf"}
    assert seen[0].files_total == 3
