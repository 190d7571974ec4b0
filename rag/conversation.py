"""A conversation: its turns, how a follow-up is searched, and how its prompt is planned.

The context window is RAM: on llama.cpp a follow-up's prompt begins with every earlier message as it
was sent, passages included, which the model holds in its cache already, so only the new message is
processed; a passage an earlier message carries is not sent again, and new ones are numbered on, so one
number means one passage for the whole conversation. Where the model does not hold that beginning, the
history of questions and answers alone is sent: whichever is fewer tokens to read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from indexer.types import Chunk, Hit
from llm.base import Generator, Message
from rag.citations import CitedAnswer, markers
from rag.context import ContextPlan, Numbering, plan_context

_ANAPHORA = re.compile(r"\b(it|its|this|that|these|those|they|them|their|he|she|his|her|there|also|else|more)\b", re.I)


@dataclass
class Turn:
    """One exchange of a conversation: the question, the answer, the passages the answer could cite (its
    own and those earlier messages still carried), and, where known, the numbered passages and the exact
    user message this turn sent (a conversation restored from disk knows neither: its history is the
    bare questions)."""

    question: str
    answer: CitedAnswer
    passages: list[Hit]
    sources: dict[int, Hit] = field(default_factory=dict)
    message: str = ""

    def sent(self) -> str:
        """The user message as the model read it."""
        return self.message or self.question


@dataclass
class Conversation:
    """The turns so far; older ones are paged out of the prompt when the window is full.

    Each turn's message goes back into the history as it was sent, with its numbered passages, so the
    next prompt begins with exactly what the model has read (llama.cpp reuses its cache of it, and only
    the new message is processed), and one citation number means one passage for the whole
    conversation: a follow-up's passages are numbered on from the earlier ones."""

    turns: list[Turn] = field(default_factory=list)

    def history(self, carry: bool = True) -> list[Message]:
        """Past turns as chat messages, oldest first: each user message as sent (with its passages), or,
        without `carry`, the bare questions."""
        messages: list[Message] = []
        for turn in self.turns:
            asked = turn.sent() if carry else turn.question
            messages += [Message("user", asked), Message("assistant", turn.answer.text)]
        return messages

    def next_number(self) -> int:
        """The number a new passage gets: after every number the conversation has used."""
        used = [n for turn in self.turns for n in (*turn.sources, *turn.answer.sources)]
        return max(used, default=0) + 1

    def carried(self, kept_messages: int = -1) -> dict[int, Hit]:
        """The numbered passages the history carries: of every turn, or of those whose message is among
        the newest `kept_messages` messages of `history()` (what a plan kept)."""
        first_kept = 0 if kept_messages < 0 else 2 * len(self.turns) - kept_messages
        carried: dict[int, Hit] = {}
        for index, turn in enumerate(self.turns):
            if 2 * index >= first_kept:
                carried.update(turn.sources)
        return carried


def standalone_query(question: str, conversation: Conversation | None) -> str:
    """Make a follow-up searchable on its own: a short or pronoun-led follow-up carries the previous
    question's words with it ("and how much does it cost?" -> "<previous question> and how much…")."""
    if not conversation or not conversation.turns:
        return question
    if len(question.split()) <= 6 or _ANAPHORA.search(question):
        return f"{conversation.turns[-1].question} {question}"
    return question


Relocate = Callable[[list[Hit]], list[Hit]]
"""Names each passage's location anew from its page (`rag.retriever.relocated`): a part of a passage
spans other lines than the passage."""
MIN_PIECE_WORDS = 4
"""What is left of a passage once the earlier messages' part of it is taken away is sent only from this
many words on."""


@dataclass(frozen=True)
class Planned:
    """A question's context plan in its conversation, the numbered passages its citations resolve to
    (the plan's, and those the kept history carries), and its evidence: the passages found for it, best
    first, by their numbers in the prompt (new ones, and those an earlier message carries already)."""

    plan: ContextPlan
    sources: dict[int, Hit]
    evidence: dict[int, Hit]


def plan_turn(
    generator: Generator,
    question: str,
    hits: list[Hit],
    conversation: Conversation,
    answer_reserve: int,
    passage_tokens: int | None,
    relocate: Relocate,
) -> Planned:
    """The plan of a question in its conversation that the model reads fastest: the history carried
    (cheap while llama.cpp holds it: a follow-up reads only its new message; thousands of tokens where
    it does not: a model server, transformers, another chat asked in between, the oldest turn paged out
    of the window), or the questions and answers alone."""
    inputs = (generator, question, hits, conversation, answer_reserve, passage_tokens, relocate)
    carried = _plan(*inputs, carry=True)
    if not conversation.turns:
        return carried
    compact = _plan(*inputs, carry=False)
    return compact if _to_read(generator, compact.plan) < _to_read(generator, carried.plan) else carried


