"""The reference backend: transformers + torch, from a Hugging Face folder or a GGUF file.

A GGUF file is de-quantised into torch weights once (a minute or more) and the result is cached as
safetensors under the model cache, so later starts load in seconds.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from llm.base import Generator, Halt, Message, normalised
from llm.device import choose_device, choose_dtype

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def converted_dir(gguf: Path, cache: Path) -> Path:
    """Where the torch weights converted from a GGUF file are cached (keyed by name, size, mtime)."""
    stat = gguf.stat()
    key = hashlib.sha256(f"{gguf.name}:{stat.st_size}:{int(stat.st_mtime)}".encode()).hexdigest()[:16]
    return cache / "torch" / f"{gguf.stem}-{key}"


def convert_gguf(gguf: Path, target: Path) -> Path:
    """De-quantise a GGUF file into a transformers folder (safetensors + tokenizer), atomically.

    Each converter writes its own partial folder, so two processes converting the same model at once
    (the window and a CLI, or parallel tests) both succeed: the first rename wins, the second finds the
    finished folder and discards its copy."""
    import tempfile

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if (target / "config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f"{target.name}.partial*"):  # left by a converter that was killed
        if time.time() - stale.stat().st_mtime > 3600:
            shutil.rmtree(stale, ignore_errors=True)
    partial = Path(tempfile.mkdtemp(prefix=f"{target.name}.partial-", dir=target.parent))
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    # A GGUF-loaded model refuses save_pretrained(): rebuild it from its config, without weights of its
    # own (on the meta device), and give it the loaded ones, not a copy (the copy made the peak 5.4 GB).
    with torch.device("meta"):
        rebuilt = AutoModelForCausalLM.from_config(loaded.config)
    rebuilt.load_state_dict(loaded.state_dict(), assign=True)
    rebuilt.save_pretrained(str(partial), safe_serialization=True)
    tokenizer.save_pretrained(str(partial))
    del loaded, rebuilt
    _return_freed_memory()  # the de-quantised copies: 2.4 GB resident after the light model's conversion
    try:
        os.replace(partial, target)
    except OSError:
        if not (target / "config.json").exists():
            raise
        shutil.rmtree(partial, ignore_errors=True)  # another process finished first
    return target


def _return_freed_memory() -> None:
    """Hand the memory freed by a conversion back to the system: glibc keeps the heap that the GGUF's
    de-quantised arrays filled, so the process stayed 2.4 GB larger for the rest of its life
    (`bench/memory_bench.py`, light model, first use). Elsewhere (no glibc) the allocator decides."""
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    name = ctypes.util.find_library("c")
    if name is None:
        return
    try:
        ctypes.CDLL(name).malloc_trim(0)
    except (OSError, AttributeError):  # a C library without malloc_trim (musl, macOS)
        pass


class TransformersGenerator(Generator):
    """A causal LM run by transformers on CUDA, MPS or the CPU, streamed from a worker thread."""

    backend = "transformers"

    def __init__(self, model: Path, cache: Path, device: str = "auto", context_window: int = 4096) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        folder = convert_gguf(model, converted_dir(model, cache)) if model.suffix.lower() == ".gguf" else model
        self.device = choose_device(device)
        self.name = model.stem if model.is_file() else model.name
        self._torch = torch
        self._tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        self._model = AutoModelForCausalLM.from_pretrained(
            str(folder), dtype=choose_dtype(self.device), local_files_only=True
        ).to(self.device)
        self._model.eval()
        trained = int(getattr(self._model.config, "max_position_embeddings", context_window) or context_window)
        self.context_window = min(context_window, trained)
        self.control_tokens = tuple(t for t in self._tokenizer.all_special_tokens if t) + tuple(
            str(t)
            for t in getattr(self._tokenizer, "added_tokens_decoder", {}).values()
            if getattr(t, "special", False)
        )

    def render(self, messages: Sequence[Message]) -> str:
        """Apply the tokenizer's chat template."""
        return self._tokenizer.apply_chat_template(
            [{"role": m.role, "content": m.content} for m in messages], tokenize=False, add_generation_prompt=True
        )

    def parameters(self) -> int | None:
        """The model's weight count."""
        return sum(p.numel() for p in self._model.parameters())

    def choice_probabilities(self, prompt: str, options: Sequence[str]) -> dict[str, float] | None:
        """One forward pass over the prompt; the next-token logits of each option's first token."""
        inputs = self._tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(self.device)
        with self._torch.inference_mode():
            logits = self._model(**inputs).logits[0, -1]
        first = [self._tokenizer(option, add_special_tokens=False)["input_ids"][0] for option in options]
        return normalised(options, [float(logits[t]) for t in first])

    def count_tokens(self, text: str) -> int:
        """Exact token count in this model's tokenizer."""
        return len(self._tokenizer(text, add_special_tokens=False)["input_ids"])

    def stream_prompt(self, prompt: str, max_new_tokens: int, temperature: float, halt: Halt) -> Iterator[str]:
        """Generate in a thread and yield decoded text as it comes; `halt` stops within a token."""
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        class _Cancelled(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs) -> bool:
                return halt.is_set()

        inputs = self._tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(self.device)
        self.prompt_tokens_read = int(inputs["input_ids"].shape[1])  # no cache kept between calls: all of it
        streamer = TextIteratorStreamer(self._tokenizer, skip_prompt=True, skip_special_tokens=True)
        options = {
            **inputs,
            "max_new_tokens": max_new_tokens,
            "streamer": streamer,
            "stopping_criteria": StoppingCriteriaList([_Cancelled()]),
            "pad_token_id": self._tokenizer.pad_token_id or self._tokenizer.eos_token_id,
            "do_sample": temperature > 0,
        }
        if temperature > 0:
            options["temperature"] = temperature
        else:
            options.update(temperature=None, top_p=None, top_k=None)
        errors: list[BaseException] = []

        def generate() -> None:
            try:
                with self._torch.inference_mode():
                    self._model.generate(**options)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer's thread
                errors.append(exc)
                streamer.end()

        worker = threading.Thread(target=generate, name="footnotes-generate", daemon=True)
        worker.start()
        try:
            for piece in streamer:
                if piece:
                    yield piece
                if halt.is_set():
                    break
        finally:
            halt.set()
            worker.join()
        if errors:
            raise errors[0]
