"""Talking to a server over HTTP, and the rule that keeps it on this machine: one copy for both kinds of server.

The model server (`llm.openai_backend`) and the embeddings server (`indexer.remote_embedder`) are reached
the same way: a URL that is refused before any connection is made when its host is not loopback and the
user has not allowed a remote server, then JSON over HTTP with an API key, a timeout, and every failure
told in one sentence. The layering forbids `indexer` and `llm` to import each other, so this package sits
below both; it uses only the standard library and imports nothing of ours (`tests/test_layers.py`).

What differs between the two servers is only the wording (`Wording`: what the server is called, what
leaves the machine, which flag allows it) and whether a busy server is tried again (`Retries`).
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit


@dataclass(frozen=True)
class Wording:
    """How the refusals and failures of one kind of server are told to the user."""

    error: type[Exception]
    """Raised for every refusal and failure; its message is one sentence for the user."""
    server: str
    """What the server is called: ``model server``."""
    url: str
    """What the user corrects: ``server URL``."""
    example: str
    """A URL that works, given when one is malformed."""
    leaves: str
    """What a remote server would receive: ``questions and passages would leave it``."""
    allow: str
    """Where a remote server is allowed: ``a remote server in Settings (or --allow-remote)``."""
    start: str
    """What to do when nothing answers: ``start it (for example: ollama serve) or correct the server URL``."""
    not_found: str
    """What to check after an HTTP 404."""
    key_variable: str
    """The environment variable that holds an API key."""
    other: str = ""
    """Said after any other HTTP error, such as ``; its log says why``."""


@dataclass(frozen=True)
class Retries:
    """How often a server that answers 429 or 503 (busy, loading the model) is tried again."""

    times: int = 0
    """Further tries; 0: none."""
    backoff: float = 0.5
    """Seconds before the first retry, doubled for each next one (a Retry-After from the server wins)."""
    max_wait: float = 30.0
    """The longest pause between two tries."""


NO_RETRIES = Retries()


def host_of(url: str) -> str:
    """``host:port`` of a URL, as the user reads it (without any user name or password)."""
    return urlsplit(url).netloc.rpartition("@")[2]


def is_local(url: str) -> bool:
    """True when the URL's host is this machine (a loopback address)."""
    return is_loopback(urlsplit(url).hostname or "")


def is_loopback(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ::1; names are not resolved, so nothing is asked of the network."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, allow_remote: bool, wording: Wording) -> SplitResult:
    """The parsed URL, refused when malformed or when it leaves the machine without `allow_remote`."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        article = "an" if wording.url[:1] in "aeiou" else "a"
        raise wording.error(f"'{url}' is not {article} {wording.url}; give one like {wording.example}")
    if not allow_remote and not is_loopback(parts.hostname):
        raise wording.error(
            f"{parts.hostname} is not this machine, so {wording.leaves}; allow {wording.allow} to use it"
        )
    return parts


class JsonClient:
    """JSON over HTTP to one server, each failure turned into the wording's error."""

    def __init__(
        self,
        parts: SplitResult,
        key: str | None,
        wording: Wording,
        timeout: float,
        accept: str = "application/json",
        retries: Retries = NO_RETRIES,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.parts = parts
        self.host = parts.netloc.rpartition("@")[2]
        self.base = parts.path.rstrip("/")
        self.root = self.base.removesuffix("/v1")
        self.wording = wording
        self.timeout = timeout
        self.retries = retries
        self.sleep = sleep
        self.headers = {"Content-Type": "application/json", "Accept": accept}
        if key:
            self.headers["Authorization"] = f"Bearer {key}"

    def open(
        self, method: str, path: str, body: object | None = None, timeout: float | None = None, name: str = ""
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Send a request; the open connection and its response, or the wording's error for an HTTP error.
        A busy server (429, 503) is tried again as `retries` says. `name`: the path as messages give it."""
        timeout = self.timeout if timeout is None else timeout
        wait = self.retries.backoff
        for attempt in range(self.retries.times + 1):
            connection, response = self._send(method, path, body, timeout)
            if response.status < 400:
                return connection, response
            try:
                detail = error_detail(response.read())
            except (OSError, http.client.HTTPException) as exc:
                raise self.unreachable(exc, timeout) from exc
            finally:
                connection.close()
            if response.status not in (429, 503) or attempt == self.retries.times:
                raise self.refused(response.status, detail, name or path)
            after = _retry_after(response.getheader("Retry-After"))
            self.sleep(min(wait if after is None else after, self.retries.max_wait))
            wait *= 2
        raise AssertionError("unreachable")  # the loop returns or raises

    def json(
        self, method: str, path: str, body: object | None = None, timeout: float | None = None, name: str = ""
    ) -> object:
        """The decoded JSON answer to one request."""
        timeout = self.timeout if timeout is None else timeout
        connection, response = self.open(method, path, body, timeout, name)
        try:
            return json.loads(response.read())
        except (OSError, http.client.HTTPException) as exc:
            raise self.unreachable(exc, timeout) from exc
        except ValueError as exc:
            raise self.wording.error(
                f"the {self.wording.server} at {self.host} did not answer {name or path} in JSON; check the URL"
            ) from exc
        finally:
            connection.close()

    def probe(self, method: str, path: str, body: object | None = None) -> dict | None:
        """The JSON object a server may have at `path`, or None where it has not (any failure)."""
        try:
            answer = self.json(method, path, body)
        except self.wording.error:
            return None
        return answer if isinstance(answer, dict) else None

    def unreachable(self, exc: BaseException, timeout: float) -> Exception:
        """The sentence for a server that cannot be reached or stops answering."""
        server, error = self.wording.server, self.wording.error
        if isinstance(exc, TimeoutError):
            return error(
                f"the {server} at {self.host} did not answer within {timeout:.0f} s; "
                "check that it is running and not overloaded"
            )
        if isinstance(exc, ConnectionRefusedError):
            return error(f"no {server} answers at {self.host} (connection refused); {self.wording.start}")
        if isinstance(exc, socket.gaierror):
            return error(f"cannot find the host {self.parts.hostname}; check the {self.wording.url}")
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return error(f"cannot reach the {server} at {self.host} ({reason}); check that it runs")

    def refused(self, status: int, detail: str, path: str) -> Exception:
        """The sentence for an HTTP error status."""
        server, error = self.wording.server, self.wording.error
        said = f": {detail}" if detail else ""
        if status in (401, 403):
            return error(
                f"the {server} at {self.host} refused the request (HTTP {status}{said}); "
                f"set its API key in Settings or in {self.wording.key_variable}"
            )
        if status == 404:
            return error(
                f"the {server} at {self.host} has no {path} or no such model (HTTP 404{said}); {self.wording.not_found}"
            )
        return error(f"the {server} at {self.host} answered HTTP {status}{said}{self.wording.other}")

    def _send(
        self, method: str, path: str, body: object | None, timeout: float
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        kind = http.client.HTTPSConnection if self.parts.scheme == "https" else http.client.HTTPConnection
        connection = kind(self.parts.hostname, self.parts.port, timeout=timeout)
        data = None if body is None else json.dumps(body).encode("utf-8")
        try:
            connection.request(method, path, body=data, headers=self.headers)
            return connection, connection.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise self.unreachable(exc, timeout) from exc


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value or ""))
    except ValueError:
        return None


def error_detail(body: bytes) -> str:
    """The message of an error body, in the shapes the common servers use, shortened."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return " ".join(text.split())[:200]
    error = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(error, dict):
        error = error.get("message") or error.get("detail") or error
    return " ".join(str(error).split())[:200]
