"""The context budget with the real model's tokenizer: it never overflows the window, it keeps the
passages within their own budget, and the compressed prompt for a real question stays small."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.embedder import Embedder
from indexer.store import Store
from indexer.types import Chunk, Hit
from llm import llamacpp_backend
from llm.base import Generator, Message
from llm.loader import load_generator
from rag.answer import Answerer, AnswerSettings
from rag.citations import CitedAnswer
from rag.context import ContextOverflow, Numbering, plan_context
from rag.conversation import Conversation, Turn, plan_turn
from rag.prompt import NO_NEW_SOURCES, format_source, question_message, system_prompt

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
    passage_tokens=st.none() | st.integers(1, 800),
)
def test_plan_never_exceeds_the_window(
    generator: Generator,
    window: int,
    reserve: int,
    passage_lengths: list[int],
    history_lengths: list[int],
    question_words: int,
    passage_tokens: int | None,
) -> None:
    hits = _hits(passage_lengths)
    history = [
        Message("user" if i % 2 == 0 else "assistant", " ".join(["history"] * n)) for i, n in enumerate(history_lengths)
    ]
    question = " ".join(["question"] * question_words)
    minimum = _bare_prompt_tokens(generator, question)
    if minimum + reserve > window:  # not even the bare question fits: the one case that must be refused
        with pytest.raises(ContextOverflow):
            plan_context(
                generator, question, hits, history, answer_reserve=reserve, window=window, passage_tokens=passage_tokens
            )
        return
    plan = plan_context(
        generator, question, hits, history, answer_reserve=reserve, window=window, passage_tokens=passage_tokens
    )
    real = generator.count_tokens(generator.render(plan.messages))
    assert real + reserve <= window
    assert real == plan.prompt_tokens
    assert sum(plan.segments().values()) == window
    assert plan.included == hits[: len(plan.included)]  # passages kept by rank, weakest dropped first
    assert plan.included + plan.dropped == hits
    assert plan.messages[1 : 1 + plan.history_messages] == history[len(history) - plan.history_messages :]
    if passage_tokens is not None:
        assert sum(generator.count_tokens(h.chunk.text) for h in plan.included) <= passage_tokens


def _bare_prompt_tokens(generator: Generator, question: str) -> int:
    """Tokens of the prompt a plan cannot do without (system prompt and question, no passages or history),
    rendered here by hand through the model's chat template."""
    messages = [Message("system", system_prompt()), Message("user", question_message(question, []))]
    return generator.count_tokens(generator.render(messages))


def test_the_smallest_window_that_fits_gets_a_plan_and_one_token_less_is_refused(generator: Generator) -> None:
    hits = _hits([40, 40])
    history = [Message("user", "earlier question"), Message("assistant", "earlier answer")]
    question = "How often should the kettle be descaled?"
    exact = _bare_prompt_tokens(generator, question) + 100
    plan = plan_context(generator, question, hits, history, answer_reserve=100, window=exact)
    assert plan.free == 0 and plan.included == [] and plan.history_messages == 0
    assert plan.dropped == hits and plan.dropped_messages == 2
    assert question in generator.render(plan.messages)
    with pytest.raises(ContextOverflow, match=f"more than the {exact - 1}-token window"):
        plan_context(generator, question, hits, history, answer_reserve=100, window=exact - 1)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    passage_lengths=st.lists(st.integers(1, 400), max_size=8),
    history_lengths=st.lists(st.integers(1, 300), max_size=6),
    question_words=st.integers(1, 60),
)
def test_a_generous_window_holds_everything(
    generator: Generator, passage_lengths: list[int], history_lengths: list[int], question_words: int
) -> None:
    hits = _hits(passage_lengths)
    history = [Message("user" if i % 2 == 0 else "assistant", "history " * n) for i, n in enumerate(history_lengths)]
    plan = plan_context(generator, "question " * question_words, hits, history, answer_reserve=384, window=32768)
    assert plan.included == hits and plan.dropped == []
    assert plan.history_messages == len(history) and plan.dropped_messages == 0
    assert sum(plan.segments().values()) == 32768


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


def test_a_follow_ups_passages_are_numbered_on_from_the_conversations(generator: Generator) -> None:
    hits = _hits([30, 30])
    plan = plan_context(generator, "and then?", hits, answer_reserve=100, numbering=Numbering(6, earlier=True))
    assert list(plan.numbered) == [6, 7] and plan.numbered[6] == hits[0]
    assert '<source id="6"' in plan.messages[-1].content and '<source id="1"' not in plan.messages[-1].content
    none_new = plan_context(generator, "and then?", [], answer_reserve=100, numbering=Numbering(6, earlier=True))
    assert NO_NEW_SOURCES in none_new.messages[-1].content  # not "no sources found": the earlier ones apply


