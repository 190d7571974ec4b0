"""Collections, scope and saved chats, Qt-free: real libraries of the sample files, the real embedder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from app.core.chats import Chat, ChatStore
from app.core.collections import CollectionError, Collections
from app.core.engine import Engine
from app.main import main
from indexer.embedder import Embedder
from indexer.indexer import Indexer
from indexer.store import CATALOGUE, FileFacts, Store
from indexer.types import Chunk, Page
from indexer.vectors import EXACT_AMONG, VectorIndex
from llm.base import Generator
from rag.answer import Answerer
from rag.retriever import RetrievalSettings, Retriever
from rag.scope import Scope

SAMPLE = Path(__file__).resolve().parents[1] / "assets" / "sample"
DESCALE = "How often should I descale the Aurora 3?"


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """The sample files copied into two project folders: appliances (guide + bees) and travel."""
    appliances, travel = tmp_path / "appliances", tmp_path / "travel"
    appliances.mkdir()
    travel.mkdir()
    shutil.copy(SAMPLE / "aurora3-user-guide.pdf", appliances)
    shutil.copy(SAMPLE / "beekeeping-notes.md", appliances)
    shutil.copy(SAMPLE / "travel-log.txt", travel)
    return {"appliances": appliances, "travel": travel}


def _names(hits) -> set[str]:
    return {Path(h.chunk.path).name for h in hits}


def _index(library: Path, folder: Path, embedder: Embedder) -> None:
    with Store(library) as store:
        Indexer(store, embedder).run([folder])


def test_two_collections_side_by_side_never_mix(tmp_path: Path, files: dict[str, Path], embedder: Embedder) -> None:
    collections = Collections(tmp_path / "collections", tmp_path / "libraries" / "default")
    home = collections.create("Home")
    trips = collections.create("Trips")
    _index(home.library, files["appliances"], embedder)
    _index(trips.library, files["travel"], embedder)

    home_store, trips_store = Store(home.library), Store(trips.library)
    for question in (DESCALE, "How much does the tram ride in Lisbon cost?", "honey harvest winter"):
        home_hits = Retriever(home_store, embedder.embed, RetrievalSettings(top_k=8)).retrieve(question)
        trips_hits = Retriever(trips_store, embedder.embed, RetrievalSettings(top_k=8)).retrieve(question)
        assert home_hits and trips_hits
        assert _names(home_hits) <= {"aurora3-user-guide.pdf", "beekeeping-notes.md"}
        assert _names(trips_hits) == {"travel-log.txt"}
    assert [c.name for c in collections.list()] == ["Default", "Home", "Trips"]
    assert home.library != trips.library and home.chats != trips.chats


def test_scope_keeps_retrieval_to_the_chosen_files_and_folders(
    files: dict[str, Path], tmp_path: Path, embedder: Embedder
) -> None:
    library = tmp_path / "lib"
    _index(library, files["appliances"], embedder)
    _index(library, files["travel"], embedder)
    store = Store(library)
    retriever = Retriever(store, embedder.embed, RetrievalSettings(top_k=8))

    unscoped = retriever.retrieve(DESCALE)
    assert "aurora3-user-guide.pdf" in _names(unscoped)
    assert retriever.retrieve(DESCALE, scope=Scope()) == unscoped  # the whole library changes nothing

    bees = Scope.of_paths([files["appliances"] / "beekeeping-notes.md"])
    assert bees.files and not bees.folders
    assert _names(retriever.retrieve(DESCALE, scope=bees)) == {"beekeeping-notes.md"}
    travel = Scope.of_paths([files["travel"]])
    assert travel.folders and _names(retriever.retrieve(DESCALE, scope=travel)) == {"travel-log.txt"}
    nothing = Scope.of_paths([tmp_path / "elsewhere.txt"])
    assert retriever.retrieve(DESCALE, scope=nothing) == []

    engine = Engine(library)
    assert _names(engine.search(DESCALE, scope=bees)) == {"beekeeping-notes.md"}


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_scoped_dense_search_is_exact_on_flat_and_hnsw(tmp_path: Path, kind: str) -> None:
    store = Store(tmp_path / "lib", index_kind=kind)
    store.bind_embedder("test", 16)
    rng = np.random.default_rng(7)
    ids = {}
    for n in range(40):
        text = " ".join(f"word{n}x{i}." for i in range(25))
        pieces = text.split(" ")
        chunks, start = [], 0
        for piece in pieces:
            chunks.append(Chunk(doc_id=0, page=1, char_start=start, char_end=start + len(piece), text=piece))
            start += len(piece) + 1
        vectors = rng.standard_normal((len(chunks), 16)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        ids[n] = store.write_document(
            FileFacts(f"/d{n}.txt", f"h{n}", 1, 0.0), "test", [Page(1, text)], chunks, vectors
        )
    assert store.vectors().kind == kind
    query = rng.standard_normal(16).astype(np.float32)
    query /= np.linalg.norm(query)
    chosen = {ids[3], ids[17]}
    expected = []
    for doc_id in chosen:
        chunks, vectors = store.document_chunks(doc_id)
        expected += [(c.id, float(v @ query)) for c, v in zip(chunks, vectors, strict=True)]
    expected.sort(key=lambda pair: -pair[1])
    found = store.search_dense(query, 10, documents=chosen)
    assert [h.chunk.id for h in found] == [i for i, _ in expected[:10]]
    assert {h.chunk.doc_id for h in store.search_keyword("word3x1 word17x2 word5x5", 10, documents=chosen)} <= chosen
    assert store.search_dense(query, 10, documents=set()) == []
    assert [h.chunk.id for h in store.search_dense(query, 5)] == [h.chunk.id for h in store.search_dense(query, 5)]


def test_a_large_scope_on_hnsw_overfetches_and_stays_inside_it() -> None:
    rng = np.random.default_rng(3)
    count = EXACT_AMONG + 5000
    vectors = rng.standard_normal((count, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = VectorIndex(8, "hnsw")
    index.add(np.arange(count, dtype=np.int64), vectors)
    among = np.arange(0, count, 2, dtype=np.int64)[: EXACT_AMONG + 100]
    found = index.search(vectors[10], 5, among=among)
    assert len(found) == 5 and found[0][0] == 10
    assert all(i in set(among.tolist()) for i, _ in found)
    small = index.search(vectors[11], 3, among=np.array([11, 13, 15], dtype=np.int64))
    assert small[0][0] == 11 and len(small) == 3


def test_the_default_library_is_adopted_where_it_lies(
    tmp_path: Path, files: dict[str, Path], embedder: Embedder
) -> None:
    default = tmp_path / "libraries" / "default"
    _index(default, files["travel"], embedder)
    catalogue = default / CATALOGUE
    before = (catalogue.stat().st_mtime_ns, Store(default).generation)

    collections = Collections(tmp_path / "collections", default)
    first = collections.list()[0]
    assert (first.name, first.library) == ("Default", default)
    with Store(first.library) as store:
        assert (catalogue.stat().st_mtime_ns, store.generation) == before  # nothing re-indexed
        hits = Retriever(store, embedder.embed).retrieve("tram ride Lisbon cost")
    assert _names(hits) == {"travel-log.txt"}
    registry = json.loads(collections.registry.read_text())
    assert registry["collections"][0]["library"] == str(default)


def test_collections_are_created_renamed_and_deleted(tmp_path: Path) -> None:
    default = tmp_path / "mine"
    default.mkdir()
    (default / "notes.txt").write_text("not the library's to delete")
    (default / CATALOGUE).write_text("")
    collections = Collections(tmp_path / "collections", default)
    thesis = collections.create("  Thesis ")
    assert thesis.name == "Thesis" and thesis.library.is_dir() and thesis.chats.is_dir()
    with pytest.raises(CollectionError, match="already a collection"):
        collections.create("thesis")
    with pytest.raises(CollectionError, match="needs a name"):
        collections.create("   ")
    renamed = collections.rename("thesis", "PhD thesis")
    assert renamed.library == thesis.library
    assert [c.name for c in Collections(tmp_path / "collections", default).list()] == ["Default", "PhD thesis"]
    collections.delete("PhD thesis")
    assert not thesis.library.parent.exists()
    with pytest.raises(CollectionError, match="only collection"):
        collections.delete("Default")
    collections.create("Taxes")
    collections.delete("default")
    assert (default / "notes.txt").exists() and not (default / CATALOGUE).exists()
    assert [c.name for c in collections.list()] == ["Taxes"]
    with pytest.raises(CollectionError, match="no collection named 'Default'"):
        collections.get("Default")


def _answer_dict(question: str, text: str) -> dict:
    return {"question": question, "text": text, "sources": {}, "cited": []}


def test_chats_are_saved_listed_searched_renamed_and_deleted(tmp_path: Path) -> None:
    store = ChatStore(tmp_path / "chats")
    assert store.list() == []
    first = store.save(
        Chat(
            scope=Scope(files=("/docs/a.pdf",)),
            model="light",
            turns=[{"question": "When is the deadline?", "answer": _answer_dict("When…", "On 31 May [1].")}],
        )
    )
    second = store.save(
        Chat(model="quality", turns=[{"question": "Tram fare?", "answer": _answer_dict("T", "3 euros")}])
    )
    assert first.title == "When is the deadline?"

    reopened = ChatStore(tmp_path / "chats")
    assert [c.id for c in reopened.list()] == [second.id, first.id]  # newest first
    loaded = reopened.get(first.id)
    assert (loaded.scope, loaded.model) == (Scope(files=("/docs/a.pdf",)), "light")
    assert loaded.answers()[0].text == "On 31 May [1]."
    turns = loaded.conversation_turns()
    engine = Engine(tmp_path / "lib")
    engine.restore(turns)
    assert [t.question for t in engine.conversation.turns] == ["When is the deadline?"]

    assert [c.id for c in reopened.search("31 MAY")] == [first.id]  # content
    assert [c.id for c in reopened.search("tram")] == [second.id]  # title
    assert reopened.search("nothing like it") == []
    reopened.rename(first.id, "Deadlines")
    assert [c.title for c in ChatStore(tmp_path / "chats").list()] == ["Tram fare?", "Deadlines"]
    reopened.delete(second.id)
    assert [c.title for c in ChatStore(tmp_path / "chats").list()] == ["Deadlines"]
    with pytest.raises(KeyError):
        reopened.get(second.id)
    (tmp_path / "chats" / "damaged.json").write_text("{not json")
    assert [c.title for c in reopened.list()] == ["Deadlines"]


def test_an_answer_in_a_scope_is_prepared_from_it_only(
    tmp_path: Path, files: dict[str, Path], embedder: Embedder, generator: Generator
) -> None:
    library = tmp_path / "lib"
    _index(library, files["appliances"], embedder)
    _index(library, files["travel"], embedder)
    answerer = Answerer(Store(library), embedder, generator)
    question = "What happens in May: swarming bees or tram rides in Lisbon?"
    assert {"beekeeping-notes.md", "travel-log.txt"} <= _names(answerer.prepare(question).hits)
    prepared = answerer.prepare(question, scope=Scope.of_paths([files["travel"]]))
    assert prepared.plan is not None and _names(prepared.plan.included) == {"travel-log.txt"}


def test_cli_collections_and_scope(
    tmp_path: Path, files: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FOOTNOTES_COLLECTIONS", str(tmp_path / "collections"))
    monkeypatch.setenv("FOOTNOTES_LIBRARY", str(tmp_path / "default-library"))
    monkeypatch.setenv("FOOTNOTES_LOG_DIR", str(tmp_path / "logs"))
    assert main(["collections", "create", "Trips"]) == 0
    assert main(["--collection", "trips", "index", str(files["travel"]), "--quiet"]) == 0
    assert main(["index", str(files["appliances"]), str(files["travel"]), "--quiet"]) == 0  # the default one
    capsys.readouterr()

    assert main(["search", "euros tickets honey", "--collection", "Trips", "--json"]) == 0
    assert {Path(h["path"]).name for h in json.loads(capsys.readouterr().out)} == {"travel-log.txt"}
    bees = str(files["appliances"] / "beekeeping-notes.md")
    assert main(["search", "euros tickets honey", "--scope", bees, "--json"]) == 0
    assert {Path(h["path"]).name for h in json.loads(capsys.readouterr().out)} == {"beekeeping-notes.md"}
    assert main(["search", "euros", "--scope", str(tmp_path / "nowhere")]) == 2
    assert "no indexed file under" in capsys.readouterr().err

    assert main(["collections", "rename", "Trips", "Holidays"]) == 0
    assert main(["collections"]) == 0
    listed = capsys.readouterr().out
    assert "Default\t" in listed and "Holidays\t" in listed and "Trips" not in listed.split("Renamed")[-1]
    assert main(["collections", "delete", "Holidays"]) == 2
    assert "add --yes" in capsys.readouterr().err
    assert main(["collections", "delete", "Holidays", "--yes"]) == 0
    assert main(["--collection", "Holidays", "status"]) == 2
    assert "no collection named 'Holidays'" in capsys.readouterr().err
