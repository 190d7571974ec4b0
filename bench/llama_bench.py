"""Prompt processing and decoding of the bundled model on llama.cpp under different settings, measured
in one run: threads, batch and micro-batch sizes, flash attention (issue #21, item 2).

    python bench/llama_bench.py [--model quality] [--repeats 3]

Each setting loads the model afresh (nothing cached between settings), processes the same prompt of
about an answer's size (a system line, five passages, a question; its token count is printed), then
decodes 32 tokens. Settings run in turn, `--repeats` rounds, so drift on the
machine hits them alike; medians are printed with the ratio to llama.cpp's defaults (the first row;
the app reads the weights instead of mapping them: the last row).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from llm.bundled import PRESETS, assemble

PASSAGE = (
    "Debian GNU/Linux is a particular distribution of the Linux operating system, and numerous packages "
    "that run on it. All of Debian is free software. The stable distribution contains the latest officially "
    "released distribution of Debian; this is the production release. Packages in unstable move into testing "
    "after they have had a degree of testing in unstable and have no release-critical bugs. "
)
QUESTION = "How long does a fix sit in unstable before it reaches testing?"

SETTINGS: list[tuple[str, dict]] = [
    ("defaults, threads=cores", {}),
    ("threads=1", {"n_threads": 1, "n_threads_batch": 1}),
    ("flash attention", {"flash_attn": True}),
    ("n_batch=n_ubatch=256", {"n_batch": 256, "n_ubatch": 256}),
    ("n_batch=n_ubatch=1024", {"n_batch": 1024, "n_ubatch": 1024}),
    ("flash + n_ubatch=1024", {"flash_attn": True, "n_batch": 1024, "n_ubatch": 1024}),
    ("weights read (no mmap)", {"use_mmap": False}),  # the app's since 6 December 2026
]


def prompt_text(llm) -> list[int]:
    """A system line, five passages and the question, in the model's chat template."""
    body = "\n\n".join(f'<source id="{n}">\n{PASSAGE}\n</source>' for n in range(1, 6))
    text = (
        "<|im_start|>system\nAnswer only from the numbered sources; cite them as [n].<|im_end|>\n"
        f"<|im_start|>user\n{body}\n\nQuestion: {QUESTION}<|im_end|>\n<|im_start|>assistant\n"
    )
    return llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)


def measure(gguf: Path, options: dict) -> tuple[float, float, int]:
    """(seconds to process the prompt, decoded tokens per second, prompt tokens) for one setting."""
    from llama_cpp import Llama

    settings = {"n_threads": os.cpu_count() or 1, **options}
    llm = Llama(model_path=str(gguf), n_ctx=4096, verbose=False, **settings)
    tokens = prompt_text(llm)
    started = time.perf_counter()
    llm.eval(tokens)
    prompt_seconds = time.perf_counter() - started
    decoded = 0
    started = time.perf_counter()
    for _ in range(32):
        token = llm.sample(temp=0.0)
        llm.eval([token])
        decoded += 1
    decode_seconds = time.perf_counter() - started
    del llm
    return prompt_seconds, decoded / decode_seconds, len(tokens)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="quality", choices=sorted(PRESETS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated setting names (the first row always runs)")
    args = parser.parse_args()
    chosen = [SETTINGS[0]] + [s for s in SETTINGS[1:] if not args.only or s[0] in args.only.split(",")]
    gguf = assemble(PRESETS[args.model])
    import llama_cpp

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; llama-cpp-python {llama_cpp.__version__}")
    print(llama_cpp.llama_print_system_info().decode().strip())
    results: dict[str, list[tuple[float, float, int]]] = {name: [] for name, _ in chosen}
    for _ in range(args.repeats):
        for name, options in chosen:
            results[name].append(measure(gguf, options))
    base = statistics.median(r[0] for r in results[SETTINGS[0][0]])
    base_decode = statistics.median(r[1] for r in results[SETTINGS[0][0]])
    print(f"{'setting':<28} {'prompt s':>9} {'tok/s in':>9} {'ratio':>6} {'decode tok/s':>13} {'ratio':>6}")
    for name, rows in results.items():
        seconds = statistics.median(r[0] for r in rows)
        decode = statistics.median(r[1] for r in rows)
        tokens = rows[0][2]
        print(
            f"{name:<28} {seconds:>9.2f} {tokens / seconds:>9.1f} {base / seconds:>5.2f}x "
            f"{decode:>13.1f} {decode / base_decode:>5.2f}x"
        )
    print(f"prompt: {tokens} tokens; ratio > 1 is faster than the first row")


if __name__ == "__main__":
    main()
