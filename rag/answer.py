"""One question in, one cited answer out: retrieve, compress, budget the context, stream, cite.

`prepare` does the fast part (retrieval, compression of each passage to the sentences that bear on
the question, and the context plan, which the GUI shows as its meter before the first token);
`generate` streams the model's answer and checks its citations against the compressed passages,
which are exactly what the model saw.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import zip_longest

import numpy as np

from indexer.embedder import Embedder
from indexer.pagekind import CONTENT
from indexer.store import LibraryStore
from indexer.text_units import stems
from indexer.types import Hit
from llm.base import Generator, Message
from rag.citations import Checker, Checking, CitedAnswer, JudgeFn, cite, judge_of, passage_sentences
from rag.citations.judge import answers
from rag.compress import compress_hits
from rag.context import (
    DEFAULT_ANSWER_RESERVE,
    DEFAULT_PASSAGE_MAX_TOKENS,
    DEFAULT_PASSAGE_TOKENS,
    ContextPlan,
    PassageBudget,
)
from rag.conversation import Conversation, Turn, plan_turn, sources_of_this_question, standalone_query
from rag.prompt import CLOSEST_QUOTE, NO_ANSWER, system_prompt
from rag.retriever import CrossEncoderReranker, RetrievalSettings, Retriever, relocated
from rag.scope import Scope


@dataclass(frozen=True)
class AnswerSettings:
    """How answers are made; one object, with sensible defaults for a CPU laptop."""

    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    max_new_tokens: int = 300
    temperature: float = 0.0
    answer_reserve: int = DEFAULT_ANSWER_RESERVE
    relevance_floor: float = 0.27
    """Best dense similarity under which the library is taken to hold nothing on the question:
    the answer is a refusal without asking the model (calibrated on the Debian FAQ questions)."""
    compress: bool = True
    """Cut each passage to the sentences that bear on the question (see `rag.compress`); off, passages
    go in whole and only the window limits them."""
    passage_tokens: int = DEFAULT_PASSAGE_TOKENS
    """Tokens of passage text in one prompt, all passages together, when compressing: with the system
    prompt and the question this keeps the prompt near 500 tokens, a few seconds of prompt processing
    on a 2-core CPU."""
    passage_max_tokens: int = DEFAULT_PASSAGE_MAX_TOKENS
    """Tokens of text of any one passage, when compressing."""
    second_pass_similarity: float = 0.40
    """When the model refuses although the best passage is at least this close to the question, the
    closest sentences are put to it one by one (quote first, `Answerer._second_pass`)."""
    second_pass_confidence: float = 0.8
    """The model's probability that a sentence answers, over which quote first quotes it."""
    second_pass_sentences: int = 5
    """How many sentences quote first puts to the model (about a second each on 2 CPU cores)."""
    judge: bool = True
    """Let the model judge each sentence the words find supported against its evidence sentence
    (`rag.citations.judge`; only a model of a billion weights or more is asked)."""

    @property
    def passage_budget(self) -> PassageBudget:
        """The passage budget these settings make."""
        return PassageBudget(self.passage_tokens, self.passage_max_tokens)


@dataclass
class Prepared:
    """A question ready to generate: its standalone query, passages (compressed when the settings say
    so) and context plan; `sources` are the numbered passages the citations resolve to: the plan's, and
    in a follow-up those the conversation's earlier messages carry."""

    question: str
    query: str
    hits: list[Hit]
    plan: ContextPlan | None
    best_similarity: float
    found: list[Hit] = field(default_factory=list)
    """The passages as retrieved, before compression: whose sentences quote first puts to the model."""
    sources: dict[int, Hit] = field(default_factory=dict)
    evidence: dict[int, Hit] = field(default_factory=dict)
    """The passages found for this question, best first, by their numbers in the prompt: new ones and
    those an earlier message carries already."""

    def turn(self, answer: CitedAnswer) -> Turn:
        """The exchange this question and `answer` make, for the conversation."""
        if self.plan is None:
            return Turn(self.question, answer, [])
        message = self.plan.messages[-1].content
        return Turn(self.question, answer, list(self.sources.values()), self.plan.numbered, message)


@dataclass(frozen=True)
class Found:
    """What the search finds for a question before the model is needed, made once and shared by the
    evidence preview, the relevance gate and the answer: the standalone query and its embedding, the
    best dense similarity of a content passage, the previous turn's passages still relevant, and the
    passages retrieved."""

    query: str
    vector: np.ndarray
    best_similarity: float
    resident: list[Hit]
    hits: list[Hit]