@pytest.mark.skipif(not llamacpp_backend.available(), reason="llama-cpp-python (the 'llama' extra) is not installed")
def test_a_follow_up_sends_only_what_the_earlier_messages_do_not_carry_of_a_passage() -> None:
    """The light model on llama.cpp, holding the first exchange as a conversation leaves it."""
    generator = load_generator("light", backend="llama.cpp")
    page = (
        "Alpha: the kettle holds two litres. Beta: it boils in three minutes. "
        "Gamma: descale it every four weeks. Delta: the base is dishwasher safe."
    )

    def passage(first: str, last: str) -> Hit:
        start, end = page.index(first), page.index(".", page.index(last)) + 1
        return Hit(Chunk(7, 3, start, end, page[start:end], id=70, path="/docs/kettle.pdf"), 0.9)

    earlier = passage("Alpha", "Beta")
    asked = "How much does it hold?"
    answer = CitedAnswer(asked, "It holds two litres [1].", {1: earlier.chunk}, [1])
    message = question_message(asked, [format_source(1, earlier, generator.control_tokens)])
    conversation = Conversation([Turn(asked, answer, [earlier], {1: earlier}, message)])
    generator.prefill(generator.render([Message("system", system_prompt()), *conversation.history()]))
    planned = plan_turn(
        generator,
        "And how often do I descale it?",
        [passage("Beta", "Delta"), passage("Alpha", "Alpha")],
        conversation,
        answer_reserve=100,
        passage_tokens=None,
        relocate=list,
    )
    assert planned.plan.messages[1].content == message  # the history carries the earlier message as sent
    ((number, rest),) = planned.plan.numbered.items()  # only the part of the first passage not carried
    assert number == 2 and rest.chunk.text == page[page.index("Gamma") :]
    assert page[rest.chunk.char_start : rest.chunk.char_end] == rest.chunk.text  # its span stays exact
    new = planned.plan.messages[-1].content
    assert "Gamma" in new and "Beta" not in new and "Alpha" not in new
    assert list(planned.evidence) == [1, 2] and planned.sources.keys() == {1, 2}


def test_a_question_too_long_for_the_window_is_refused_clearly(generator: Generator) -> None:
    with pytest.raises(ContextOverflow, match="more than the 300-token window"):
        plan_context(generator, "why " * 400, [], answer_reserve=50, window=300)


def test_passages_stop_by_rank_at_their_own_budget(generator: Generator) -> None:
    hits = _hits([60, 60, 60])
    first_two = sum(generator.count_tokens(h.chunk.text) for h in hits[:2])
    plan = plan_context(generator, "what now?", hits, answer_reserve=100, window=4096, passage_tokens=first_two)
    assert plan.included == hits[:2] and plan.dropped == hits[2:]


@pytest.fixture(scope="module")
def faq(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> tuple[Store, dict[int, int]]:
    from test_compress import faq_subset_store

    return faq_subset_store(tmp_path_factory.mktemp("faq-subset"), embedder)


def test_the_compressed_prompt_for_a_real_question_is_small_and_maps_to_its_pages(
    faq: tuple[Store, dict[int, int]], embedder: Embedder, generator: Generator
) -> None:
    store, _ = faq
    question = "What is the latest version of Debian?"
    settings = AnswerSettings()
    compressed = Answerer(store, embedder, generator, settings).prepare(question).plan
    whole = Answerer(store, embedder, generator, AnswerSettings(compress=False)).prepare(question).plan
    assert len(compressed.included) >= 3
    assert compressed.prompt_tokens <= 650 < whole.prompt_tokens
    assert compressed.prompt_tokens == generator.count_tokens(generator.render(compressed.messages))
    assert sum(generator.count_tokens(h.chunk.text) for h in compressed.included) <= settings.passage_tokens
    assert sum(compressed.segments().values()) == compressed.window
    for hit in compressed.included:
        c = hit.chunk
        assert store.page_text(c.doc_id, c.page)[c.char_start : c.char_end] == c.text
    assert any("Currently there are three versions of Debian" in h.chunk.text for h in compressed.included)


def test_every_prompt_starts_with_the_same_system_message(
    faq: tuple[Store, dict[int, int]], embedder: Embedder, generator: Generator
) -> None:
    store, _ = faq
    answerer = Answerer(store, embedder, generator)
    first = generator.render(answerer.prepare("What is the latest version of Debian?").plan.messages)
    second = generator.render(answerer.prepare("How can I download the updates only once?").plan.messages)
    head = first.index(system_prompt())
    assert head < 40  # only the template's role marker comes before it
    cut = head + len(system_prompt())
    assert first[:cut] == second[:cut]  # a stable prefix for the backend's KV cache
