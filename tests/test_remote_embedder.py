"""Embeddings from an OpenAI-compatible server: a real llama-cpp-python server with ``--embedding true`` on
the bundled light model (a chat model serves embeddings well enough for the contract), and a library that
refuses to mix its embedder with another."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pytest
from conftest import free_port, llama_server, make_pdf, send_json

from app.core.engine import Engine
from app.core.errors import EMBEDDER, STORE
from app.core.settings import EmbedderSection, Settings
from app.main import main
from indexer.embedder import Embedder, EmbedderError
from indexer.indexer import Indexer
from indexer.remote_embedder import EmbeddingServer, RemoteEmbedder
from indexer.store import EmbedderMismatch, Store
from rag.retriever import RetrievalSettings, Retriever

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

ALIAS = "qwen-embed"
SAMPLE = Path(__file__).resolve().parent.parent / "assets" / "sample"
TEXTS = [
    "The bilge pump must be tested every spring.",
    "Harvest only capped frames of honey.",
    "Tram 28 leaves Martim Moniz at 8 am.",
    "Queen cells are removed during swarming season.",
    "A single ride costs 3 euros on board.",
    "The Pena Palace opens at 9:30.",
    "Leave 18 kg of honey for the winter.",
]


@pytest.fixture(scope="module")
def embed_url() -> Iterator[str]:
    """llama-cpp-python's server on the light model with embeddings on, mean-pooled (the chat model has no
    pooling of its own; llama.cpp's embedding models do)."""
    with llama_server(ALIAS, 2048, "--embedding", "true", "--kv_overrides", "qwen2.pooling_type=int:1") as url:
        yield url


@pytest.fixture(scope="module")
def remote(embed_url: str) -> RemoteEmbedder:
    return RemoteEmbedder(EmbeddingServer(embed_url, ALIAS), batch_size=4)


@pytest.fixture(scope="module")
def remote_library(tmp_path_factory: pytest.TempPathFactory, remote: RemoteEmbedder) -> Store:
    """The sample corpus indexed through the server."""
    store = Store(tmp_path_factory.mktemp("remote-lib"))
    report = Indexer(store, remote).run([SAMPLE])
    assert len(report.indexed) == 3 and not report.failed
    return store


def test_vectors_are_unit_with_the_servers_dimension(remote: RemoteEmbedder, embed_url: str) -> None:
    vectors = remote.embed(TEXTS[:3])
    assert remote.dim == 896 and vectors.shape == (3, 896) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert remote.name == f"{ALIAS} @ {embed_url}"  # the identity a library records: model and server
    assert remote.embed([]).shape == (0, 896)


def test_a_batch_equals_the_texts_one_by_one(remote: RemoteEmbedder) -> None:
    together = remote.embed(TEXTS)  # two requests of four and three
    alone = np.concatenate([remote.embed([text]) for text in TEXTS])
    assert np.allclose(together, alone, atol=2e-3)
    assert np.all(np.sum(together * alone, axis=1) > 0.9999)


def test_an_index_built_through_the_server_finds_the_right_file(remote_library: Store, remote: RemoteEmbedder) -> None:
    assert remote_library.embedder == (remote.name, 896)
    retriever = Retriever(remote_library, remote.embed, RetrievalSettings(top_k=3))
    hits = retriever.retrieve("How much honey must be left for the colony over winter?")
    assert Path(hits[0].chunk.path).name == "beekeeping-notes.md"
    assert "18 kg" in hits[0].chunk.text


def test_a_library_refuses_the_other_embedder_both_ways(
    tmp_path: Path, remote_library: Store, remote: RemoteEmbedder, embedder: Embedder, embed_url: str
) -> None:
    with pytest.raises(EmbedderMismatch) as refused:
        Indexer(remote_library, embedder)
    message = str(refused.value)
    assert f"built with the embedder '{ALIAS} @ {embed_url}' (896 dimensions)" in message
    assert f"--embedder-url {embed_url} --embedder-model {ALIAS}" in message and "--reindex" in message

    local = Store(tmp_path / "local")
    make_pdf(tmp_path / "boat.pdf", ["The bilge pump must be tested every spring."])
    Indexer(local, embedder).run([tmp_path / "boat.pdf"])
    with pytest.raises(EmbedderMismatch, match=r"built with the embedder 'all-MiniLM-L6-v2' \(384 dimensions\)"):
        Indexer(local, remote)
    local.close()

    # Asking goes through the same refusal: an engine set to the server never searches the local library.
    engine = Engine(tmp_path / "local", Settings(embedder=EmbedderSection(embed_url, ALIAS)))
    with pytest.raises(EmbedderMismatch, match="use that local model again"):
        engine.search("bilge pump")
    engine.close()


def test_a_remote_server_is_refused_before_any_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[object] = []
    monkeypatch.setattr(socket, "create_connection", lambda address, *a, **k: attempts.append(address))
    for url in ("http://192.168.1.20:8080/v1", "http://gpu-box.example.com/v1", "https://[2001:db8::1]/v1"):
        with pytest.raises(EmbedderError, match="is not this machine, so every passage would leave it"):
            RemoteEmbedder(EmbeddingServer(url))
    assert attempts == []
    with pytest.raises(EmbedderError, match="not an embeddings server URL"):
        RemoteEmbedder(EmbeddingServer("gpu-box:8080"))


