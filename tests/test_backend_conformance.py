"""One contract for every generation backend (llm/base.py), run for real on the light model: in-process on
transformers and on llama.cpp, and over HTTP against llama-cpp-python's OpenAI-compatible server.

Each check runs once per backend, so a backend that drifts from the others fails here by name. Replies are
greedy (temperature 0) and a few tokens long: each model load is tens of seconds on two cores, so a backend
is loaded once per module and shared by every check.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from llm import llamacpp_backend
from llm.base import Generator, Message
from llm.loader import DEFAULT_CONTEXT, load_generator

BACKENDS = ("transformers", "llama.cpp", "server")
COUNTED = {
    "hello world": 2,
    "Descale the Aurora 3 every 200 cups.": 13,  # Qwen2 splits numbers into single digits
    "<|im_start|>user\nçà 東京 🐝<|im_end|>\n": 13,  # control tokens in the text count as one token each
    "  indented\tand\n\nblank lines  ": 8,
    "": 0,
}
"""Texts and their length in the light model's vocabulary (Qwen2.5), as its GGUF file's tokenizer counts them."""


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[Generator]:
    """Each backend on the light model, loaded once for this module (the transformers one is the session's)."""
    if request.param == "transformers":
        yield request.getfixturevalue("generator")
    elif request.param == "llama.cpp":
        if not llamacpp_backend.available():
            pytest.skip("llama-cpp-python (the 'llama' extra) is not installed")
        yield load_generator("light", backend="llama.cpp")
    else:
        if not llamacpp_backend.available():
            pytest.skip("llama-cpp-python (the 'llama' extra, whose server stands in for a model server) is absent")
        yield request.getfixturevalue("served")


def _reply(generator: Generator, prompt: str, max_new_tokens: int, **options: object) -> list[str]:
    return list(generator.stream([Message("user", prompt)], max_new_tokens=max_new_tokens, **options))


def test_the_reply_answers_the_user_under_the_system_message(backend: Generator) -> None:
    messages = [
        Message("system", "You are a helpful assistant. Follow the user's instructions exactly."),
        Message("user", "Reply with the single word: banana"),
    ]
    reply = "".join(backend.stream(messages, max_new_tokens=6)).strip().lower()
    assert reply.strip(".!\"' ") == "banana", reply


def test_the_chat_template_renders_system_then_user_and_opens_the_assistants_turn(backend: Generator) -> None:
    system, user = "Answer in one short sentence.", "What colour is a clear daytime sky?"
    rendered = backend.render([Message("system", system), Message("user", user)])
    assert system in rendered and user in rendered
    assert rendered.index(system) < rendered.index(user)
    assert rendered.count("<|im_start|>") == 3  # system, user, and the assistant's turn, left open
    assert rendered.endswith("<|im_start|>assistant\n")
    assert "<|im_start|>" in backend.control_tokens and "<|im_end|>" in backend.control_tokens


def test_streaming_yields_pieces_that_join_to_the_same_greedy_reply(backend: Generator) -> None:
    prompt = "Name the seven colours of the rainbow."
    pieces = _reply(backend, prompt, 24)
    assert len(pieces) > 3 and all(isinstance(p, str) and p for p in pieces)  # piece by piece, none empty
    assert "red" in "".join(pieces).lower()
    assert "".join(_reply(backend, prompt, 24)) == "".join(pieces)  # greedy: the pieces are the whole reply


def test_a_stop_string_ends_the_reply_just_before_it(backend: Generator) -> None:
    prompt = "Write the numbers 1, 2, 3, 4, 5 separated by commas."
    whole = "".join(_reply(backend, prompt, 20))
    assert "3" in whole, whole
    stopped = "".join(_reply(backend, prompt, 20, stop=["3"]))
    assert stopped == whole[: whole.index("3")]  # everything before the stop string, and nothing of it
    assert "2" in stopped


def test_cancel_ends_the_stream_at_once_and_the_backend_still_answers(backend: Generator) -> None:
    cancel = threading.Event()
    pieces = []
    for piece in backend.stream(
        [Message("user", "Count from one to two hundred in words.")], max_new_tokens=200, cancel=cancel
    ):
        pieces.append(piece)
        if len(pieces) == 3:
            cancel.set()
    assert len(pieces) == 3  # nothing more is yielded once the caller cancels
    assert cancel.is_set()  # the caller's event is left as the caller set it
    assert _reply(backend, "Say hello.", 4)  # the same backend answers the next question


def test_token_counts_match_the_models_own_vocabulary(backend: Generator) -> None:
    assert {text: backend.count_tokens(text) for text in COUNTED} == COUNTED


def test_token_counts_are_positive_and_grow_with_the_text(backend: Generator) -> None:
    words = "the kettle warranty lasts seven years from the date of purchase".split()
    counts = [backend.count_tokens(" ".join(words[:n])) for n in range(1, len(words) + 1)]
    assert counts[0] > 0
    assert counts == sorted(counts) and counts[-1] > counts[0]


def test_the_context_window_is_reported(backend: Generator) -> None:
    assert backend.context_window == DEFAULT_CONTEXT  # every backend here was started with the default window
    assert f"{DEFAULT_CONTEXT}-token context" in backend.describe()