def find(
    store: LibraryStore,
    embedder: Embedder,
    retriever: Retriever,
    relevance_floor: float,
    question: str,
    conversation: Conversation | None = None,
    scope: Scope | None = None,
) -> Found:
    """Search once for a question (one query embedding, one retrieval); see `Found`."""
    query = standalone_query(question, conversation)
    vector = embedder.embed([query])[0]
    # The relevance gate looks at what could be an answer: navigation pages (contents, index) name
    # every topic and would open the gate for questions the library cannot answer.
    kinds = {CONTENT} if store.has_kind(CONTENT) else None
    documents = scope.document_ids(store) if scope is not None else None
    best = store.search_dense(vector, 1, kinds=kinds, documents=documents)
    resident = _resident(store, vector, conversation, relevance_floor)
    resident = [h for h in resident if documents is None or h.chunk.doc_id in documents]
    hits = retriever.retrieve(query, resident=resident, scope=scope, vector=vector)
    return Found(query, vector, best[0].score if best else 0.0, resident, hits)


def _resident(
    store: LibraryStore, query_vector: np.ndarray, conversation: Conversation | None, floor: float
) -> list[Hit]:
    """Passages of the previous turn that are still relevant to the new query, best first."""
    if not conversation or not conversation.turns:
        return []
    previous = conversation.turns[-1].passages
    vectors = store.chunk_vectors([h.chunk.id for h in previous if h.chunk.id is not None])
    scored = [Hit(h.chunk, float(np.dot(vectors[h.chunk.id], query_vector))) for h in previous if h.chunk.id in vectors]
    return sorted((h for h in scored if h.score >= floor), key=lambda h: -h.score)


_SENTENCE_BEGUN = re.compile(r"[.!?…][\"'”’)]*(?:\s*\[[\d,\s]+\])*\s+\S|\n\s*\S")


def _sentence_begun(draft: str, shown: int) -> bool:
    """Whether a new sentence (or line) has begun in `draft` after its first `shown` characters: only
    then can a sentence have been completed since."""
    return _SENTENCE_BEGUN.search(draft, shown) is not None


