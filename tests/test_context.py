"""The context budget with the real model's tokenizer: it never overflows the window."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.types import Chunk, Hit
from llm.base import Generator, Message
from rag.context import ContextOverflow, plan_context

WORDS = ["kettle", "warranty", "seven", "years", "<|im_start|>", "descale", "é", "日本", "\n", "1.2", "[INST]"]


def _hits(lengths: list[int]) -> list[Hit]:
    hits = []
    for i, length in enumerate(lengths):
        text = " ".join(WORDS[(i + j) % len(WORDS)] for j in range(length))
        hits.append(
            Hit(
                Chunk(doc_id=i, page=1, char_start=0, char_end=len(text), text=text, id=i, path=f"/docs/file{i}.txt"),
                1.0 / (i + 1),
            )
        )
    return hits


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    window=st.integers(200, 4096),
    reserve=st.integers(16, 600),
    passage_lengths=st.lists(st.integers(1, 400), max_size=8),
    history_lengths=st.lists(st.integers(1, 300), max_size=6),
    question_words=st.integers(1, 60),
)
def test_plan_never_exceeds_the_window(
    generator: Generator,
    window: int,
    reserve: int,
    passage_lengths: list[int],
    history_lengths: list[int],
    question_words: int,
) -> None:
    hits = _hits(passage_lengths)
    history = [
        Message("user" if i % 2 == 0 else "assistant", " ".join(["history"] * n)) for i, n in enumerate(history_lengths)
    ]
    question = " ".join(["question"] * question_words)
    try:
        plan = plan_context(generator, question, hits, history, answer_reserve=reserve, window=window)
    except ContextOverflow:
        return
    real = generator.count_tokens(generator.render(plan.messages))
    assert real + reserve <= window
    assert real == plan.prompt_tokens
    assert sum(plan.segments().values()) == window
    assert plan.included == hits[: len(plan.included)]  # passages kept by rank, weakest dropped first
    assert plan.included + plan.dropped == hits
    assert plan.messages[1 : 1 + plan.history_messages] == history[len(history) - plan.history_messages :]


def test_oldest_history_goes_before_any_passage(generator: Generator) -> None:
    hits = _hits([60, 60])
    history = [
        Message("user", "old " * 200),
        Message("assistant", "older answer " * 100),
        Message("user", "recent question"),
        Message("assistant", "recent answer"),
    ]
    plan = plan_context(generator, "what now?", hits, history, answer_reserve=100, window=700)
    assert plan.included == hits
    assert plan.dropped_messages == 2 and plan.history_messages == 2


def test_a_question_too_long_for_the_window_is_refused_clearly(generator: Generator) -> None:
    with pytest.raises(ContextOverflow, match="more than the 300-token window"):
        plan_context(generator, "why " * 400, [], answer_reserve=50, window=300)
