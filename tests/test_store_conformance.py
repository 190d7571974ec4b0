"""One contract, two backends: the SQLite store (a folder) and the PostgreSQL store (a real server with
pgvector, started by `pgserver` on a private socket) index the sample corpus with the real embedder and
must answer alike: reads, writes, replacement, removal, dense and keyword search with the cited page,
scope filters, a refused embedder, a failed write that leaves nothing, forgetting a folder (there or not),
and two app instances in two processes indexing and reading one library at once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from conftest import new_database

from indexer.embedder import Embedder
from indexer.indexer import Indexer
from indexer.store import EmbedderMismatch, FileFacts, LibraryStore, StoreError, is_database_url, open_store
from indexer.types import Chunk, Page
from rag.retriever import RetrievalSettings, Retriever

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "assets" / "sample"
DESCALE = "How often should I descale the Aurora 3?"


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where a fresh, empty library lives: a folder, or a new database on the test server."""
    if request.param == "sqlite":
        return tmp_path / "library"
    return new_database(request.getfixturevalue("pg_server"))


@pytest.fixture
def store(location: str | Path) -> Iterator[LibraryStore]:
    with open_store(location) as store:
        yield store


@pytest.fixture
def sample(store: LibraryStore, embedder: Embedder) -> LibraryStore:
    """The store holding the sample corpus, indexed by the real Indexer and embedder."""
    report = Indexer(store, embedder).run([SAMPLE])
    assert len(report.indexed) == 3 and not report.failed
    return store


def _names(hits: list) -> list[str]:
    return [Path(h.chunk.path).name for h in hits]


def test_open_store_names_the_backend(location: str | Path) -> None:
    with open_store(location) as store:
        assert isinstance(store, LibraryStore)
        assert is_database_url(store.location) == isinstance(location, str)
        assert store.documents() == [] and store.chunk_count() == 0 and store.check() == []


def test_the_sample_corpus_is_read_back_whole(sample: LibraryStore) -> None:
    records = {Path(d.path).name: d for d in sample.documents()}
    assert set(records) == {"aurora3-user-guide.pdf", "beekeeping-notes.md", "travel-log.txt"}
    guide = records["aurora3-user-guide.pdf"]
    assert guide.status == "indexed" and guide.page_count == len(sample.pages(guide.id)) > 1
    chunks, vectors = sample.document_chunks(guide.id)
    assert len(chunks) == guide.chunk_count == len(vectors) and vectors.shape[1] == 384
    assert [c.id for c in sample.chunks_of(guide.id)] == [c.id for c in chunks]
    first = chunks[0]
    assert sample.page(guide.id, first.page).text[first.char_start : first.char_end] == first.text
    assert sample.page_text(guide.id, first.page) == sample.page(guide.id, first.page).text
    stored = sample.chunk_vectors([first.id])[first.id]
    np.testing.assert_allclose(stored, vectors[0], atol=1e-6)
    assert sample.chunks_by_id([first.id])[first.id].path == guide.path
    assert sample.document(guide.path) == guide and sample.indexed_with_hash(guide.content_hash).id == guide.id
    assert sample.roots() == [SAMPLE] and sample.has_kind("content")
    stats = sample.stats()
    assert (stats.documents, stats.chunks, stats.embedder) == (3, sample.chunk_count(), "all-MiniLM-L6-v2")
    assert sample.check() == []


def test_dense_keyword_and_hybrid_search_cite_the_same_page(sample: LibraryStore, embedder: Embedder) -> None:
    query = embedder.embed([DESCALE])[0]
    dense = sample.search_dense(query, 3)
    assert _names(dense)[0] == "aurora3-user-guide.pdf" and dense[0].chunk.page == 4
    assert dense[0].score == pytest.approx(
        float(np.dot(query, sample.chunk_vectors([dense[0].chunk.id])[dense[0].chunk.id])), abs=1e-4
    )
    assert [i for i, _ in sample.vectors().search(query, 3)] == [h.chunk.id for h in dense]
    keyword = sample.search_keyword("swarming queen cells", 3)
    assert _names(keyword)[0] == "beekeeping-notes.md" and keyword[0].score > 0
    assert sample.search_keyword("descaling", 5)[0].chunk.page == 4  # stemmed: "descaling" finds "descale"
    hits = Retriever(sample, embedder.embed).retrieve(DESCALE)
    assert (Path(hits[0].chunk.path).name, hits[0].chunk.page) == ("aurora3-user-guide.pdf", 4)