def _to_read(generator: Generator, plan: ContextPlan) -> int:
    """Tokens of the plan's prompt the model would have to process (what it holds already not counted)."""
    return plan.prompt_tokens - generator.held_tokens(generator.render(plan.messages))


def _plan(
    generator: Generator,
    question: str,
    hits: list[Hit],
    conversation: Conversation,
    answer_reserve: int,
    passage_tokens: int | None,
    relocate: Relocate,
    carry: bool,
) -> Planned:
    """With `carry`, the history carries each turn's message with its passages, and what an earlier
    message carries of a passage (by its span on the page) is not sent again: a passage held whole keeps
    its number, and of one held in part only the rest is sent, as a new numbered passage; one whose
    message the window no longer holds is sent again. Without, the history is the questions and answers
    alone."""
    carried = conversation.carried() if carry else {}
    plan = None
    for _ in range(len(conversation.turns) + 1):
        unread = [_unread(hit, carried) for hit in hits]
        pieces = [rest for (_, rest), hit in zip(unread, hits, strict=True) if rest is not None and rest is not hit]
        relocated = dict(zip(map(id, pieces), relocate(pieces), strict=True))
        unread = [(numbers, relocated.get(id(rest), rest)) for numbers, rest in unread]
        plan = plan_context(
            generator,
            question,
            [rest for _, rest in unread if rest is not None],
            conversation.history(carry),
            answer_reserve=answer_reserve,
            passage_tokens=passage_tokens,
            numbering=Numbering(conversation.next_number(), earlier=bool(carried)),
        )
        still = conversation.carried(plan.history_messages) if carry else {}
        if all(number in still for numbers, _ in unread for number in numbers):
            break
        carried = still
    assert plan is not None
    sources = {**(conversation.carried(plan.history_messages) if carry else {}), **plan.numbered}
    sent = {id(hit): number for number, hit in plan.numbered.items()}
    evidence = {}
    for numbers, rest in unread:  # by rank: what earlier messages hold of a passage, then its rest
        for number in [*numbers, sent.get(id(rest))]:
            if number in sources:
                evidence[number] = sources[number]
    return Planned(plan, sources, evidence)


def _unread(hit: Hit, carried: dict[int, Hit]) -> tuple[list[int], Hit | None]:
    """The carried passages that hold part of `hit` (the same page's text, by span), and the rest of it
    still to send: None when they hold all of it (or all but a few words), `hit` itself when they hold
    none of it (or only its middle), the part after (before) what they hold when they hold its beginning
    (end)."""
    numbers: list[int] = []
    rest: Hit | None = hit
    for number, earlier in carried.items():
        if rest is None:
            break
        held, wanted = earlier.chunk, rest.chunk
        if (held.doc_id, held.page) != (wanted.doc_id, wanted.page) or not _spans_text(held) or not _spans_text(wanted):
            continue
        if held.char_end <= wanted.char_start or wanted.char_end <= held.char_start:
            continue  # apart
        if held.char_start <= wanted.char_start and wanted.char_end <= held.char_end:
            rest = None
        elif held.char_start <= wanted.char_start:
            rest = _slice(rest, held.char_end, wanted.char_end)
        elif wanted.char_end <= held.char_end:
            rest = _slice(rest, wanted.char_start, held.char_start)
        else:
            continue  # it holds only the middle: the passage goes whole
        numbers.append(number)
    return numbers, rest


def _spans_text(chunk: Chunk) -> bool:
    """Whether the chunk's span on its page is its text (``page[char_start:char_end] == text``), so a
    part of it can be cut by page offsets."""
    return chunk.char_end - chunk.char_start == len(chunk.text)


def _slice(hit: Hit, start: int, end: int) -> Hit | None:
    """The part of a passage between two page offsets, trimmed; None when a few words or less are left."""
    chunk = hit.chunk
    text = chunk.text[start - chunk.char_start : end - chunk.char_start]
    start += len(text) - len(text.lstrip())
    text = text.strip()
    if len(text.split()) < MIN_PIECE_WORDS:
        return None
    return Hit(replace(chunk, text=text, char_start=start, char_end=start + len(text)), hit.score)


def sources_of_this_question(answer: CitedAnswer, evidence: dict[int, Hit]) -> dict[int, Chunk]:
    """The answer's passages, less those that only an earlier message of the conversation carried and
    that neither this question's search found nor the answer (or its withheld draft) refers to: the
    passages listed under an answer, and a refusal's closest passages, are this question's."""
    if not evidence:
        return answer.sources
    used = set(evidence) | set(answer.cited) | set(markers(answer.withheld))
    for check in answer.sentences:
        used |= {*check.cites, *check.model_cites, *(e.number for e in check.evidence)}
        if check.contradiction is not None:
            used.add(check.contradiction.number)
    return {number: chunk for number, chunk in answer.sources.items() if number in used}
