"""The store on its own: transactions, keyword and dense search, vector cache rebuilds, integrity."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from indexer.store import CATALOGUE, EmbedderMismatch, FileFacts, Store
from indexer.types import Chunk, Page

DIM = 8


def _unit(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=DIM).astype(np.float32)
    return vector / np.linalg.norm(vector)


def _add(store: Store, path: str, sentences: list[str], seed: int) -> int:
    text = " ".join(sentences)
    chunks, start = [], 0
    for sentence in sentences:
        begin = text.index(sentence, start)
        chunks.append(Chunk(doc_id=0, page=1, char_start=begin, char_end=begin + len(sentence), text=sentence))
        start = begin + len(sentence)
    vectors = np.stack([_unit(seed + i) for i in range(len(chunks))])
    return store.write_document(
        FileFacts(path, f"hash-{path}-{seed}", 10, 0.0), "test", [Page(1, text)], chunks, vectors
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "lib")
    store.bind_embedder("test-embedder", DIM)
    return store


def test_dense_and_keyword_search_find_the_right_chunk(store: Store) -> None:
    _add(store, "/a.txt", ["Apples grow on trees.", "Kiwis are fuzzy."], seed=1)
    _add(store, "/b.txt", ["Granite is a rock."], seed=10)
    best = store.search_dense(_unit(2), 1)[0]
    assert best.chunk.text == "Kiwis are fuzzy." and best.chunk.path == "/a.txt"
    assert best.score == pytest.approx(1.0, abs=1e-5)
    keyword = store.search_keyword("what is granite?", 5)
    assert [h.chunk.text for h in keyword] == ["Granite is a rock."]
    assert store.check() == []


def test_replacing_a_document_swaps_only_its_chunks(store: Store) -> None:
    _add(store, "/a.txt", ["Old apple fact."], seed=1)
    _add(store, "/b.txt", ["Stable banana fact."], seed=5)
    b_ids = {c.id for c in store.document_chunks(store.document("/b.txt").id)[0]}
    _add(store, "/a.txt", ["New apple fact.", "Another one."], seed=20)
    assert [h.chunk.text for h in store.search_keyword("apple", 5)] == ["New apple fact."]
    assert {c.id for c in store.document_chunks(store.document("/b.txt").id)[0]} == b_ids
    assert store.chunk_count() == 3
    assert store.check() == []


def test_vectors_survive_a_lost_cache_file(store: Store, tmp_path: Path) -> None:
    _add(store, "/a.txt", ["One.", "Two.", "Three."], seed=1)
    store.save_vectors()
    store.close()
    for file in (tmp_path / "lib").glob("vectors.g*.faiss"):
        file.unlink()  # as if killed before the cache was written
    reopened = Store(tmp_path / "lib")
    assert reopened.search_dense(_unit(3), 1)[0].chunk.text == "Three."
    assert reopened.check() == []


def test_a_stale_cache_from_an_older_generation_is_not_used(store: Store, tmp_path: Path) -> None:
    _add(store, "/a.txt", ["First."], seed=1)
    store.save_vectors()
    _add(store, "/b.txt", ["Second."], seed=7)  # committed, cache not saved: a kill here
    store.close()
    reopened = Store(tmp_path / "lib")
    assert reopened.search_dense(_unit(7), 1)[0].chunk.text == "Second."


def test_removing_documents_drops_their_chunks_everywhere(store: Store) -> None:
    _add(store, "/a.txt", ["Apples."], seed=1)
    _add(store, "/b.txt", ["Bananas."], seed=2)
    assert store.remove_documents(["/a.txt", "/never-there.txt"]) == 1
    assert store.search_keyword("apples", 5) == []
    assert [h.chunk.path for h in store.search_dense(_unit(1), 5)] == ["/b.txt"]
    store.save_vectors()
    assert store.check() == []


def test_another_embedder_is_refused_with_advice(store: Store) -> None:
    _add(store, "/a.txt", ["Apples."], seed=1)
    with pytest.raises(EmbedderMismatch, match="re-index"):
        store.bind_embedder("other-model", 768)


def test_hnsw_index_rebuilds_after_removal(tmp_path: Path) -> None:
    store = Store(tmp_path / "hnsw", index_kind="hnsw")
    store.bind_embedder("test-embedder", DIM)
    for i in range(20):
        _add(store, f"/{i}.txt", [f"Document {i}."], seed=100 + i)
    store.remove_documents(["/3.txt"])
    found = [h.chunk.path for h in store.search_dense(_unit(105), 3)]
    assert found[0] == "/5.txt" and "/3.txt" not in found
    store.save_vectors()
    assert store.check() == []


def test_check_reports_a_damaged_catalogue(store: Store, tmp_path: Path) -> None:
    _add(store, "/a.txt", ["Apples grow.", "Pears fall."], seed=1)
    store.save_vectors()
    with sqlite3.connect(tmp_path / "lib" / CATALOGUE) as raw:
        raw.execute("UPDATE pages SET text = 'something else entirely'")
    problems = store.check()
    assert any("not their page span" in p for p in problems)


def test_auto_index_switches_to_ivf_past_the_threshold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import indexer.store.sqlite.vector_cache as store_module  # where the threshold is read

    monkeypatch.setattr(store_module, "AUTO_IVF_CHUNKS", 10)
    store = Store(tmp_path / "auto")
    store.bind_embedder("test-embedder", DIM)
    assert store.index_kind == "auto"
    _add(store, "/small.txt", ["One.", "Two."], seed=1)
    store.save_vectors()
    assert [f.name.split(".")[2] for f in (tmp_path / "auto").glob("vectors.*.faiss")] == ["flat"]
    for i in range(12):
        _add(store, f"/{i}.txt", [f"Document {i}."], seed=200 + i)
    store.save_vectors()
    assert [f.name.split(".")[2] for f in (tmp_path / "auto").glob("vectors.*.faiss")] == ["ivf"]
    assert store.search_dense(_unit(205), 1)[0].chunk.path == "/5.txt"
    assert store.check() == []
    assert "auto (ivf now)" == store.stats().index_kind


def test_chunk_kinds_are_stored_filtered_and_updated_in_place(store: Store) -> None:
    text = "Contents: lamp, lens, bulb 1. The lamp lens is cleaned with water."
    chunks = [
        Chunk(doc_id=0, page=1, char_start=0, char_end=27, text=text[:27], kind="toc"),
        Chunk(doc_id=0, page=1, char_start=28, char_end=len(text), text=text[28:]),
    ]
    store.write_document(
        FileFacts("/m.pdf", "h", 1, 0.0), "test", [Page(1, text)], chunks, np.stack([_unit(1), _unit(2)])
    )
    record = store.document("/m.pdf")
    assert record.pagekind_version == 0  # written without a classifier version
    assert [c.kind for c in store.chunks_of(record.id)] == ["toc", "content"]
    assert sorted(h.chunk.kind for h in store.search_keyword("lamp lens", 5)) == ["content", "toc"]
    assert [h.chunk.kind for h in store.search_keyword("lamp lens", 1, kinds={"content"})] == ["content"]
    assert [h.chunk.kind for h in store.search_dense(_unit(1), 1, kinds={"content"})] == ["content"]
    assert store.search_dense(_unit(1), 5, kinds={"index"}) == []
    generation = store.generation
    toc_id = store.chunks_of(record.id)[0].id
    store.set_chunk_kinds(record.id, {toc_id: "content"}, 7)
    assert {c.kind for c in store.document_chunks(record.id)[0]} == {"content"}
    assert store.document("/m.pdf").pagekind_version == 7 and store.generation == generation
    with pytest.raises(ValueError, match="unknown"):
        store.set_chunk_kinds(record.id, {toc_id: "appendix"}, 7)
    assert store.check() == []
    with sqlite3.connect(store.folder / CATALOGUE) as raw:
        raw.execute("UPDATE chunks SET kind = 'preface'")
    assert any("unknown kind" in p for p in store.check())
