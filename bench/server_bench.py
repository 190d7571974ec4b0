"""Time to first token through a local model server against in-process llama.cpp: same model, same prompts.

    python bench/server_bench.py [--model light|quality|PATH] [--questions 5] [--max-new-tokens 8]
        [--server-url URL] [--library FOLDER]

Starts llama-cpp-python's OpenAI-compatible server on the same GGUF (with as many threads as the
in-process model) unless --server-url names one already running. The Debian FAQ questions are prepared
once (retrieval, compression, context plan); each prompt then goes to both generators, alternating which
goes first, and the seconds to the first streamed token are compared.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from statistics import median

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from indexer.embedder import Embedder  # noqa: E402 - after the path and the offline switch
from indexer.indexer import Indexer  # noqa: E402
from indexer.store import Store  # noqa: E402
from llm.base import Generator, Message  # noqa: E402
from llm.loader import load_generator, resolve_model  # noqa: E402
from llm.openai_backend import ServerSettings  # noqa: E402
from rag.answer import Answerer  # noqa: E402

FAQ = REPO.parent / "shared" / "eval" / "debian-faq"


def start_server(gguf: Path, threads: int) -> tuple[subprocess.Popen, str]:
    """llama-cpp-python's server on `gguf` at a free loopback port, once it lists its model."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1"]
    command += ["--port", str(port), "--n_ctx", "4096", "--n_threads", str(threads)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    while process.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=2):
                return process, url
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"llama_cpp.server exited with {process.returncode}")


def first_token_seconds(generator: Generator, messages: list[Message], max_new_tokens: int) -> float:
    """Seconds from the request to the first piece of text (the rest of the short answer is drained)."""
    started = time.perf_counter()
    first = None
    for _piece in generator.stream(messages, max_new_tokens=max_new_tokens):
        first = first or time.perf_counter() - started
    return first or time.perf_counter() - started


def main() -> None:
    """Prepare the questions, time both generators alternately, print both medians and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="light", help="preset or GGUF path, run both ways (default: light)")
    parser.add_argument("--questions", type=int, default=5, help="Debian FAQ questions timed (default: 5)")
    parser.add_argument("--max-new-tokens", type=int, default=8)
    parser.add_argument("--server-url", help="a running server on the same model (default: start one)")
    parser.add_argument("--library", type=Path, help="a library holding the Debian FAQ (default: index it now)")
    args = parser.parse_args()

    gguf = resolve_model(args.model)
    threads = os.cpu_count() or 1
    in_process = load_generator(args.model, backend="llama.cpp")
    process, url = (None, args.server_url) if args.server_url else start_server(gguf, threads)
    try:
        served = load_generator(backend="server", server=ServerSettings(url))
        embedder = Embedder()
        store = Store(args.library or Path(tempfile.mkdtemp(prefix="server-bench-")))
        if not store.documents():
            Indexer(store, embedder).run([FAQ / "debian-faq.en.pdf"])
        answerer = Answerer(store, embedder, in_process)
        lines = (FAQ / "questions.jsonl").read_text().splitlines()[: args.questions]
        plans = [answerer.prepare(json.loads(line)["question"]).plan for line in lines]
        times: dict[str, list[float]] = {"in-process": [], "server": []}
        for turn, plan in enumerate(p for p in plans if p is not None):
            pair = [("in-process", in_process), ("server", served)]
            for label, generator in pair if turn % 2 == 0 else reversed(pair):
                times[label].append(first_token_seconds(generator, plan.messages, args.max_new_tokens))
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
    local, server = median(times["in-process"]), median(times["server"])
    print(f"model {gguf.name}, {len(times['server'])} Debian FAQ prompts, {threads} threads each, alternating")
    print(f"time to first token, median: in-process llama.cpp {local:.2f} s, local server {server:.2f} s")
    print(f"server / in-process: {server / local:.2f}x")


if __name__ == "__main__":
    main()
