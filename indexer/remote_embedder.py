"""Embeddings from an OpenAI-compatible embeddings endpoint (llama.cpp's server, vLLM, text-embeddings-inference).

A team that embeds millions of pages on a GPU box points Footnotes at it: ``POST {url}/embeddings`` with
``{"model": ..., "input": [texts]}``, the vectors read from ``data[i].embedding``. Only the standard library
talks to the server, through `net` (shared with `llm.openai_backend`, which the indexer may not import).
The server is on this machine unless the user allowed a remote one: a URL whose host is not loopback is
refused before any connection is made. The API key, if any, is handed in by the app, which keeps it in
the keyring.

Tokens for chunking: chunks are cut with the bundled all-MiniLM-L6-v2 WordPiece tokenizer, as an estimate
of the server model's tokenizer. The servers' tokenize endpoints were not used: llama.cpp's and vLLM's
give token ids without character offsets (the chunker needs spans), and a round trip per page would slow
the reader. The margin: chunks are at most 256 estimated tokens (200 by default), and English text gives
a BPE or SentencePiece tokenizer about as many tokens as WordPiece, well inside the 512-token window of
the common embedding models and of llama.cpp's default batch; what passes a server's limit is cut by the
server (llama.cpp, TEI with --auto-truncate) or refused with a message that says so.

The library records this embedder as ``<model> @ <url>`` with its dimension, so a library built through
one server is never searched with another model's vectors (see `indexer.store.LibraryStore.bind_embedder`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult

import numpy as np

import net
from indexer.embedder import EmbedderError, default_model_path, token_spans_of
from usererrors import Todo

EXAMPLE_URL = "http://127.0.0.1:8080/v1"
BATCH_SIZE = 32
"""Texts per request: text-embeddings-inference refuses more than 32 by default (--max-client-batch-size)."""
RETRIES = 5
"""Further tries of a request the server answers 429 or 503 (busy, loading the model)."""
BACKOFF = 0.5
"""Seconds before the first retry, doubled for each next one (a Retry-After from the server wins)."""
MAX_WAIT = 30.0
TIMEOUT = 120.0
"""Seconds to wait for one batch: a server may load the model on the first request."""
ESTIMATED_WINDOW = 512
"""The `max_tokens` reported: the window of the common embedding models (the server does not say)."""
PROBE_TEXT = "Footnotes asks for the dimension of this model."


class EmbeddingsServerError(EmbedderError):
    """The embeddings server refused, cannot be reached, or answered something else than vectors: each
    raise says what to do about the server (reinstalling Footnotes, the bundled model's advice, would not help)."""

    advice = None


WORDING = net.Wording(
    error=EmbeddingsServerError,
    server="embeddings server",
    url="embeddings server URL",
    example=EXAMPLE_URL,
    leaves="every passage would leave it to be embedded",
    allow="a remote embeddings server in Settings (or --embedder-allow-remote)",
    start="start it or correct the embeddings server URL (in Settings, or --embedder-url)",
    not_found="check the URL (it usually ends in /v1) and the model name; the server must serve embeddings",
    key_variable="FOOTNOTES_API_KEY",
    other="; its log says why",
)
"""How this module's refusals and failures are told (see `net.JsonClient`)."""


@dataclass(frozen=True)
class EmbeddingServer:
    """Where the embeddings server is, which model it should use, and what it may be sent."""

    url: str
    """The base URL, usually ending in ``/v1``."""
    model: str = ""
    """The server's name of the model; empty: the first model the server lists."""
    allow_remote: bool = False
    """Allow a server on another machine, which then receives every passage and question."""
    api_key: str | None = None

    @property
    def host(self) -> str:
        """``host:port`` of the server, as the user reads it."""
        return net.host_of(self.url)

    @property
    def is_local(self) -> bool:
        """True when the server is on this machine (a loopback address)."""
        return net.is_local(self.url)


def check_url(server: EmbeddingServer) -> SplitResult:
    """The parsed URL, refused when malformed or when it leaves the machine without `allow_remote`."""
    return net.check_url(server.url, server.allow_remote, WORDING)


class _Client(net.JsonClient):
    """JSON over HTTP to the embeddings server (`net.JsonClient`), with paths below its base URL and one
    more sentence: passages the server refuses."""

    def __init__(self, parts: SplitResult, key: str | None, sleep: Callable[[float], None]) -> None:
        super().__init__(parts, key, WORDING, TIMEOUT, retries=net.Retries(RETRIES, BACKOFF, MAX_WAIT), sleep=sleep)

    def call(self, method: str, path: str, body: object | None = None) -> object:
        """The decoded answer to a request for `path` below the base URL; a busy server is tried again."""
        return self.json(method, self.base + path, body, name=path)

    def refused(self, status: int, detail: str, path: str) -> Exception:
        if status in (400, 413, 422) and path.endswith("/embeddings"):
            said = f": {detail}" if detail else ""
            return EmbeddingsServerError(
                f"the embeddings server at {self.host} refused the passages (HTTP {status}{said})",
                Todo(
                    "if they are too long for it, choose a smaller chunk size (--chunk-tokens) or raise its batch size",
                    "if they are too long for it, choose a smaller chunk size in Settings or raise its batch size",
                ),
            )
        return super().refused(status, detail, path)


class RemoteEmbedder:
    """An embeddings server used like the local `indexer.embedder.Embedder`: ``embed`` gives (n, dim)
    float32 unit vectors. Connects at once to check the server and the model and to learn the dimension."""

    backend = "server"

    def __init__(
        self, server: EmbeddingServer, batch_size: int = BATCH_SIZE, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.server = server
        parts = check_url(server)
        self._client = _Client(parts, server.api_key, sleep)
        self.batch_size = max(1, batch_size)
        self.model = self._choose_model(server.model.strip())
        self.url = f"{parts.scheme}://{self._client.host}{self._client.base}"
        self.name = f"{self.model} @ {self.url}"
        """What the library records: the model and where it runs (see `indexer.store.LibraryStore.bind_embedder`)."""
        self.device = f"server {self._client.host}"
        self.max_tokens = ESTIMATED_WINDOW
        self.dim = 0
        self.dim = int(self._request([PROBE_TEXT]).shape[1])

    def describe(self) -> str:
        """The model, the host, and whether passages leave this machine."""
        where = "this machine" if self.server.is_local else "another machine: passages and questions leave this one"
        return f"{self.model} at {self._client.host} ({where})"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages as an (n, dim) float32 array of unit vectors, `batch_size` texts per request."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [self._request(texts[i : i + self.batch_size]) for i in range(0, len(texts), self.batch_size)]
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)

    def token_spans_factory(self) -> Callable[[str], list[tuple[int, int]]]:
        """The bundled MiniLM tokenizer's span function: an estimate of the server model's tokens (see the
        module's docstring for the margin)."""
        return token_spans_of(default_model_path())

    def _request(self, texts: Sequence[str]) -> np.ndarray:
        """One batch: sent, checked (count, dimension) and normalised."""
        answer = self._client.call("POST", "/embeddings", {"model": self.model, "input": list(texts)})
        rows = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(rows, list) or len(rows) != len(texts):
            raise EmbeddingsServerError(
                f"the embeddings server at {self._client.host} answered {len(rows or [])} vectors "
                f"for {len(texts)} passages",
                "check that its URL is an OpenAI-compatible embeddings endpoint",
            )
        ordered = sorted(rows, key=lambda row: row.get("index", 0) if isinstance(row, dict) else 0)
        pooled = [_pooled(row.get("embedding") if isinstance(row, dict) else None) for row in ordered]
        sizes = {len(vector) for vector in pooled}
        if len(sizes) > 1 or (self.dim and sizes != {self.dim}):
            raise EmbeddingsServerError(
                f"the embeddings server at {self._client.host} now gives {max(sizes)}-dimensional vectors, "
                f"not {self.dim or min(sizes)}: its model changed",
                "restore that model, or restart Footnotes",
            )
        vectors = np.stack(pooled)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        if not np.all(np.isfinite(vectors)) or np.any(norms == 0):
            raise EmbeddingsServerError(
                f"the embeddings server at {self._client.host} gave an empty or broken vector", "check its model"
            )
        return (vectors / norms).astype(np.float32)

    def _choose_model(self, wanted: str) -> str:
        """`wanted` when the server lists it (or lists nothing), else refused; empty: its first model."""
        return choose_model(self._client.host, wanted, _model_ids(self._client.call("GET", "/models")))


def listed_models(server: EmbeddingServer, timeout: float) -> list[str]:
    """The models the server lists (``GET /models``), asked once within `timeout` seconds and not again
    when busy: a quick look that it answers (``footnotes doctor``). A remote host without `allow_remote`
    is refused before any connection, as `RemoteEmbedder` refuses it; `EmbedderError` says why."""
    client = net.JsonClient(check_url(server), server.api_key, WORDING, timeout)
    return _model_ids(client.json("GET", client.base + "/models", name="/models"))


def choose_model(host: str, wanted: str, ids: list[str]) -> str:
    """`wanted` when the server at `host` lists it (or lists nothing), else refused; empty: its first model."""
    name = wanted or (ids[0] if ids else "")
    if not name:
        raise EmbeddingsServerError(
            f"the embeddings server at {host} lists no model",
            Todo("name one with --embedder-model", "name one in Settings (Embeddings)"),
        )
    if ids and name not in ids and f"{name}:latest" not in ids:
        raise EmbeddingsServerError(
            f"the embeddings server at {host} has no model '{name}' (it has {', '.join(ids[:5])})",
            Todo("choose one of those (--embedder-model)", "choose one of those in Settings (Embeddings)"),
        )
    return name


def _model_ids(listed: object) -> list[str]:
    """The model names of an OpenAI ``/models`` answer."""
    models = listed.get("data") if isinstance(listed, dict) else None
    return [str(m.get("id")) for m in models or [] if isinstance(m, dict)]


def _pooled(embedding: object) -> np.ndarray:
    """One vector: as given, or the mean of per-token vectors (llama.cpp serving a model without pooling)."""
    try:
        array = np.asarray(embedding, dtype=np.float64)
    except (TypeError, ValueError):
        array = np.zeros(0)
    if array.ndim == 2 and array.shape[0] > 0:
        array = array.mean(axis=0)  # a generative model answers one vector per token: their mean
    if array.ndim != 1 or array.size == 0:
        raise EmbeddingsServerError(
            "the embeddings server answered something that is not a vector",
            "check that its URL is an embeddings endpoint",
        )
    return array