def test_scope_and_kind_filters_hold_in_both_lanes(sample: LibraryStore, embedder: Embedder) -> None:
    bees = sample.document(str(SAMPLE / "beekeeping-notes.md"))
    query = embedder.embed([DESCALE])[0]
    assert set(_names(sample.search_dense(query, 5, documents={bees.id}))) == {"beekeeping-notes.md"}
    assert sample.search_keyword("descale", 5, documents={bees.id}) == []
    assert sample.search_dense(query, 5, kinds={"toc"}, documents={bees.id}) == []
    among = np.array([c.id for c in sample.chunks_of(bees.id)], dtype=np.int64)
    assert {i for i, _ in sample.vectors().search(query, 2, among=among)} <= set(among.tolist())
    content = sample.search_keyword("Aurora", 10, kinds={"content"})
    assert content and all(h.chunk.kind == "content" for h in content)


def test_concurrent_lanes_find_what_sequential_ones_do(sample: LibraryStore, embedder: Embedder) -> None:
    """The keyword lane on a worker thread (the default) and beside it other questions on other threads
    give the passages, scores and pages that the lanes one after the other give."""
    questions = [
        DESCALE,
        "When should I remove queen cells?",
        "How much does a tram ride in Lisbon cost?",
        "What is it?",
        "honey harvest water",
    ]

    def passages(question: str, concurrent: bool) -> list[tuple]:
        retriever = Retriever(sample, embedder.embed, RetrievalSettings(top_k=5, concurrent_lanes=concurrent))
        return [(h.chunk.id, h.chunk.page, h.chunk.text, round(h.score, 5)) for h in retriever.retrieve(question)]

    sequential = [passages(q, False) for q in questions]
    assert all(sequential) and sequential[1][0][2].count("queen cells") == 1
    assert [passages(q, True) for q in questions] == sequential
    with ThreadPoolExecutor(4) as pool:
        at_once = list(pool.map(lambda q: passages(q, True), questions * 3))
    assert at_once == sequential * 3


def test_replace_and_remove_swap_only_their_documents(sample: LibraryStore) -> None:
    travel = sample.document(str(SAMPLE / "travel-log.txt"))
    bees = sample.document(str(SAMPLE / "beekeeping-notes.md"))
    kept = [c.id for c in sample.chunks_of(bees.id)]
    text = "Granite is a rock."
    facts = FileFacts(travel.path, "new-hash", 18, 1.0)
    chunk = Chunk(doc_id=0, page=1, char_start=0, char_end=len(text), text=text)
    sample.write_document(facts, "text", [Page(1, text)], [chunk], np.ones((1, 384), np.float32) / np.sqrt(384))
    replaced = sample.document(travel.path)
    assert replaced.chunk_count == 1 and replaced.content_hash == "new-hash"
    assert _names(sample.search_keyword("granite tram", 5)) == ["travel-log.txt"]
    assert [c.id for c in sample.chunks_of(bees.id)] == kept
    sample.set_chunk_kinds(replaced.id, {sample.chunks_of(replaced.id)[0].id: "toc"}, 7)
    assert sample.chunks_of(replaced.id)[0].kind == "toc" and sample.document(travel.path).pagekind_version == 7
    assert sample.remove_documents([travel.path, "/not/there"]) == 1
    assert sample.document(travel.path) is None and "travel-log.txt" not in _names(sample.search_keyword("granite", 5))
    sample.record_failure(FileFacts("/broken.pdf", "h", 1, 0.0), "damaged", "damaged")
    assert sample.document("/broken.pdf").status == "failed" and sample.stats().failed == 1
    assert sample.check() == []


def test_another_embedder_is_refused(sample: LibraryStore) -> None:
    with pytest.raises(EmbedderMismatch, match="all-MiniLM-L6-v2"):
        sample.bind_embedder("another-model", 768)
    assert sample.embedder == ("all-MiniLM-L6-v2", 384)


def test_a_failed_write_leaves_the_old_document_whole(sample: LibraryStore) -> None:
    bees = sample.document(str(SAMPLE / "beekeeping-notes.md"))
    before = sample.chunks_of(bees.id)
    broken = [Chunk(doc_id=0, page=1, char_start=0, char_end=4, text="Bees"), Chunk(0, 1, 0, 4, None)]  # type: ignore[arg-type]
    with pytest.raises(StoreError):
        sample.write_document(
            FileFacts(bees.path, "other", 4, 2.0), "text", [Page(1, "Bees")], broken, np.ones((2, 384), np.float32)
        )
    assert sample.document(bees.path) == bees and sample.chunks_of(bees.id) == before
    assert sample.check() == []


_WORKER = """
import sys
from pathlib import Path
from indexer.embedder import Embedder
from indexer.indexer import Indexer
from indexer.store import open_store
from rag.retriever import Retriever

location, folder = sys.argv[1], Path(sys.argv[2])
embedder = Embedder()
with open_store(location) as store:
    report = Indexer(store, embedder).run([folder])
    assert not report.failed, report.failed
    hits = Retriever(store, embedder.embed).retrieve("What does note number 3 say?")
    print("ASKED", len(hits), flush=True)
"""


