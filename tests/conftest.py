"""Shared fixtures: the real embedder, PDFs made on the spot, and the Debian FAQ library."""

from __future__ import annotations

import atexit
import contextlib
import ipaddress
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The suite never writes to the user's own log folder; the one it makes is removed when it ends (a folder
# left per run adds up on the disk CI runs on).
if "FOOTNOTES_LOG_DIR" not in os.environ:
    os.environ["FOOTNOTES_LOG_DIR"] = tempfile.mkdtemp(prefix="footnotes-test-logs-")
    atexit.register(shutil.rmtree, os.environ["FOOTNOTES_LOG_DIR"], ignore_errors=True)

from indexer.embedder import Embedder
from indexer.indexer import Indexer
from indexer.store import Store
from llm.base import Generator
from llm.loader import load_generator, resolve_model
from llm.openai_backend import OpenAIGenerator, ServerSettings

SERVER_ALIAS = "qwen2.5-coder-0.5b"
"""The name the test model server gives the light model."""


def is_loopback(address: object) -> bool:
    """True for a loopback (or local Unix socket) address; the only kind tests may connect to."""
    if not isinstance(address, tuple):
        return True  # AF_UNIX paths stay on this machine
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _offline_connect(self: socket.socket, address: object) -> None:
    if not is_loopback(address):
        raise OSError(f"Footnotes tests run offline: refused a connection to {address!r}")
    _real_connect(self, address)


def _offline_connect_ex(self: socket.socket, address: object) -> int:
    if not is_loopback(address):
        raise OSError(f"Footnotes tests run offline: refused a connection to {address!r}")
    return _real_connect_ex(self, address)


# Nothing in the suite may reach the network: every non-loopback connection fails the test that made it.
socket.socket.connect = _offline_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _offline_connect_ex  # type: ignore[method-assign]

EVAL_DIR = Path(os.environ.get("FOOTNOTES_EVAL_DIR") or Path(__file__).resolve().parents[2] / "shared" / "eval")
FAQ_DIR = EVAL_DIR / "debian-faq"
FAQ_PDF = FAQ_DIR / "debian-faq.en.pdf"
FAQ_QUESTIONS = FAQ_DIR / "questions.jsonl"
MISSING_FAQ = (
    f"the Debian FAQ evaluation set is not at {FAQ_DIR}: it lies beside the repository (../shared/eval), "
    "or where FOOTNOTES_EVAL_DIR says; CI has it"
)


def faq_file(path: Path) -> Path:
    """A file of the Debian FAQ evaluation set; the test is skipped, saying why, where the set is absent
    (a clone on a user's machine has only the repository)."""
    if not path.exists():
        pytest.skip(MISSING_FAQ)
    return path


def make_pdf(path: Path, pages: list[str], *, image_only: bool = False) -> Path:
    """Write a PDF with one page per string (wrapped lines), or pages of shapes and no text."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=A4)
    for text in pages:
        if image_only:
            pdf.rect(72, 400, 300, 200, fill=1)
        else:
            y = 800
            for paragraph in text.split("\n"):
                for line in textwrap.wrap(paragraph, 90) or [""]:
                    pdf.drawString(50, y, line)
                    y -= 14
        pdf.showPage()
    pdf.save()
    return path


def encrypt_pdf(source: Path, target: Path, user_password: str, owner_password: str = "owner") -> Path:
    """Write an AES-encrypted copy of a PDF."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(str(source)))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="AES-256")
    with open(target, "wb") as handle:
        writer.write(handle)
    return target


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The bundled all-MiniLM-L6-v2, loaded once."""
    return Embedder()


@pytest.fixture(scope="session")
def generator() -> Generator:
    """The bundled light model (Qwen2.5-Coder-0.5B-Instruct) on transformers, loaded once."""
    return load_generator("light", backend="transformers")


@pytest.fixture(scope="session")
def faq_library(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Store:
    """A library holding the Debian FAQ PDF, indexed once per test session."""
    faq_file(FAQ_PDF)
    store = Store(tmp_path_factory.mktemp("faq-library"))
    Indexer(store, embedder).run([FAQ_PDF])
    return store


@pytest.fixture(scope="session")
def pg_server() -> Iterator[object]:
    """A PostgreSQL 16 server with pgvector in a private folder, listening on a Unix socket only."""
    try:
        import pgserver
        import psycopg  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"the PostgreSQL half needs pgserver and psycopg (pip install -e '.[dev]'): {exc}")
    folder = tempfile.mkdtemp(prefix="fn-pg-")  # short: a Unix socket path must fit in 107 bytes
    try:
        server = pgserver.get_server(folder, cleanup_mode="stop")
    except Exception as exc:  # noqa: BLE001 - any failure to start means: no PostgreSQL here
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"could not start a local PostgreSQL with pgserver: {exc}")
    yield server
    server.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


_databases = itertools.count()


def new_database(server: object) -> str:
    """A fresh, empty database on the server; its URL."""
    import psycopg

    name = f"library_{os.getpid()}_{next(_databases)}"
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server.get_uri(name)


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def llama_server(alias: str, n_ctx: int, *extra: str) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server on the light model, on a free loopback port; yields its
    ``/v1`` URL once it answers, and stops it afterwards."""
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(resolve_model("light"))]
    command += ["--model_alias", alias, "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx), *extra]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {process.returncode}")
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)  # polling for the server to come up, not a timed assertion
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """The server for the LLM tests, started once for the session."""
    with llama_server(SERVER_ALIAS, 4096) as url:
        yield url


@pytest.fixture(scope="session")
def served(server_url: str) -> OpenAIGenerator:
    """The server backend connected to `server_url`."""
    return OpenAIGenerator(ServerSettings(server_url, SERVER_ALIAS))


def send_json(handler: object, status: int, answer: object, headers: dict[str, str] | None = None) -> None:
    """Answer a stand-in HTTP server's request (`handler`: a BaseHTTPRequestHandler) with `answer` as JSON."""
    data = json.dumps(answer).encode()
    handler.send_response(status)
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