class Answerer:
    """Answers questions over one library with one generator."""

    def __init__(
        self,
        store: LibraryStore,
        embedder: Embedder,
        generator: Generator,
        settings: AnswerSettings | None = None,
        reranker: CrossEncoderReranker | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.generator = generator
        self.settings = settings or AnswerSettings()
        self.retriever = Retriever(store, embedder.embed, self.settings.retrieval, reranker)

    @property
    def _judge(self) -> JudgeFn | None:
        """The model as a judge of supported sentences, when the settings and the model allow it."""
        return judge_of(self.generator) if self.settings.judge else None

    def find(self, question: str, conversation: Conversation | None = None, scope: Scope | None = None) -> Found:
        """Search once for a question (see `Found`)."""
        return find(
            self.store, self.embedder, self.retriever, self.settings.relevance_floor, question, conversation, scope
        )

    def prepare(
        self,
        question: str,
        conversation: Conversation | None = None,
        scope: Scope | None = None,
        found: Found | None = None,
    ) -> Prepared:
        """Retrieve passages (keeping still-relevant ones from the last turn; only from the documents in
        `scope` when given; `found` when the search was made already), cut them to what bears on the
        question, and plan the context."""
        found = found or self.find(question, conversation, scope)
        query, best_similarity = found.query, found.best_similarity
        if best_similarity < self.settings.relevance_floor and not found.resident:
            return Prepared(question, query, [], None, best_similarity)
        hits = retrieved = found.hits
        budget = self.settings.passage_budget if self.settings.compress else None
        if budget is not None:
            hits = compress_hits(
                query, hits, self.embedder.embed, self.generator.count_tokens, budget, self.store.page_text
            )
            hits = relocated(self.store, hits)
        planned = plan_turn(
            self.generator,
            question,
            hits,
            conversation or Conversation(),
            answer_reserve=self.settings.answer_reserve,
            passage_tokens=budget.total if budget else None,
            relocate=lambda pieces: relocated(self.store, pieces),
        )
        return Prepared(
            question, query, hits, planned.plan, best_similarity, retrieved, planned.sources, planned.evidence
        )

    def generate(
        self,
        prepared: Prepared,
        on_token: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
        on_check: Callable[[Checking], None] | None = None,
    ) -> CitedAnswer:
        """Stream the answer to `on_token` and return it with resolved, checked citations. With
        `on_check`, the verdicts come as they are known: a sentence's words' verdict once it is complete
        (while the answer streams), then the judge's, one sentence at a time, after the last token."""
        if prepared.plan is None:
            if on_token:
                on_token(NO_ANSWER)
            answer = cite(prepared.question, NO_ANSWER, [], self.embedder.embed, self.generator.name)
            answer.timing = {"retrieval_best_similarity": prepared.best_similarity}
            return answer
        checker = Checker(prepared.question, prepared.sources, self.embedder.embed, self.generator.name, self._judge)
        started = time.perf_counter()
        raw, first = self._write(prepared.plan, checker, on_token, on_check, cancel)
        elapsed = time.perf_counter() - started
        written = self.generator.keep()  # the prompt and the answer, which a follow-up's prompt begins with
        checked = time.perf_counter()
        if on_check is not None:
            self._check_all(checker, raw, on_check, cancel)
        answer = checker.cite(raw, judge_more=not (cancel and cancel.is_set()))  # Stop stops the judge too
        answer.sources = sources_of_this_question(answer, prepared.evidence)
        check_seconds = time.perf_counter() - checked
        second = answer.refused and self._worth_a_second_pass(prepared) and not (cancel and cancel.is_set())
        if second:
            answer = self._second_pass(prepared, answer, cancel)
        generated = self.generator.count_tokens(raw)
        decode = elapsed - (first or 0.0)
        answer.timing = {
            "seconds_to_first_token": first or 0.0,
            "seconds": elapsed,
            "tokens": generated,
            "tokens_per_second": (generated - 1) / decode if decode > 0 and generated > 1 else 0.0,
            "prompt_tokens": prepared.plan.prompt_tokens,
            "prompt_tokens_read": self.generator.prompt_tokens_read or prepared.plan.prompt_tokens,
            "check_seconds": check_seconds,
        }
        if second:
            answer.timing["second_pass_seconds"] = time.perf_counter() - started - elapsed - check_seconds
        if self._judge is not None:
            # The judge's prompts replaced the question's in llama.cpp's cache: put it back, so a follow-up
            # processes only its new message, and the next question the system prompt (measured: first
            # token p50 7.5 -> 9.8 s on the FAQ bench without the system prompt put back).
            if written is not None:
                self.generator.restore(written)
            else:
                self.generator.prefill(self.generator.render([Message("system", system_prompt())]))
        return answer

    def _write(
        self,
        plan: ContextPlan,
        checker: Checker,
        on_token: Callable[[str], None] | None,
        on_check: Callable[[Checking], None] | None,
        cancel: threading.Event | None,
    ) -> tuple[str, float | None]:
        """Stream the draft; returns it and the seconds to its first token."""
        started = time.perf_counter()
        first: float | None = None
        pieces: list[str] = []
        shown = 0
        for piece in self._stream(plan, cancel):
            if first is None:
                first = time.perf_counter() - started
            pieces.append(piece)
            if on_token:
                on_token(piece)
            if on_check is not None:
                shown = self._check_sentences(checker, "".join(pieces), shown, on_check)
        return "".join(pieces), first

    def _stream(self, plan: ContextPlan, cancel: threading.Event | None):
        tokens = min(self.settings.max_new_tokens, self.settings.answer_reserve)
        return self.generator.stream(
            plan.messages, max_new_tokens=tokens, temperature=self.settings.temperature, cancel=cancel
        )

    @staticmethod
    def _check_sentences(checker: Checker, draft: str, shown: int, on_check: Callable[[Checking], None]) -> int:
        """Report the verdicts of a draft being written when a sentence has been completed since the last
        report (`shown`: the characters covered then); the words only, the model is busy writing."""
        if _sentence_begun(draft, shown):
            progress = checker.progress(draft)
            if progress.covered > shown:
                on_check(progress)
                return progress.covered
        return shown

    @staticmethod
    def _check_all(
        checker: Checker, draft: str, on_check: Callable[[Checking], None], cancel: threading.Event | None
    ) -> None:
        """Report the finished draft's verdicts, then again after each sentence the judge reads."""
        on_check(checker.progress(draft, complete=True))
        while not (cancel and cancel.is_set()) and checker.judge_next():
            on_check(checker.progress(draft, complete=True))

    def _worth_a_second_pass(self, prepared: Prepared) -> bool:
        """A refusal while a strong passage was found: the passage may say it in other words than the
        question's (seen: the sample's "still covered after two years?" beside "a warranty of three
        years"), or compression may have cut the sentence."""
        return bool(prepared.found) and prepared.best_similarity >= self.settings.second_pass_similarity

    def _second_pass(self, prepared: Prepared, refused: CitedAnswer, cancel: threading.Event | None) -> CitedAnswer:
        """Quote first: the model refused, but a strong passage was found. The sentences of the passages
        (whole, not compressed) closest to the question are put to the model one at a time, "does this
        sentence answer the question?", read from its first token; the one it is surest of, if it says
        yes, becomes the answer, quoted verbatim with its marker (supported by construction). The refusal
        stands when none does, or when the model cannot judge."""
        if self._judge is None:
            return refused
        scored = []
        for number, text in self._quote_candidates(prepared):
            if cancel is not None and cancel.is_set():
                return refused
            scored.append((answers(self.generator, prepared.question, text) or 0.0, number, text))
        if not scored:
            return refused
        chance, number, text = max(scored)
        if chance < self.settings.second_pass_confidence:
            return refused
        quote = f"“{' '.join(text.split()).rstrip('.')}” [{number}]."
        answer = cite(prepared.question, quote, prepared.found, self.embedder.embed, self.generator.name)
        if answer.refused:
            return refused
        # Framed as the closest sentence, not as an answer: on the manuals bench the model's "yes" also
        # picked sentences beside unanswerable questions ("They allow easy connection of your system to
        # the Internet" for a firewalld zone); the quote is what the file says, the user judges the rest.
        answer.text = f"{CLOSEST_QUOTE} {answer.text}"
        answer.refused = True
        return answer

    def _quote_candidates(self, prepared: Prepared) -> list[tuple[int, str]]:
        """The sentences quote first puts to the model, in turn, with their passages' numbers: the
        best passage's own, closest first (the answer is often there in other words than the question's,
        far from it in embedding space), in turn with the closest of the other passages' sentences that
        share most of the question's words. The best passage alone filled every turn, and "Is the
        non-free section part of the Debian system?" was answered with a fragment of it while the FAQ's
        "…which are not formally part of the Debian system" went unread; the others' sentences without
        the question's words were tried too (manuals bench, 42 questions) and the 1.5B judge said yes to
        misleading ones ("The default value is ~/.bash_history" for how many commands bash keeps)."""
        vector = self.embedder.embed([prepared.query])[0]
        units = [(n, u.text) for n, hit in enumerate(prepared.found, 1) for u in passage_sentences(hit.chunk.text)]
        # A question states nothing: quoted, an FAQ's own heading ("Are there package upgrades in stable?")
        # was "the closest the files come" to the answer that follows it.
        units = [(n, text) for n, text in units if len(text.split()) >= 5 and not text.rstrip().endswith("?")]
        if not units:
            return []
        closeness = self.embedder.embed([" ".join(text.split()) for _, text in units]) @ vector
        best = sorted((i for i in range(len(units)) if units[i][0] == 1), key=lambda i: -closeness[i])
        asked = stems(prepared.question)
        others = sorted(
            (i for i in range(len(units)) if units[i][0] != 1 and 2 * len(asked & stems(units[i][1])) > len(asked)),
            key=lambda i: -closeness[i],
        )
        order = [i for pair in zip_longest(best, others) for i in pair if i is not None]
        return [units[i] for i in order[: self.settings.second_pass_sentences]]

    def ask(
        self,
        question: str,
        conversation: Conversation | None = None,
        on_token: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
        on_plan: Callable[[ContextPlan | None], None] | None = None,
        scope: Scope | None = None,
        on_check: Callable[[Checking], None] | None = None,
    ) -> CitedAnswer:
        """Prepare and generate in one call; the plan goes to `on_plan` before the first token, the
        verdicts to `on_check` as they come, and the turn joins `conversation` when given; only
        documents in `scope` are drawn on when given."""
        prepared = self.prepare(question, conversation, scope)
        if on_plan:
            on_plan(prepared.plan)
        answer = self.generate(prepared, on_token, cancel, on_check)
        if conversation is not None:
            conversation.turns.append(prepared.turn(answer))
        return answer
