"""llama.cpp through llama-cpp-python: GGUF files on the CPU, several times faster than fp32 torch."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llm.base import Generator, Halt, Message, normalised
from usererrors import InvalidValue


def available() -> bool:
    """True when llama-cpp-python is installed (it is an optional extra)."""
    import importlib.util

    return importlib.util.find_spec("llama_cpp") is not None


SIMD = (
    "SSE3", "SSSE3", "AVX", "AVX_VNNI", "AVX2", "F16C", "FMA", "BMI2", "AVX512", "AVX512_VBMI", "AVX512_VNNI",
    "AVX512_BF16", "AMX_INT8", "NEON", "ARM_FMA", "FP16_VA", "DOTPROD", "MATMUL_INT8", "SVE", "SME",
)  # fmt: skip
"""Instruction sets llama.cpp reports in its system info, by its names."""
FASTER_X86 = {
    "avx512f": "AVX512",
    "avx512_vbmi": "AVX512_VBMI",
    "avx512_vnni": "AVX512_VNNI",
    "avx512_bf16": "AVX512_BF16",
    "avx_vnni": "AVX_VNNI",
    "amx_int8": "AMX_INT8",
}
"""x86 CPU flags (as /proc/cpuinfo names them) whose kernels llama.cpp has beyond AVX2, and its names."""


def kernels() -> list[str]:
    """The instruction sets the installed llama.cpp's CPU kernels use (its own system info)."""
    import llama_cpp

    return kernels_in(llama_cpp.llama_print_system_info().decode("utf-8", "replace"))


def kernels_in(system_info: str) -> list[str]:
    """The instruction sets that llama.cpp's system info ("CPU : AVX = 1 | AVX2 = 1 | ...") says are on."""
    import re

    return [name for name, on in re.findall(r"(\w+) = (\d+)", system_info) if on == "1" and name in SIMD]


def unused(build: Sequence[str], cpuinfo: str) -> list[str]:
    """Instruction sets that this CPU has (its /proc/cpuinfo text), that llama.cpp has faster kernels for,
    and that the build does not use: a portable build leaves them, a build for this CPU would not."""
    import re

    match = re.search(r"^flags\s*:(.*)$", cpuinfo, re.MULTILINE)
    flags = set(match.group(1).split()) if match else set()
    return [name for flag, name in FASTER_X86.items() if flag in flags and name not in build]


