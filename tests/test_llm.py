"""The bundled model and the generation backends, run for real on the 0.5B model."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import pytest

from llm import llamacpp_backend
from llm.base import Generator, Message
from llm.bundled import LIGHT, BundledModelError, assemble, gguf_architecture, model_cache_dir
from llm.loader import load_generator, pick_backend

QUESTION = [Message("system", "Answer in one short sentence."), Message("user", "What colour is a clear daytime sky?")]


def test_bundled_light_model_is_assembled_verified_and_a_qwen2_gguf(generator: Generator) -> None:
    path = assemble(LIGHT)
    assert path.parent == model_cache_dir()
    assert path.stat().st_size == 491_400_064
    assert gguf_architecture(path) == "qwen2"


def test_parts_that_do_not_match_the_pinned_checksum_are_refused(tmp_path: Path) -> None:
    tampered = dataclasses.replace(LIGHT, sha256="0" * 64)
    with pytest.raises(BundledModelError, match="do not match its pinned checksum"):
        assemble(tampered, cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing half-written is left behind


def test_a_missing_model_package_is_named() -> None:
    absent = dataclasses.replace(LIGHT, module_prefix="no_such_model_part", distribution_prefix="no-such-model-part")
    with pytest.raises(BundledModelError, match="no-such-model-part1"):
        assemble(absent)


def test_stream_yields_text_and_counts_tokens(generator: Generator) -> None:
    assert "blue" in "".join(generator.stream(QUESTION, max_new_tokens=24)).lower()
    pieces = list(generator.stream([Message("user", "Name the seven colours of the rainbow.")], max_new_tokens=40))
    assert len(pieces) > 3 and "red" in "".join(pieces).lower()  # streamed piece by piece
    assert generator.count_tokens("hello world") == 2
    assert "<|im_start|>" in generator.control_tokens
    assert generator.render(QUESTION).count("<|im_start|>") == 3  # system, user, and the assistant's turn


def test_cancel_stops_generation_promptly(generator: Generator) -> None:
    cancel = threading.Event()
    pieces = []
    started = time.perf_counter()
    for piece in generator.stream(
        [Message("user", "Count from one to two hundred in words.")], max_new_tokens=400, cancel=cancel
    ):
        pieces.append(piece)
        if len(pieces) == 3:
            cancel.set()
    assert len(pieces) <= 5
    assert time.perf_counter() - started < 60
    assert list(generator.stream(QUESTION, max_new_tokens=4))  # the same generator still works afterwards


def test_stop_strings_end_the_stream_before_them(generator: Generator) -> None:
    text = "".join(
        generator.stream(
            [Message("user", "Write the numbers 1, 2, 3, 4, 5 separated by commas.")], max_new_tokens=30, stop=["3"]
        )
    )
    assert "3" not in text and "2" in text


def test_auto_backend_says_what_it_picked(generator: Generator) -> None:
    expected = "llama.cpp" if llamacpp_backend.available() else "transformers"
    assert pick_backend(assemble(LIGHT), "auto", "cpu") == expected
    assert "via transformers on cpu" in generator.describe()


@pytest.mark.skipif(not llamacpp_backend.available(), reason="llama-cpp-python (the 'llama' extra) is not installed")
def test_llama_cpp_backend_streams_the_same_model() -> None:
    llama = load_generator("light", backend="llama.cpp")
    text = "".join(llama.stream(QUESTION, max_new_tokens=24))
    assert "blue" in text.lower()
    assert llama.render(QUESTION).count("<|im_start|>") == 3