def test_an_allowed_remote_server_is_tried(tmp_path: Path) -> None:
    # The suite itself refuses every connection off this machine, so the attempt fails, and says why.
    with pytest.raises(EmbedderError, match=r"cannot reach the embeddings server at 192\.0\.2\.7:8080"):
        RemoteEmbedder(EmbeddingServer("http://192.0.2.7:8080/v1", allow_remote=True))


def test_a_closed_port_and_a_wrong_model_are_named(embed_url: str) -> None:
    port = free_port()
    with pytest.raises(
        EmbedderError, match=rf"no embeddings server answers at 127\.0\.0\.1:{port} \(connection refused\)"
    ):
        RemoteEmbedder(EmbeddingServer(f"http://127.0.0.1:{port}/v1"))
    with pytest.raises(EmbedderError, match=rf"has no model 'nomic-embed' \(it has {ALIAS}\)"):
        RemoteEmbedder(EmbeddingServer(embed_url, "nomic-embed"))


class _Busy(BaseHTTPRequestHandler):
    """A stand-in server that is busy (503, then 429) before it answers, and whose model may change size."""

    busy = 2
    dims: ClassVar[list[int]] = []
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self._send(200, {"data": [{"id": "mini"}]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append(self.headers.get("Authorization", ""))
        if type(self).busy:
            type(self).busy -= 1
            if type(self).busy:
                self._send(503, {"error": "loading the model"}, {"Retry-After": "0"})
            else:
                self._send(429, {"error": "too many requests"})  # no Retry-After: the client's own pause
            return
        dim = type(self).dims.pop(0) if len(type(self).dims) > 1 else type(self).dims[0]
        rows = [{"index": i, "embedding": [float(i + 1)] * dim} for i in range(len(body["input"]))]
        self._send(200, {"data": rows[::-1]})  # out of order: the index decides

    def _send(self, status: int, answer: object, headers: dict[str, str] | None = None) -> None:
        send_json(self, status, answer, headers)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def busy_server() -> Iterator[str]:
    _Busy.busy, _Busy.dims, _Busy.seen = 2, [4], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Busy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_a_busy_server_is_tried_again_and_a_changed_model_is_refused(busy_server: str) -> None:
    waits: list[float] = []
    remote = RemoteEmbedder(EmbeddingServer(busy_server, api_key="sk-team"), sleep=waits.append)
    assert waits == [0.0, 1.0] and remote.dim == 4 and remote.model == "mini"  # 503, 429, then the answer
    assert _Busy.seen == ["Bearer sk-team"] * 3
    vectors = remote.embed(["a", "b"])
    assert np.allclose(vectors, 0.5)  # (1,1,1,1) and (2,2,2,2), both unit length, in the order sent
    _Busy.dims = [3]
    with pytest.raises(EmbedderError, match="now gives 3-dimensional vectors, not 4: its model changed"):
        remote.embed(["c"])


def test_the_cli_searches_through_the_server_and_refuses_the_local_model(
    remote_library: Store, embed_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    library = str(remote_library.folder)
    flags = ["--embedder-url", embed_url, "--embedder-model", ALIAS]
    assert main(["--library", library, "search", "honey left for winter", "-k", "1", *flags]) == 0
    assert "beekeeping-notes.md" in capsys.readouterr().out
    assert main(["--library", library, "search", "honey left for winter", "--mode", "dense"]) == STORE
    assert "use that server again (--embedder-url" in capsys.readouterr().err
    closed = f"http://127.0.0.1:{free_port()}/v1"
    assert main(["--library", library, "search", "honey", "--mode", "dense", "--embedder-url", closed]) == EMBEDDER
    assert "(connection refused); start it or correct the embeddings server URL" in capsys.readouterr().err


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="no CUDA GPU here; runs where one is present")
def test_the_local_embedder_runs_on_cuda_in_half_precision(embedder: Embedder) -> None:
    on_gpu = Embedder(device=None)
    assert on_gpu.device == "cuda" and on_gpu.half and on_gpu.batch_size == 256
    vectors = on_gpu.embed(TEXTS)
    assert vectors.dtype == np.float32 and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    on_cpu = Embedder(device="cpu").embed(TEXTS)
    assert np.all(np.sum(vectors * on_cpu, axis=1) > 0.999)  # comparable with a library indexed on a CPU
    assert on_gpu.name == Embedder(device="cpu").name  # the device is not part of the identity


def test_the_status_bar_says_where_embeddings_are_computed(qtbot: QtBot, tmp_path: Path) -> None:
    from PySide6.QtCore import QSettings

    from app.gui.window import MainWindow

    closed = f"http://127.0.0.1:{free_port()}/v1"
    engine = Engine(tmp_path / "lib", Settings.preset("light", embedder=EmbedderSection(closed, "bge-m3")))
    window = MainWindow(engine, QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    assert window.embedder_label.isVisible()
    assert window.embedder_label.text() == f"Embeddings from bge-m3 at {closed[7:-3]} (local server)"
    engine.apply(replace(engine.settings, embedder=EmbedderSection("http://gpu-box.lan:8000/v1", "", True)))
    window.model.show_server()
    assert window.embedder_label.text() == "Passages are sent to gpu-box.lan:8000 to be embedded (remote server)"
    assert "color" in window.embedder_label.styleSheet()
    engine.apply(replace(engine.settings, embedder=EmbedderSection()))
    window.model.show_server()
    assert not window.embedder_label.isVisible()  # the bundled model, in this process