class LlamaCppGenerator(Generator):
    """A GGUF model run by llama.cpp on the CPU, with the chat template stored in the file."""

    backend = "llama.cpp"
    device = "cpu"

    def __init__(self, gguf: Path, context_window: int = 4096, threads: int | None = None) -> None:
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.name = gguf.stem
        # The weights are read, not mapped: llama.cpp repacks them for its CPU kernels anyway, and a mapped
        # file kept its pages resident beside the repacked copy (bench/memory_bench.py: 1.88 -> 1.30 GB for
        # the 1.5B model; prompt processing 0.99x over 8 rounds of bench/llama_bench.py).
        self._llm = Llama(
            model_path=str(gguf),
            n_ctx=context_window,
            n_threads=threads or os.cpu_count() or 1,
            use_mmap=False,
            verbose=False,
        )
        self.context_window = int(self._llm.n_ctx())
        metadata = self._llm.metadata
        template = metadata.get("tokenizer.chat_template")
        if not template:
            raise InvalidValue(
                f"{gguf.name} carries no chat template", "choose the GGUF file of an instruct (chat) model"
            )
        vocab = self._llm
        eos = vocab.detokenize([vocab.token_eos()], special=True).decode("utf-8", "replace")
        bos_id = vocab.token_bos()
        bos = vocab.detokenize([bos_id], special=True).decode("utf-8", "replace") if bos_id >= 0 else ""
        self._formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
        self.control_tokens = tuple(sorted(set(_special_tokens(template)) | {eos} - {""}))

    def render(self, messages: Sequence[Message]) -> str:
        """Apply the GGUF's own chat template."""
        return self._formatter(messages=[{"role": m.role, "content": m.content} for m in messages]).prompt

    def count_tokens(self, text: str) -> int:
        """Exact token count in the GGUF's vocabulary."""
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def stream_prompt(self, prompt: str, max_new_tokens: int, temperature: float, halt: Halt) -> Iterator[str]:
        """Stream a completion; stopping between tokens when `halt` is set."""
        tokens = self._llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        self.prompt_tokens_read = len(tokens) - max(0, min(self._held(tokens), len(tokens) - 1))
        pieces = self._llm.create_completion(tokens, max_tokens=max_new_tokens, temperature=temperature, stream=True)
        try:
            for chunk in pieces:
                text = chunk["choices"][0]["text"]
                if text:
                    yield text
                if halt.is_set():
                    break
        finally:
            pieces.close()

    def prefill(self, prompt: str) -> None:
        """Evaluate `prompt`, reusing the part of it the model already holds (at least its last token is
        evaluated again, so its logits are fresh)."""
        llm = self._llm
        tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        prefix = self._held(tokens[:-1])
        llm.n_tokens = prefix
        llm.eval(tokens[prefix:])

    def _held(self, tokens: Sequence[int]) -> int:
        """How many of `tokens`, from the first, the model holds already."""
        held = self._llm.input_ids[: self._llm.n_tokens].tolist()
        prefix = 0
        for a, b in zip(held, tokens, strict=False):
            if a != b:
                break
            prefix += 1
        return prefix

    def held_tokens(self, prompt: str) -> int:
        """Tokens of `prompt`, from its first, that llama.cpp's cache holds."""
        return self._held(self._llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))

    def keep(self) -> _Kept:
        """The tokens the model holds and their KV cache (about 28 KB a token for the 1.5B model): one
        sequence's state, not llama-cpp-python's `save_state`, which also copies the batch's logits
        (some 300 MB for a 152k vocabulary)."""
        import ctypes

        import llama_cpp

        llm = self._llm
        size = llama_cpp.llama_state_seq_get_size(llm._ctx.ctx, 0)
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(llm._ctx.ctx, buffer, size, 0)
        return _Kept(llm.input_ids[: llm.n_tokens].copy(), bytes(buffer)[:written])

    def restore(self, kept: object | None) -> None:
        """Put back what `keep` returned; the next prompt re-reads at least its last token (fresh logits)."""
        import ctypes

        import llama_cpp

        if not isinstance(kept, _Kept):
            return
        llm = self._llm
        llm._ctx.kv_cache_seq_rm(0, -1, -1)
        llm.n_tokens = 0
        data = (ctypes.c_uint8 * len(kept.state)).from_buffer_copy(kept.state)
        if llama_cpp.llama_state_seq_set_data(llm._ctx.ctx, data, len(kept.state), 0) != len(kept.state):
            return  # the cache stays empty: the next prompt is read whole, as for a new model
        llm.input_ids[: len(kept.tokens)] = kept.tokens
        llm.n_tokens = len(kept.tokens)
        llm._requires_eval = True  # llama-cpp-python: the logits are not those of the last token held

    def parameters(self) -> int | None:
        """The GGUF's weight count."""
        return int(self._llm._model.n_params())

    def choice_probabilities(self, prompt: str, options: Sequence[str]) -> dict[str, float] | None:
        """Evaluate the prompt, reusing what the model already holds of it (a judge's fixed preamble is
        processed once), and read the next-token logits of each option's first token."""
        import numpy as np

        llm = self._llm
        self.prefill(prompt)
        logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),))
        first = [llm.tokenize(option.encode("utf-8"), add_bos=False, special=False)[0] for option in options]
        return normalised(options, [float(logits[t]) for t in first])


@dataclass(frozen=True)
class _Kept:
    """What `LlamaCppGenerator.keep` took: the tokens held and their sequence's state."""

    tokens: np.ndarray
    state: bytes


def _special_tokens(template: str) -> list[str]:
    """Control tokens a chat template writes, such as ``<|im_start|>``."""
    import re

    return re.findall(r"<\|[a-z_]+\|>|\[/?INST\]|<(?:start|end)_of_turn>", template)
