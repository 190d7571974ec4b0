"""The bundled MiniLM on other runtimes against the app's fp32 torch path: passages per second on 256
FAQ chunks and how far the vectors move (issue #21, item 5). ONNX Runtime fp32 and int8 (dynamic
quantisation); OpenVINO fp32, int8 (NNCF post-training quantisation, calibrated on other FAQ chunks)
and int8 weights only. Each runtime is measured where it is importable:

    pip install --target /tmp/onnx-site onnxruntime onnx   # none of these is a dependency of the app
    pip install --target /tmp/ov-site openvino nncf
    python bench/embed_onnx.py [SITE ...]                   # default: /tmp/onnx-site /tmp/ov-site

The models are converted from the bundled weights (nothing is downloaded); ONNX files go to
/tmp/onnx-spike.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.extend(sys.argv[1:] or ["/tmp/onnx-site", "/tmp/ov-site"])  # after the venv's own numpy
FAQ = ROOT.parent / "shared" / "eval" / "debian-faq" / "debian-faq.en.pdf"
WORK = Path("/tmp/onnx-spike")
INPUTS = ["input_ids", "attention_mask", "token_type_ids"]
THREADS = 2


def export(model, tokenizer) -> tuple[Path, Path]:
    """The model as fp32 ONNX and its int8 dynamic quantisation."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fp32, int8 = WORK / "model.onnx", WORK / "model-int8.onnx"
    if int8.exists():
        return fp32, int8
    WORK.mkdir(exist_ok=True)

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


def pooled(run: Callable[[dict], np.ndarray], tokenizer, max_tokens: int):
    """An embed function over a runtime's forward pass (token ids -> last hidden state): batches of 32
    sorted by length, mean pooling and unit length, as sentence-transformers does."""

    def embed(texts):
        order = np.argsort([-len(text) for text in texts])
        out = []
        for i in range(0, len(texts), 32):
            batch = tokenizer(
                [texts[j] for j in order[i : i + 32]],
                padding=True,
                truncation=True,
                max_length=max_tokens,
                return_tensors="np",
            )
            hidden = run({name: batch[name].astype(np.int64) for name in INPUTS})
            mask = batch["attention_mask"][..., None].astype(np.float32)
            vectors = (hidden * mask).sum(1) / np.clip(mask.sum(1), 1e-9, None)
            out.append(vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
        return np.concatenate(out).astype(np.float32)[np.argsort(order)]

    return embed


def onnx_runtimes(model, tokenizer, max_tokens: int) -> dict:
    try:
        import onnxruntime as ort
    except ImportError:
        print("onnxruntime is not importable: skipped")
        return {}
    fp32, int8 = export(model, tokenizer)
    options = ort.SessionOptions()
    options.intra_op_num_threads = THREADS
    runs = {}
    for name, path in (("onnx fp32", fp32), ("onnx int8", int8)):
        session = ort.InferenceSession(str(path), options)
        runs[name] = pooled(lambda feed, s=session: s.run(None, feed)[0], tokenizer, max_tokens)
    return runs


def openvino_runtimes(model, tokenizer, max_tokens: int, calibration: list[str]) -> dict:
    try:
        import openvino as ov
    except ImportError:
        print("openvino is not importable: skipped")
        return {}
    sample = tokenizer(["hello world", "a longer sentence than that"], padding=True, return_tensors="pt")
    converted = ov.convert_model(model, example_input={name: sample[name] for name in INPUTS})
    models = {"openvino fp32": converted}
    try:
        import nncf
    except ImportError:
        print("nncf is not importable: OpenVINO int8 skipped")
    else:
        feeds = [tokenizer([text], truncation=True, max_length=max_tokens, return_tensors="np") for text in calibration]
        dataset = nncf.Dataset(feeds, lambda batch: {name: batch[name].astype(np.int64) for name in INPUTS})
        models["openvino int8 (NNCF)"] = nncf.quantize(
            converted, dataset, model_type=nncf.ModelType.TRANSFORMER, subset_size=len(feeds)
        )
        models["openvino int8 weights only"] = nncf.compress_weights(converted.clone())
    core = ov.Core()
    runs = {}
    for name, graph in models.items():
        request = core.compile_model(
            graph, "CPU", {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": THREADS}
        ).create_infer_request()
        runs[name] = pooled(lambda feed, r=request: r.infer(feed)[0], tokenizer, max_tokens)
    return runs


def main() -> None:
    from transformers import AutoModel, AutoTokenizer

    from indexer.embedder import Embedder
    from indexer.indexer import Indexer
    from indexer.store import Store

    base = Embedder()
    tokenizer = AutoTokenizer.from_pretrained(str(base.model_path), local_files_only=True)
    model = AutoModel.from_pretrained(str(base.model_path), local_files_only=True).eval()
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder))
        Indexer(store, base).run([FAQ])
        found = [hit.chunk.text for hit in store.search_dense(base.embed(["debian"])[0], 384)]
        store.close()
    texts, calibration = found[:256], found[256:]
    embeds = {"torch fp32 (the app)": base.embed}
    embeds |= onnx_runtimes(model, tokenizer, base.max_tokens)
    embeds |= openvino_runtimes(model, tokenizer, base.max_tokens, calibration)
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
            f"{name:<28} {len(texts) / statistics.median(times):6.1f} passages/s; "
            f"cosine to the app's vectors p50 {np.median(cosine):.4f}, min {cosine.min():.4f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
