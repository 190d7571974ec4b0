"""`footnotes doctor`: one fact per line about this installation and the library, exit 1 only when
something essential is missing."""

from __future__ import annotations

import platform
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import free_port, make_pdf, send_json

from app.core.logs import LOG_FILE
from app.main import main


@pytest.fixture(autouse=True)
def log_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test of this module logs into its own folder."""
    folder = tmp_path / "logs"
    monkeypatch.setenv("FOOTNOTES_LOG_DIR", str(folder))
    return folder


def _lines(out: str, topic: str) -> list[str]:
    return [line for line in out.splitlines() if line[8:].startswith(topic)]


def test_doctor_reports_the_installation_and_the_library_health(
    tmp_path: Path, log_in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    make_pdf(docs / "boat.pdf", ["Hull maintenance schedule.", "The bilge pump must be tested every spring."])
    make_pdf(docs / "sails.pdf", ["Sails are stored dry."])
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf")
    library = str(tmp_path / "lib")
    assert main(["index", str(docs), "--library", library, "--quiet"]) == 0
    (docs / "sails.pdf").unlink()
    capsys.readouterr()

    assert main(["doctor", "--library", library]) == 0
    out = capsys.readouterr().out

    assert _lines(out, "Python") == [_lines(out, "Python")[0]]
    assert _lines(out, "Python")[0].startswith(f"OK      Python         {platform.python_version()} (")
    backends = _lines(out, "Backends")
    assert any(line.startswith("OK") and "transformers " in line for line in backends)
    assert any(line.startswith("INFO") and "auto picks " in line for line in backends)
    kernels = [line for line in backends if "llama.cpp kernels: " in line]
    assert len(kernels) == 1 and ("AVX2" in kernels[0] or "NEON" in kernels[0])
    assert any("pinned SHA-256 " in line for line in _lines(out, "Model"))
    assert _lines(out, "Embedder")[0].startswith("OK      Embedder       all-MiniLM-L6-v2")
    assert _lines(out, "Log")[0].startswith(f"OK      Log            {log_in_tmp / LOG_FILE} (")
    library_lines = _lines(out, "Library")
    assert f"{library}: 2 file(s) indexed, 1 failed, 3 pages" in library_lines[0]
    assert "OK      Library        integrity check passed" in library_lines
    assert any(line.startswith("WARN") and "1 stale entry" in line for line in library_lines)
    assert out.rstrip().endswith("Nothing essential is missing.")


def test_doctor_fails_when_the_embedder_is_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no-model"
    assert main(["doctor", "--embedder", str(missing), "--library", str(tmp_path / "none")]) == 1
    out = capsys.readouterr().out
    assert f"MISSING Embedder       no sentence-transformers model in {missing}; fix --embedder" in out
    assert f"INFO    Library        none yet at {tmp_path / 'none'}" in out
    assert not (tmp_path / "none").exists()
    assert out.rstrip().endswith("1 essential problem(s) found.")


class _Models(BaseHTTPRequestHandler):
    """A stand-in embeddings server: it lists one model."""

    def do_GET(self) -> None:
        send_json(self, 200, {"data": [{"id": "mini"}]})

    def log_message(self, *_args: object) -> None:
        pass


def test_doctor_looks_at_the_store_and_the_embeddings_server_it_is_pointed_at(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, embeddings = free_port(), free_port()
    url = f"http://127.0.0.1:{embeddings}/v1"
    argv = ["doctor", "--store", f"postgresql://footnotes:secret@127.0.0.1:{store}/team", "--embedder-url", url]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert _lines(out, "Embeddings") == [
        f"OK      Embeddings     server {url} is on this machine (loopback)",
        f"MISSING Embeddings     no embeddings server answers at 127.0.0.1:{embeddings} (connection refused); "
        "start it or correct the embeddings server URL (in Settings, or --embedder-url)",
    ]
    [library] = _lines(out, "Library")
    shown = f"postgresql://footnotes@127.0.0.1:{store}/team"  # the password left out
    assert library.startswith(f"MISSING Library        cannot reach the library database at {shown}: ")
    assert "secret" not in out and "check that the server runs and the --store URL" in library
    assert out.rstrip().endswith("2 essential problem(s) found.")

    remote = ["doctor", "--library", str(tmp_path / "none"), "--embedder-url", "http://192.0.2.7:8080/v1"]
    assert main(remote) == 1  # refused before any connection, as the app refuses it
    assert _lines(capsys.readouterr().out, "Embeddings") == [
        "MISSING Embeddings     192.0.2.7 is not this machine, so every passage would leave it to be embedded; "
        "allow a remote embeddings server in Settings (or --embedder-allow-remote) to use it"
    ]
    assert main([*remote, "--embedder-allow-remote"]) == 1  # tried: the suite refuses it, so it cannot be reached
    allowed = _lines(capsys.readouterr().out, "Embeddings")
    assert allowed[0].startswith("WARN    Embeddings     server http://192.0.2.7:8080/v1 is another machine")
    assert "so your documents leave this machine" in allowed[0]
    assert allowed[1].startswith("MISSING Embeddings     cannot reach the embeddings server at 192.0.2.7:8080 (")


def test_doctor_says_an_embeddings_server_answers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Models)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        assert main(["doctor", "--library", str(tmp_path / "none"), "--embedder-url", url]) == 0
    finally:
        server.shutdown()
        server.server_close()
    assert _lines(capsys.readouterr().out, "Embeddings")[1] == (
        f"OK      Embeddings     the server at 127.0.0.1:{server.server_address[1]} answers; model mini (it lists mini)"
    )
