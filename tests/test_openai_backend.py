"""The model-server backend against a real OpenAI-compatible server: llama-cpp-python's, on the light model.

The servers Footnotes cannot start here (vLLM, llama.cpp's own, Ollama, LM Studio) are stood in for by a
small HTTP server answering only the JSON each of them documents for its context length.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import keyring
import pytest
from conftest import SERVER_ALIAS as ALIAS
from conftest import free_port
from keyring.backend import KeyringBackend
from keyring.backends.fail import Keyring as NoKeyring
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from app.core.settings import ModelSection, ServerSection, Settings, load_settings, save_settings
from app.gui.settings_dialog import SettingsDialog
from indexer.embedder import Embedder
from indexer.indexer import Indexer
from indexer.store import Store
from llm import secrets
from llm.base import Message
from llm.loader import load_generator
from llm.openai_backend import OpenAIGenerator, ServerError, ServerSettings
from rag.answer import Answerer
from rag.citations import CitedAnswer

SAMPLE = Path(__file__).resolve().parents[1] / "assets" / "sample"


def test_describe_names_the_model_and_the_local_server(served: OpenAIGenerator) -> None:
    assert served.describe().startswith(f"{ALIAS} at 127.0.0.1:")
    assert "(local server)" in served.describe()


def test_the_servers_budget_guards_against_every_family_of_control_tokens(served: OpenAIGenerator) -> None:
    # the server may run any model, so documents are screened for the control tokens of the common families
    assert "<|eot_id|>" in served.control_tokens and "[INST]" in served.control_tokens


def test_the_window_is_the_setting_where_the_server_does_not_say_and_a_longer_prompt_is_named(
    server_url: str, served: OpenAIGenerator
) -> None:
    assert served.context_window == 4096  # llama-cpp-python's server does not say; the default holds
    assert OpenAIGenerator(ServerSettings(server_url, ALIAS, context_window=2048)).context_window == 2048
    assert OpenAIGenerator(ServerSettings(server_url), fallback_context=8192).context_window == 8192
    larger = OpenAIGenerator(ServerSettings(server_url, ALIAS, context_window=8192))
    with pytest.raises(ServerError, match=r"has a 4096-token window.*--server-context 4096"):
        list(larger.stream([Message("user", "word " * 5000)], max_new_tokens=8))


class _StandIn(BaseHTTPRequestHandler):
    """Answers only the routes in `routes`, recording each request's path and Authorization header."""

    routes: ClassVar[dict[tuple[str, str], tuple[int, object]]] = {}
    seen: ClassVar[list[tuple[str, str | None]]] = []

    def _answer(self, method: str) -> None:
        self.seen.append((self.path, self.headers.get("Authorization")))
        if method == "POST":
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, body = self.routes.get((method, self.path), (404, {"error": "not found"}))
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stand_in() -> Iterator[tuple[str, type[_StandIn]]]:
    handler = type("Handler", (_StandIn,), {"routes": {}, "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", handler
    server.shutdown()
    server.server_close()


def _models(*ids: str, **extra: object) -> tuple[int, object]:
    return 200, {"object": "list", "data": [{"id": i, "object": "model", **extra} for i in ids]}


@pytest.mark.parametrize(
    ("routes", "window"),
    [
        ({("GET", "/v1/models"): _models("m", max_model_len=32768)}, 32768),  # vLLM
        ({("GET", "/props"): (200, {"default_generation_settings": {"n_ctx": 8192}})}, 8192),  # llama.cpp server
        ({("POST", "/api/show"): (200, {"parameters": "stop <|im_end|>\nnum_ctx 16384"})}, 16384),  # Ollama, set
        ({("POST", "/api/show"): (200, {"model_info": {"qwen2.context_length": 32768}})}, 4096),  # Ollama, default
        ({("GET", "/api/v0/models/m"): (200, {"id": "m", "max_context_length": 131072})}, 131072),  # LM Studio
        ({}, 4096),  # says nothing: the setting
    ],
)
def test_the_window_is_read_where_each_kind_of_server_says_it(
    stand_in: tuple[str, type[_StandIn]], routes: dict, window: int
) -> None:
    url, handler = stand_in
    handler.routes.update({("GET", "/v1/models"): _models("m"), **routes})
    generator = OpenAIGenerator(ServerSettings(url, "m"))
    assert generator.context_window == window
    assert generator.count_tokens("hello world") >= 2  # no tokenizer endpoint: estimated, on the high side


def test_a_remote_server_is_refused_before_any_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[object] = []
    monkeypatch.setattr(socket.socket, "connect", lambda _sock, address: attempts.append(address))
    for url in ("http://192.168.1.20:11434/v1", "http://models.example.com/v1", "https://[2001:db8::1]/v1"):
        with pytest.raises(ServerError, match="is not this machine, so questions and passages would leave it"):
            load_generator(backend="server", server=ServerSettings(url))
    assert attempts == []
    assert ServerSettings("http://localhost:1234/v1").is_local and ServerSettings("http://[::1]:8080/v1").is_local
    assert ServerSettings("http://127.0.0.2/v1").is_local and not ServerSettings("http://10.0.0.2/v1").is_local


def test_a_wrong_model_or_a_closed_port_is_one_clear_sentence(server_url: str) -> None:
    with pytest.raises(ServerError, match=f"has no model 'llama3' \\(it has {ALIAS}\\); choose one"):
        OpenAIGenerator(ServerSettings(server_url, "llama3"))
    closed = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(ServerError, match=r"no model server answers at 127\.0\.0\.1:\d+ \(connection refused\)"):
        OpenAIGenerator(ServerSettings(closed))
    assert OpenAIGenerator(ServerSettings(server_url)).name == ALIAS  # no name: the server's first model


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Store:
    store = Store(tmp_path_factory.mktemp("sample-library"))
    Indexer(store, embedder).run([SAMPLE])
    return store


def _cited_pages(answer: CitedAnswer) -> set[tuple[str, int]]:
    return {(Path(answer.sources[n].path).name, answer.sources[n].page) for n in answer.cited}


def test_a_cited_answer_through_the_server_cites_what_the_in_process_model_cites(
    served: OpenAIGenerator, sample_store: Store, embedder: Embedder
) -> None:
    question = "How often should I descale the Aurora 3?"
    answer = Answerer(sample_store, embedder, served).ask(question)
    assert not answer.refused and not answer.withheld, answer.text
    assert "200 cups" in answer.text or "two months" in answer.text
    assert ("aurora3-user-guide.pdf", 4) in _cited_pages(answer)
    in_process = Answerer(sample_store, embedder, load_generator("light", backend="llama.cpp")).ask(question)
    assert _cited_pages(answer) == _cited_pages(in_process)
    assert answer.model == ALIAS


class _MemoryKeyring(KeyringBackend):
    """A real keyring backend that keeps passwords in memory."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.passwords.pop((service, username), None)


@pytest.fixture
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[_MemoryKeyring]:
    monkeypatch.delenv(secrets.ENV_VAR, raising=False)
    previous = keyring.get_keyring()
    backend = _MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_the_key_is_kept_in_the_keyring_sent_to_the_server_and_never_saved_in_settings(
    qtbot: QtBot, tmp_path: Path, memory_keyring: _MemoryKeyring, stand_in: tuple[str, type[_StandIn]]
) -> None:
    url, handler = stand_in
    handler.routes[("GET", "/v1/models")] = _models("m")
    settings = QSettings(str(tmp_path / "footnotes.ini"), QSettings.Format.IniFormat)
    dialog = SettingsDialog(Settings(library=str(tmp_path), model=ModelSection(backend="server")))
    qtbot.addWidget(dialog)
    assert dialog.api_key.echoMode() == dialog.api_key.EchoMode.Password and dialog.server_url.isVisibleTo(dialog)
    dialog.server_url.setText(url)
    dialog.api_key.setText("sk-secret-4711")
    dialog.allow_remote.setChecked(False)
    dialog.accept()
    save_settings(settings, dialog.result_settings())
    settings.sync()

    assert memory_keyring.passwords == {("footnotes", url): "sk-secret-4711"}
    saved = (tmp_path / "footnotes.ini").read_text()
    assert "sk-secret-4711" not in saved and url in saved
    loaded = load_settings(settings).server
    assert loaded.allow_remote is False and loaded.connection() == ServerSettings(url, "", False, 0)  # stays false
    OpenAIGenerator(loaded.connection())
    assert ("/v1/models", "Bearer sk-secret-4711") in handler.seen
    assert {key for _path, key in handler.seen} == {"Bearer sk-secret-4711"}  # on every request


def test_a_refused_key_is_named_and_the_environment_overrides_the_keyring(
    monkeypatch: pytest.MonkeyPatch, memory_keyring: _MemoryKeyring, stand_in: tuple[str, type[_StandIn]]
) -> None:
    url, handler = stand_in
    handler.routes[("GET", "/v1/models")] = (401, {"error": {"message": "Invalid API key"}})
    secrets.save_api_key(url, "sk-stored")
    monkeypatch.setenv(secrets.ENV_VAR, "sk-from-env")
    with pytest.raises(ServerError, match=r"refused the request \(HTTP 401: Invalid API key\); set its API key"):
        OpenAIGenerator(ServerSettings(url))
    assert handler.seen[-1][1] == "Bearer sk-from-env"


def test_without_a_working_keyring_the_key_lasts_this_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(secrets.ENV_VAR, raising=False)
    previous = keyring.get_keyring()
    keyring.set_keyring(NoKeyring())
    try:
        assert secrets.save_api_key("http://127.0.0.1:9/v1", "sk-session") == secrets.SESSION_ONLY
        assert secrets.api_key("http://127.0.0.1:9/v1") == "sk-session"
        assert secrets.save_api_key("http://127.0.0.1:9/v1", "") is None
        assert secrets.api_key("http://127.0.0.1:9/v1") is None
    finally:
        keyring.set_keyring(previous)


def _server_settings(backend: str, server: ServerSettings) -> Settings:
    """The light model's settings with `backend` and the model server `server`."""
    section = ServerSection(server.url, server.model, server.context_window, server.allow_remote)
    return Settings(model=ModelSection("light", backend), server=section)


def test_the_status_bar_says_where_questions_go(qtbot: QtBot, tmp_path: Path) -> None:
    from app.core.engine import Engine
    from app.gui.window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    local = ServerSettings("http://127.0.0.1:11434/v1", "qwen2.5")
    engine = Engine(tmp_path / "lib", _server_settings("server", local))
    window = MainWindow(engine, settings)
    qtbot.addWidget(window)
    window.show()
    assert window.server_label.isVisible()
    assert window.server_label.text() == "Answers from qwen2.5 at 127.0.0.1:11434 (local server)"
    remote = ServerSettings("http://gpu-box.lan:8000/v1", "m", allow_remote=True)
    engine.apply(_server_settings("server", remote))
    window.model.show_server()
    assert window.server_label.text() == "Questions and passages are sent to gpu-box.lan:8000 (remote server)"
    assert "color" in window.server_label.styleSheet()
    engine.apply(_server_settings("auto", local))
    window.model.show_server()
    assert not window.server_label.isVisible()  # in-process: nothing leaves


def test_the_cli_names_a_refused_server_in_one_line(sample_store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    from app.main import main

    library = str(sample_store.folder)
    argv = ["--library", library, "ask", "How often?", "--backend", "server", "--server-url", "http://10.1.2.3:8000/v1"]
    assert main(argv) == 4
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error == (
        "footnotes: error: 10.1.2.3 is not this machine, so questions and passages would leave it; "
        "allow a remote server in Settings (or --allow-remote) to use it"
    )
