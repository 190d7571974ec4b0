"""The bundled MiniLM through ONNX Runtime, fp32 and int8 (dynamic quantisation), against the app's
fp32 torch path: passages per second on 256 FAQ chunks and how far the vectors move (issue #21, item 5).

    pip install --target /tmp/onnx-site onnxruntime onnx   # not a dependency of the app
    python bench/embed_onnx.py [/tmp/onnx-site]

The model is exported from the bundled weights into /tmp/onnx-spike (nothing is downloaded).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.append(sys.argv[1] if len(sys.argv) > 1 else "/tmp/onnx-site")  # after the venv's own numpy
FAQ = ROOT.parent / "shared" / "eval" / "debian-faq" / "debian-faq.en.pdf"
WORK = Path("/tmp/onnx-spike")
INPUTS = ["input_ids", "attention_mask", "token_type_ids"]


def export(model_path: Path, tokenizer) -> tuple[Path, Path]:
    """The model as fp32 ONNX and its int8 dynamic quantisation."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    fp32, int8 = WORK / "model.onnx", WORK / "model-int8.onnx"
    if int8.exists():
        return fp32, int8
    WORK.mkdir(exist_ok=True)
    model = AutoModel.from_pretrained(str(model_path), local_files_only=True).eval()

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    sample = tokenizer(["hello world"], return_tensors="pt")
    axes = {name: {0: "batch", 1: "tokens"} for name in [*INPUTS, "last_hidden_state"]}
    torch.onnx.export(
        Hidden(),
        tuple(sample[name] for name in INPUTS),
        str(fp32),
        input_names=INPUTS,
        output_names=["last_hidden_state"],
        dynamic_axes=axes,
        opset_version=17,
        dynamo=False,
    )
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    return fp32, int8


def onnx_embed(session, tokenizer, max_tokens: int):
    """An embed function over an ONNX session: mean pooling and unit length, as sentence-transformers."""

    def embed(texts):
        out = []
        for i in range(0, len(texts), 32):
            batch = tokenizer(
                list(texts[i : i + 32]), padding=True, truncation=True, max_length=max_tokens, return_tensors="np"
            )
            hidden = session.run(None, {name: batch[name].astype(np.int64) for name in INPUTS})[0]
            mask = batch["attention_mask"][..., None].astype(np.float32)
            vectors = (hidden * mask).sum(1) / np.clip(mask.sum(1), 1e-9, None)
            out.append(vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
        return np.concatenate(out).astype(np.float32)

    return embed


def main() -> None:
    import onnxruntime as ort
    from transformers import AutoTokenizer

    from indexer.embedder import Embedder
    from indexer.indexer import Indexer
    from indexer.store import Store

    base = Embedder()
    tokenizer = AutoTokenizer.from_pretrained(str(base.model_path), local_files_only=True)
    fp32, int8 = export(base.model_path, tokenizer)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    embeds = {"torch fp32 (the app)": base.embed}
    for name, path in (("onnx fp32", fp32), ("onnx int8", int8)):
        embeds[name] = onnx_embed(ort.InferenceSession(str(path), options), tokenizer, base.max_tokens)
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder))
        Indexer(store, base).run([FAQ])
        texts = [hit.chunk.text for hit in store.search_dense(base.embed(["debian"])[0], 256)]
        store.close()
    reference = base.embed(texts)
    for name, embed in embeds.items():
        embed(texts[:8])
        times = []
        for _ in range(3):
            started = time.perf_counter()
            vectors = embed(texts)
            times.append(time.perf_counter() - started)
        cosine = (vectors * reference).sum(1)
        print(
            f"{name:<22} {len(texts) / statistics.median(times):6.1f} passages/s; "
            f"cosine to the app's vectors p50 {np.median(cosine):.4f}, min {cosine.min():.4f}"
        )


if __name__ == "__main__":
    main()