def _notes(folder: Path, prefix: str, count: int) -> Path:
    """`count` small text files, each with a different number of paragraphs (hence of chunks)."""
    folder.mkdir(parents=True)
    for i in range(count):
        paragraphs = [
            f"Note {prefix}{i}, part {j}: " + " ".join(f"{prefix}word{i}x{j}n{n}" for n in range(60))
            for j in range(1 + i % 4)
        ]
        (folder / f"{prefix}-{i}.txt").write_text("\n\n".join(paragraphs))
    return folder


def test_remove_roots_forgets_folders_and_files_there_or_not(
    store: LibraryStore, tmp_path: Path, embedder: Embedder
) -> None:
    """A folder deleted from disk and a mail file never seen here (with its attachment) are forgotten in one
    call: their documents and roots go, a sibling whose name starts alike stays, and so do the vectors' counts."""
    kept, gone, alike = (_notes(tmp_path / name, name, 2) for name in ("kept", "gone", "gone-old"))
    Indexer(store, embedder).run([kept, gone, alike])
    mail = tmp_path / "elsewhere" / "invoice.eml"
    store.add_roots([mail])
    for path in (str(mail), f"{mail}#1/report.pdf"):
        text = f"Turbine invoice {Path(path).name}"
        chunk = Chunk(doc_id=0, page=1, char_start=0, char_end=len(text), text=text)
        store.write_document(
            FileFacts(path, path, len(text), 1.0), "mail", [Page(1, text)], [chunk], embedder.embed([text])
        )
    store.vectors()
    shutil.rmtree(gone)
    assert store.search_keyword("turbine", 5) and store.search_keyword("goneword0x0n1", 5)

    removed = store.remove_roots([gone, mail])
    assert sorted(removed) == sorted(
        [str(gone / "gone-0.txt"), str(gone / "gone-1.txt"), str(mail), f"{mail}#1/report.pdf"]
    )
    assert store.roots() == sorted([kept, alike])
    left = sorted(Path(d.path).parent.name for d in store.documents())
    assert left == ["gone-old", "gone-old", "kept", "kept"]
    assert store.search_keyword("turbine", 5) == [] and store.search_keyword("goneword0x0n1", 5) == []
    assert len(store.vectors()) == store.chunk_count() and store.check() == []
    assert store.remove_roots([gone, tmp_path / "never"]) == [] and store.roots() == sorted([kept, alike])


def test_two_app_instances_index_one_library_at_once(
    store: LibraryStore, location: str | Path, tmp_path: Path, embedder: Embedder
) -> None:
    """Two processes index their own folders into one library while this one reads it: every document a
    read sees has all its chunks, and at the end every file of both is there."""
    store.bind_embedder(embedder.name, embedder.dim)
    folders = [_notes(tmp_path / name, name, 12) for name in ("alpha", "beta")]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(location), str(f)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for f in folders
    ]
    seen: dict[str, set[int]] = {}
    while any(w.poll() is None for w in workers):
        for record in store.documents():
            seen.setdefault(record.path, set()).add(record.chunk_count)
            assert record.status == "indexed" and record.chunk_count > 0, record
        time.sleep(0.05)
    for worker in workers:
        out, err = worker.communicate()
        assert worker.returncode == 0, err[-2000:]
        assert "ASKED" in out
    final = {d.path: d.chunk_count for d in store.documents()}
    assert set(final) == {str(p) for f in folders for p in f.iterdir()}
    assert all(counts == {final[path]} for path, counts in seen.items()), "a read saw part of a document"
    assert seen, "the reader never saw a document while the writers ran"
    assert store.check() == []


def test_the_cli_indexes_and_searches_a_library_on_postgresql(
    pg_server: object, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--store postgresql://...`` takes the place of ``--library`` in the same commands."""
    from app.main import main

    url = new_database(pg_server)
    assert main(["index", "--store", url, str(SAMPLE), "--quiet"]) == 0
    assert main(["search", "--store", url, DESCALE, "-k", "1"]) == 0
    assert main(["--store", url, "check"]) == 0
    out = capsys.readouterr().out
    assert "aurora3-user-guide.pdf" in out and "p. 4" in out
    assert main(["status", "--store", url, "--library", "/tmp/x"]) == 2
    assert main(["forget", "--store", url, str(SAMPLE)]) == 0
    assert f"Removed 3 file(s):\n  {SAMPLE / 'aurora3-user-guide.pdf'}\n" in capsys.readouterr().out
    with open_store(url) as store:
        assert store.documents() == [] and store.roots() == []


def test_a_database_url_without_psycopg_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """On an installation without the optional driver, a ``postgresql://`` location is one sentence that
    says what to install, not an ImportError's traceback."""
    for name in [m for m in sys.modules if m == "psycopg" or m.startswith(("psycopg.", "indexer.store.postgres"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "psycopg", None)  # what Python does for a package that is not installed
    with pytest.raises(StoreError, match=r"needs its driver, psycopg 3, which is not installed; pip install"):
        open_store("postgresql://alice@db.example/footnotes")
