"""The Debian FAQ evaluation: retrieval hit@5 by mode, then cited answers, per backend.

    python bench/answer_bench.py [--model light|quality|PATH] [--limit N] [--backends transformers llama.cpp]

Prints, for the 120 questions of ../shared/eval/debian-faq/questions.jsonl: hit@5 of the gold page
for dense, keyword and hybrid retrieval; then for the first N questions and each backend: the share
of answers citing the gold page, token F1 against the gold answer, refusals, time to first token and
tokens/s; and the overhead ratio of our streaming path against a direct call of the same model
through its own library on the same prompts, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indexer.embedder import Embedder
from indexer.indexer import Indexer
from indexer.store import Store
from llm import llamacpp_backend
from llm.base import Generator, Halt
from llm.loader import load_generator
from rag.answer import Answerer
from rag.retriever import RetrievalSettings, Retriever

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval" / "debian-faq"


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD-style F1 over lower-cased word tokens (citation markers removed)."""
    pred = re.findall(r"\w+", re.sub(r"\[\d+\]", "", prediction).lower())
    ref = re.findall(r"\w+", gold.lower())
    common = sum((Counter(pred) & Counter(ref)).values())
    if not pred or not ref or not common:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def retrieval_table(store: Store, embedder: Embedder, questions: list[dict]) -> None:
    """Hit@5 of the gold page for each retrieval mode."""
    for mode in ("dense", "keyword", "hybrid"):
        retriever = Retriever(store, embedder.embed, RetrievalSettings(top_k=5, mode=mode))
        found = sum(
            q["gold_page_1based"] in {h.chunk.page for h in retriever.retrieve(q["question"])} for q in questions
        )
        print(f"retrieval {mode:<8} hit@5 {found / len(questions):6.1%}  ({found}/{len(questions)})")


def _fresh(generator: Generator) -> None:
    """Forget llama.cpp's cached prompt, so neither path gets the other's prompt processing for free."""
    if generator.backend == "llama.cpp":
        generator._llm.reset()


def direct_seconds(generator: Generator, prompt: str, tokens: int) -> float:
    """The same prompt through the backend's own library, without our streaming layer. Both paths
    decode greedily, so with the same token limit they produce the same tokens."""
    _fresh(generator)
    started = time.perf_counter()
    if generator.backend == "llama.cpp":
        llm = generator._llm
        llm.create_completion(
            llm.tokenize(prompt.encode(), add_bos=False, special=True), max_tokens=tokens, temperature=0.0
        )
    else:
        import torch

        inputs = generator._tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(generator.device)
        with torch.inference_mode():
            generator._model.generate(
                **inputs,
                max_new_tokens=tokens,
                do_sample=False,
                temperature=None,
                top_p=None,
                top_k=None,
                pad_token_id=generator._tokenizer.eos_token_id,
            )
    return time.perf_counter() - started


def ours(generator: Generator, prompt: str, tokens: int) -> tuple[float, int]:
    """Seconds and tokens generated for the prompt through `Generator.stream_prompt`."""
    _fresh(generator)
    started = time.perf_counter()
    text = "".join(generator.stream_prompt(prompt, tokens, 0.0, Halt(threading.Event())))
    return time.perf_counter() - started, generator.count_tokens(text)


def answer_table(answerer: Answerer, questions: list[dict]) -> None:
    """Answer quality and speed for one backend."""
    cites_gold = refused = 0
    f1s, ttft, tps = [], [], []
    for q in questions:
        answer = answerer.ask(q["question"])
        cited_pages = {answer.sources[n].page for n in answer.cited}
        cites_gold += q["gold_page_1based"] in cited_pages
        refused += answer.refused
        f1s.append(token_f1(answer.text, q["gold_answer"]))
        if "seconds_to_first_token" in answer.timing:
            ttft.append(answer.timing["seconds_to_first_token"])
            tps.append(answer.timing["tokens_per_second"])
    n = len(questions)
    g = answerer.generator
    print(
        f"{g.backend:<12} answers cite gold page {cites_gold / n:6.1%}   token F1 {sum(f1s) / n:.3f}   "
        f"refused {refused}/{n}   first token {median(ttft):.1f} s (median)   decode {median(tps):.1f} tok/s"
    )


def overhead(answerer: Answerer, questions: list[dict], tokens: int = 48) -> None:
    """Ratio of our streaming path to the library's own call on the same prompts and tokens."""
    mine = direct = 0.0
    generated = 0
    for q in questions:
        prepared = answerer.prepare(q["question"])
        if prepared.plan is None:
            continue
        prompt = answerer.generator.render(prepared.plan.messages)
        _, produced = ours(answerer.generator, prompt, tokens)  # warm-up, and the token count to match
        for _ in range(2):  # alternate the two paths so drift on a noisy machine falls on both
            direct += direct_seconds(answerer.generator, prompt, max(produced, 1))
            seconds, _ = ours(answerer.generator, prompt, tokens)
            mine += seconds
        generated += 2 * produced
    print(
        f"{answerer.generator.backend:<12} overhead: ours {mine:.1f} s / direct {direct:.1f} s = {mine / direct:.2f}x "
        f"({len(questions)} prompts, {generated} tokens generated)"
    )


def main() -> None:
    """Run the evaluation and print its tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="light")
    parser.add_argument("--limit", type=int, default=20, help="questions answered by the LLM (all 120 for retrieval)")
    parser.add_argument("--backends", nargs="+", default=["transformers", "llama.cpp"])
    args = parser.parse_args()
    questions = [json.loads(line) for line in (EVAL / "questions.jsonl").read_text().splitlines() if line.strip()]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores; model {args.model}; "
        f"{len(questions)} questions, {args.limit} answered"
    )
    embedder = Embedder()
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder))
        Indexer(store, embedder).run([EVAL / "debian-faq.en.pdf"])
        retrieval_table(store, embedder, questions)
        for backend in args.backends:
            if backend == "llama.cpp" and not llamacpp_backend.available():
                print("llama.cpp    skipped: llama-cpp-python is not installed")
                continue
            answerer = Answerer(store, embedder, load_generator(args.model, backend=backend))
            answer_table(answerer, questions[: args.limit])
            overhead(answerer, questions[:3])
        store.close()


if __name__ == "__main__":
    main()
