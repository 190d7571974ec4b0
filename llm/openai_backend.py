"""A model server that speaks the OpenAI API (Ollama, LM Studio, llama.cpp's server, vLLM) as a generator.

Only the standard library talks to the server: ``POST {url}/chat/completions`` streamed as server-sent
events, through `net` (shared with `indexer.remote_embedder`). The server is on this machine unless the
user allowed a remote one: a URL whose host is not loopback is refused before any connection is made.
Tokens are counted by the server's own tokenizer where it has an endpoint for it, else estimated on the
high side; the context window is read from the server where it says it, else taken from the user's
setting.
"""

from __future__ import annotations

import functools
import http.client
import json
import re
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, quote

import net
from llm.base import Generator, Halt, Message, _cut_at_stop
from llm.secrets import ENV_VAR, api_key
from usererrors import Todo, UserError

DEFAULT_URL = "http://127.0.0.1:11434/v1"
FALLBACK_CONTEXT = 4096
PROBE_TIMEOUT = 5.0
ANSWER_TIMEOUT = 300.0
"""Seconds to wait for a reply to start: a server may load the model on the first request."""
MAX_STOP = 4
"""Stop strings the OpenAI API accepts in one request; any more are cut here."""

CHAT_CONTROL_TOKENS = (
    "<|im_start|>", "<|im_end|>", "<|endoftext|>",  # ChatML (Qwen, Yi, many fine-tunes)
    "<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",  # Llama 3
    "[INST]", "[/INST]", "<s>", "</s>",  # Llama 2, Mistral
    "<start_of_turn>", "<end_of_turn>", "<bos>", "<eos>",  # Gemma
    "<|system|>", "<|user|>", "<|assistant|>", "<|end|>",  # Phi-3
)  # fmt: skip
"""The chat-template specials of the common model families: the server's model is not known here, so
document text is kept clear of all of them."""

_CONTEXT_ERROR = re.compile(r"(?:maximum context length is|context window of) (\d+)")
_PIECES = re.compile(r"\d|\w+|[^\w\s]")


class ServerError(UserError, ValueError):
    """A model server that is refused, cannot be reached or rejects a request; the message is one
    sentence for the user, and says what to do about the server."""


WORDING = net.Wording(
    error=ServerError,
    server="model server",
    url="server URL",
    example=DEFAULT_URL,
    leaves="questions and passages would leave it",
    allow="a remote server in Settings (or --allow-remote)",
    start="start it (for example: ollama serve) or correct the server URL",
    not_found="check the server URL (it usually ends in /v1) and the model name",
    key_variable=ENV_VAR,
)
"""How this module's refusals and failures are told (see `net.JsonClient`)."""


@dataclass(frozen=True)
class ServerSettings:
    """Where the model server is and what it may be sent."""

    url: str = DEFAULT_URL
    model: str = ""
    """The server's name of the model; empty: the first model the server lists."""
    allow_remote: bool = False
    """Allow a server on another machine, which then receives the questions and the passages."""
    context_window: int = 0
    """Tokens of context; 0: ask the server."""

    @property
    def host(self) -> str:
        """``host:port`` of the server, as the user reads it."""
        return net.host_of(self.url)

    @property
    def is_local(self) -> bool:
        """True when the server is on this machine (a loopback address)."""
        return net.is_local(self.url)


def check_url(settings: ServerSettings) -> SplitResult:
    """The parsed server URL, refused when malformed or when it leaves the machine without `allow_remote`."""
    return net.check_url(settings.url, settings.allow_remote, WORDING)


