"""The embedder the settings ask for: the bundled model (or a local model folder) on this machine, or an
OpenAI-compatible embeddings server, with its API key from the keyring (`llm.secrets`, which the indexer
may not import). The window, the CLI and the MCP server all load it here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.core.settings import EmbedderSection
from indexer.embedder import Embedder, EmbedderError, TextEmbedder
from indexer.remote_embedder import EmbeddingServer, RemoteEmbedder
from llm.secrets import api_key


def embedding_server(section: EmbedderSection) -> EmbeddingServer | None:
    """The embeddings server the section names, with its key; None for the local model."""
    url = section.url.strip()
    if not url:
        return None
    return EmbeddingServer(url, section.model.strip(), section.allow_remote, api_key(url))


def load_embedder(
    section: EmbedderSection, folder: Path | None = None, status: Callable[[str], None] | None = None
) -> TextEmbedder:
    """The server's embedder when the section names one, else the local model in `folder` (default: the
    bundled one); both at once is refused, as it is ambiguous which one the library should remember.
    `status` hears what it does (connecting to the server, or loading the model)."""
    if status is not None:
        status(f"Connecting to embeddings server {section.url}…" if section.is_remote else "Loading the embedder…")
    server = embedding_server(section)
    if server is None:
        return Embedder(folder)
    if folder is not None:
        raise EmbedderError(
            "a local embedding model (--embedder) and an embeddings server (--embedder-url) were both given",
            "give one of them",  # not the kind's advice: reinstalling would not help
        )
    return RemoteEmbedder(server)


def where_embedded(section: EmbedderSection) -> tuple[str, bool] | None:
    """The status bar's line when embeddings are not computed in this process, and whether passages
    leave the machine for them; None for the local model."""
    url = section.url.strip()
    if not url:
        return None
    server = EmbeddingServer(url, section.model.strip(), section.allow_remote)  # no key: nothing is sent
    model = server.model or "the server's model"
    if server.is_local:
        return f"Embeddings from {model} at {server.host} (local server)", False
    return f"Passages are sent to {server.host} to be embedded (remote server)", True
