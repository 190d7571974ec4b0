"""Embeddings per second in process against through an OpenAI-compatible embeddings endpoint, same texts.

    python bench/embed_bench.py [--texts 512] [--repeats 3] [--batch 32] [--server-url URL --server-model M]

The texts are the sample corpus's chunks (assets/sample), repeated to --texts. Three rows, each measured
in this run:

* local: the bundled all-MiniLM-L6-v2 in this process (the baseline);
* served here: the same model behind a stdlib HTTP server speaking ``POST /v1/embeddings``, so the ratio
  is what the protocol costs (JSON both ways, a request per batch) with the model held equal;
* --server-url: a real server (llama.cpp, vLLM, text-embeddings-inference on a GPU box), its own model,
  so the ratio is what moving the heavy lifting there gains or loses on this machine's link.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from indexer.chunker import Chunker  # noqa: E402 - after the path and the offline switch
from indexer.embedder import Embedder  # noqa: E402
from indexer.loaders import load  # noqa: E402
from indexer.remote_embedder import EmbeddingServer, RemoteEmbedder  # noqa: E402

SAMPLE = REPO / "assets" / "sample"
SERVED_NAME = "all-MiniLM-L6-v2"


def sample_texts(embedder: Embedder, count: int) -> list[str]:
    """The sample corpus's chunks, repeated to `count` texts."""
    chunker = Chunker(embedder.token_spans_factory())
    chunks = [c.text for f in sorted(SAMPLE.iterdir()) for c in chunker.chunk_pages(1, load(f).pages)]
    return [chunks[i % len(chunks)] for i in range(count)]


def rate(embed: Callable[[Sequence[str]], object], texts: list[str], repeats: int) -> float:
    """Texts per second: the best of `repeats` passes over all texts (the least disturbed by other work)."""
    embed(texts[:4])  # warm-up: first-call caches and connections are not part of the measurement
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        embed(texts)
        best = min(best, time.perf_counter() - started)
    return len(texts) / best


def serve(embedder: Embedder) -> tuple[ThreadingHTTPServer, str]:
    """`embedder` behind ``/v1/models`` and ``/v1/embeddings`` on a free loopback port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._send({"data": [{"id": SERVED_NAME}]})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            vectors = embedder.embed(body["input"]).tolist()
            self._send({"data": [{"index": i, "embedding": v} for i, v in enumerate(vectors)]})

        def _send(self, answer: object) -> None:
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1"


def main(argv: list[str] | None = None) -> int:
    """Print each row's embeddings per second and its ratio to the in-process baseline."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=32, help="texts per request to a server")
    parser.add_argument("--server-url", help="also measure this embeddings server (…/v1)")
    parser.add_argument("--server-model", default="", help="its model (default: the first it lists)")
    parser.add_argument("--allow-remote", action="store_true", help="the server may be on another machine")
    args = parser.parse_args(argv)

    local = Embedder(device="cpu")
    texts = sample_texts(local, args.texts)
    rows = [("local (in process, cpu)", rate(local.embed, texts, args.repeats))]
    server, url = serve(local)
    try:
        served = RemoteEmbedder(EmbeddingServer(url, SERVED_NAME), batch_size=args.batch)
        rows.append(("same model served here (HTTP)", rate(served.embed, texts, args.repeats)))
    finally:
        server.shutdown()
        server.server_close()
    if args.server_url:
        remote = RemoteEmbedder(EmbeddingServer(args.server_url, args.server_model, args.allow_remote), args.batch)
        rows.append((f"{remote.model} at {remote.server.host}", rate(remote.embed, texts, args.repeats)))

    baseline = rows[0][1]
    print(f"{len(texts)} texts (sample corpus chunks), best of {args.repeats}, batch {args.batch}")
    print(f"{'embedder':40} {'texts/s':>10} {'ratio':>8}")
    for name, per_second in rows:
        print(f"{name:40} {per_second:10.1f} {per_second / baseline:7.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