def estimate_tokens(text: str) -> int:
    """A count on the high side for a tokenizer not known here: a token per word, digit or mark, and
    never fewer than one per three bytes."""
    return max(len(_PIECES.findall(text)), -(-len(text.encode("utf-8")) // 3))


class OpenAIGenerator(Generator):
    """A model served over the OpenAI chat API; connects at once to check the server and the model."""

    backend = "server"
    device = "server"
    control_tokens = CHAT_CONTROL_TOKENS

    def __init__(self, settings: ServerSettings, fallback_context: int = FALLBACK_CONTEXT) -> None:
        self.settings = settings
        self._client = net.JsonClient(
            check_url(settings), api_key(settings.url), WORDING, PROBE_TIMEOUT, "application/json, text/event-stream"
        )
        self._listed: dict = {}
        self.name = self._choose_model(settings.model)
        self.context_window = settings.context_window or self._server_context() or fallback_context
        self._tokenizer = self._find_tokenizer()
        self._count = functools.lru_cache(maxsize=8192)(self._count_uncached)

    def describe(self) -> str:
        """Model @ host, whether the server is local, and the window."""
        where = "local server" if self.settings.is_local else "remote server: questions and passages leave this machine"
        return f"{self.name.rsplit('/', 1)[-1]} at {self.settings.host} ({where}), {self.context_window}-token context"

    def render(self, messages: Sequence[Message]) -> str:
        """A ChatML rendering, for budgeting only: the server applies the model's own template."""
        turns = "".join(f"<|im_start|>{m.role}\n{m.content}<|im_end|>\n" for m in messages)
        return turns + "<|im_start|>assistant\n"

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` by the server's tokenizer where it has one (cached), else a high estimate."""
        return self._count(text)

    def stream(
        self,
        messages: Sequence[Message],
        max_new_tokens: int = 512,
        temperature: float = 0.0,
        stop: Sequence[str] = (),
        cancel: threading.Event | None = None,
    ) -> Iterator[str]:
        """Stream the server's reply to the chat messages; stop strings go to the server and are cut here too."""
        halt = Halt(cancel)
        body: dict[str, object] = {
            "model": self.name,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": max_new_tokens,
            "temperature": temperature,
            "stream": True,
        }
        if stop:
            body["stop"] = list(stop)[:MAX_STOP]
        pieces = self._events("/chat/completions", body, halt, _delta_text)
        try:
            yield from _cut_at_stop(pieces, tuple(stop), halt) if stop else pieces
        finally:
            pieces.close()

    def stream_prompt(self, prompt: str, max_new_tokens: int, temperature: float, halt: Halt) -> Iterator[str]:
        """Stream the continuation of a rendered prompt from ``/completions``."""
        body = {"model": self.name, "prompt": prompt, "max_tokens": max_new_tokens, "temperature": temperature}
        yield from self._events("/completions", {**body, "stream": True}, halt, lambda choice: choice.get("text"))

    def _events(
        self, path: str, body: dict[str, object], halt: Halt, text_of: Callable[[dict], str | None]
    ) -> Iterator[str]:
        """The text of each server-sent event; the connection is closed as soon as `halt` is set."""
        try:
            connection, response = self._client.open("POST", self._client.base + path, body, ANSWER_TIMEOUT)
        except ServerError as exc:
            raise self._too_long(exc) or exc from exc.__cause__
        done = threading.Event()
        threading.Thread(target=_close_on_halt, args=(halt, done, connection), daemon=True).start()
        try:
            for data in _sse_data(response):
                if halt.is_set() or data == "[DONE]":
                    return
                event = json.loads(data)
                if isinstance(event, dict) and event.get("error"):
                    raise ServerError(
                        f"the model server at {self._client.host} stopped the answer: {net.error_detail(data.encode())}"
                    )
                for choice in event.get("choices") or []:
                    if text := text_of(choice):
                        yield text
        except (OSError, http.client.HTTPException) as exc:
            if not halt.is_set():
                raise self._client.unreachable(exc, ANSWER_TIMEOUT) from exc
            return
        finally:
            done.set()
            connection.close()
        if not halt.is_set():
            raise self._broken_off(path, body)

    def _broken_off(self, path: str, body: dict[str, object]) -> ServerError:
        """Why a stream ended without its end mark: llama-cpp-python's server ends a stream silently when the
        prompt passes its window, and says so only to a request that is not streamed (answered before any work)."""
        try:
            self._client.json("POST", self._client.base + path, {**body, "stream": False, "max_tokens": 1})
        except ServerError as exc:
            return self._too_long(exc) or exc
        return ServerError(f"the model server at {self._client.host} broke the answer off; its log says why")

    def _too_long(self, exc: ServerError) -> ServerError | None:
        """A clear sentence when the server says the prompt passes its window (and names the window)."""
        found = _CONTEXT_ERROR.search(str(exc))
        if not found:
            return None
        window = int(found.group(1))
        if window >= self.context_window:
            return ServerError(
                f"the prompt passes the {window}-token window of the model at {self._client.host}; "
                "ask a shorter question"
            )
        return ServerError(
            f"the model at {self._client.host} has a {window}-token window, smaller than the "
            f"{self.context_window} tokens planned for",
            Todo(
                f"set the server context to {window} (--server-context {window})",
                f"set the server context to {window} in Settings (Model server)",
            ),
        )

    def _choose_model(self, wanted: str) -> str:
        """The model to ask for: `wanted` when the server lists it (or lists nothing), else its first model."""
        listed = self._client.json("GET", self._client.base + "/models")
        models = [m for m in (listed.get("data") or []) if isinstance(m, dict)] if isinstance(listed, dict) else []
        ids = [str(m.get("id")) for m in models]
        name = wanted or (ids[0] if ids else "")
        if not name:
            raise ServerError(f"the model server at {self._client.host} lists no model; load one there, or name one")
        if ids and name not in ids and f"{name}:latest" not in ids:
            raise ServerError(
                f"the model server at {self._client.host} has no model '{name}' (it has {', '.join(ids[:5])}); "
                "choose one of those as the server model"
            )
        self._listed = next((m for m in models if m.get("id") in (name, f"{name}:latest")), {})
        return name

    def _server_context(self) -> int | None:
        """The window the server says it runs the model with, asking each kind of server in turn."""
        probes = (self._vllm_context, self._llamacpp_context, self._ollama_context, self._lmstudio_context)
        for probe in probes:
            if window := probe():
                return window
        return None  # llama-cpp-python's server says nothing of n_ctx (only when a prompt passes it)

    def _vllm_context(self) -> int | None:
        return _positive(self._listed.get("max_model_len"))

    def _llamacpp_context(self) -> int | None:
        props = self._client.probe("GET", self._client.root + "/props") or {}
        settings = props.get("default_generation_settings") or {}
        return _positive(settings.get("n_ctx") if isinstance(settings, dict) else None) or _positive(props.get("n_ctx"))

    def _ollama_context(self) -> int | None:
        shown = self._client.probe("POST", self._client.root + "/api/show", {"model": self.name}) or {}
        set_by_user = re.search(r"^num_ctx\s+(\d+)", str(shown.get("parameters") or ""), re.M)
        if set_by_user:
            return int(set_by_user.group(1))
        info = shown.get("model_info")
        lengths = [_positive(v) for k, v in info.items() if k.endswith(".context_length")] if info else []
        trained = next((n for n in lengths if n), None)
        # Ollama's OpenAI endpoint runs a model at its default num_ctx, not the length it was trained for.
        return min(trained, FALLBACK_CONTEXT) if trained else None

    def _lmstudio_context(self) -> int | None:
        model = self._client.probe("GET", f"{self._client.root}/api/v0/models/{quote(self.name, safe='')}") or {}
        return _positive(model.get("loaded_context_length")) or _positive(model.get("max_context_length"))

    def _find_tokenizer(self) -> Callable[[str], int | None] | None:
        """The server's tokenizer endpoint, when it has one: llama.cpp server, then llama-cpp-python's."""
        root = self._client.root

        def llamacpp(text: str) -> int | None:
            answer = self._client.probe("POST", root + "/tokenize", {"content": text, "add_special": False})
            tokens = (answer or {}).get("tokens")
            return len(tokens) if isinstance(tokens, list) else None

        def llama_cpp_python(text: str) -> int | None:
            answer = self._client.probe("POST", root + "/extras/tokenize", {"input": text, "model": self.name})
            tokens = (answer or {}).get("tokens")
            return len(tokens) - added if isinstance(tokens, list) else None

        if llamacpp("") is not None:
            return llamacpp
        added = 0
        empty = llama_cpp_python("")  # it adds the model's BOS token, if any: counted once and taken off
        if empty is not None:
            added = empty
            return llama_cpp_python
        return None

    def _count_uncached(self, text: str) -> int:
        counted = self._tokenizer(text) if self._tokenizer else None
        return counted if counted is not None else estimate_tokens(text)


def _delta_text(choice: dict) -> str | None:
    return (choice.get("delta") or {}).get("content")


def _positive(value: object) -> int | None:
    return value if isinstance(value, int) and value > 0 else None


def _sse_data(response: http.client.HTTPResponse) -> Iterator[str]:
    """The data of each server-sent event line."""
    while line := response.readline():
        text = line.decode("utf-8", "replace").strip()
        if text.startswith("data:"):
            yield text[5:].strip()


def _close_on_halt(halt: Halt, done: threading.Event, connection: http.client.HTTPConnection) -> None:
    """Shut the connection down when `halt` is set, so that a read waiting on the server returns at once."""
    while not done.wait(0.05):
        if halt.is_set():
            if connection.sock is not None:
                try:
                    connection.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            return
