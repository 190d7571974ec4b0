"""The context budget: the model's window is RAM, and this module decides what is paged in.

The window is split into segments (system prompt, conversation history, retrieved passages, the
question, chat-template overhead, a reserve for the answer) filled by priority with exact counts
from the model's own tokenizer. When it does not all fit, the oldest history is evicted first,
then the weakest passages. The final prompt is rendered and counted, so the plan can never exceed
the window.

The window is not the only limit: every prompt token costs time before the first answer token
(about 40 tokens/s on a 2-core CPU), so the passages also have a budget of their own
(`PassageBudget`), which `rag.compress` fits them into and `plan_context` enforces.

The system message comes first and is the same for every question, so a backend that keeps the
KV cache of the prompt prefix it has already seen reuses it from one question to the next. In a
conversation the history can carry each earlier message as it was sent, passages included
(`rag.answer.Conversation`): a follow-up's prompt then begins with everything the model has read and
written, and only its own message is new; its passages are numbered on from the earlier ones
(`Numbering`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from indexer.types import Hit
from llm.base import Generator, Message
from rag.prompt import format_source, question_message, system_prompt
from usererrors import InvalidValue, Todo, UserError

DEFAULT_ANSWER_RESERVE = 384
DEFAULT_PASSAGE_TOKENS = 300
DEFAULT_PASSAGE_MAX_TOKENS = 120


@dataclass(frozen=True)
class PassageBudget:
    """Tokens of passage text (each source's fence and label not counted) one prompt may carry:
    `total` over all passages, at most `per_passage` for any one."""

    total: int = DEFAULT_PASSAGE_TOKENS
    per_passage: int = DEFAULT_PASSAGE_MAX_TOKENS

    def __post_init__(self) -> None:
        if self.total < 1 or self.per_passage < 1:
            raise InvalidValue("passage budgets must be positive")

    def share(self, spent: int, remaining: int) -> int:
        """The budget of the next passage, when `spent` tokens are already used and `remaining` passages
        (this one included) are still to place: an equal share of what is left, at most `per_passage`."""
        return max(0, min(self.per_passage, (self.total - spent) // max(1, remaining)))


@dataclass(frozen=True)
class Numbering:
    """How a prompt numbers its passages: from `first` on (a follow-up's after those its conversation
    used); `earlier`: the history carries numbered passages too, so a follow-up with no new ones says
    that those apply."""

    first: int = 1
    earlier: bool = False


class ContextOverflow(UserError):
    """Even the system prompt, the question and the answer reserve do not fit the window (`window`
    tokens)."""

    advice = Todo("ask a shorter question or choose a model with a larger context")

    def __init__(self, what: str, window: int) -> None:
        super().__init__(what)
        self.window = window


@dataclass(frozen=True)
class ContextPlan:
    """What goes into one prompt and what each part costs, in the model's tokens."""

    window: int
    system: int
    history: int
    passages: int
    question: int
    template: int
    answer_reserve: int
    included: list[Hit]
    dropped: list[Hit]
    history_messages: int
    dropped_messages: int
    messages: list[Message] = field(repr=False)
    first_number: int = 1
    """The number of the first included passage; the others follow on (a follow-up's passages are
    numbered on from those its conversation's earlier messages carry)."""

    @property
    def numbered(self) -> dict[int, Hit]:
        """The included passages by the numbers the prompt gives them."""
        return dict(enumerate(self.included, start=self.first_number))

    @property
    def prompt_tokens(self) -> int:
        """Tokens of the rendered prompt."""
        return self.system + self.history + self.passages + self.question + self.template

    @property
    def free(self) -> int:
        """Tokens of the window left unused after the prompt and the answer reserve."""
        return self.window - self.prompt_tokens - self.answer_reserve

    def segments(self) -> dict[str, int]:
        """Segment name -> tokens, in the order the meter draws them; they sum to the window."""
        return {
            "system": self.system,
            "history": self.history,
            "passages": self.passages,
            "question": self.question,
            "template": self.template,
            "answer reserve": self.answer_reserve,
            "free": self.free,
        }

    def describe(self) -> str:
        """The plan as a few lines for ``--show-context``."""
        lines = [f"Context window: {self.window} tokens"]
        for name, tokens in self.segments().items():
            share = tokens / self.window if self.window else 0
            lines.append(f"  {name:<15}{tokens:>6}  {'█' * round(share * 40)}")
        for number, hit in self.numbered.items():
            lines.append(f"  [{number}] {hit.chunk.path.rsplit('/', 1)[-1]} {hit.chunk.where}")
        if self.dropped:
            lines.append(f"  {len(self.dropped)} passage(s) did not fit")
        if self.dropped_messages:
            lines.append(f"  {self.dropped_messages} older message(s) paged out")
        return "\n".join(lines)


def plan_context(
    generator: Generator,
    question: str,
    hits: Sequence[Hit],
    history: Sequence[Message] = (),
    answer_reserve: int = DEFAULT_ANSWER_RESERVE,
    window: int | None = None,
    passage_tokens: int | None = None,
    numbering: Numbering | None = None,
) -> ContextPlan:
    """Fill the window by priority: system, question and answer reserve first; then passages by rank;
    then history, newest first. Evicts oldest history, then weakest passages, until the rendered prompt
    fits. With `passage_tokens`, passages also stop (by rank) where their text would pass that many
    tokens, however much room the window has. The passages are numbered as `numbering`
    says (from 1 when it is not given)."""
    window = window or generator.context_window
    system = system_prompt()
    # the fixed part first: without room for it there is no prompt at all
    budget = window - answer_reserve - _fixed_tokens(generator, system, question, answer_reserve, window)
    # then what the estimate says fits: passages by rank, then history, newest first
    numbering = numbering or Numbering()
    chosen = _Selection(first_number=numbering.first, earlier=numbering.earlier)
    budget = _take_passages(generator, hits, budget, passage_tokens, chosen)
    _take_history(generator.count_tokens, history, budget, chosen)
    # the rendered prompt is the judge: the template's own tokens were only estimated
    total = _evict_until_it_fits(generator, system, question, window - answer_reserve, chosen)
    return _account(generator.count_tokens, window, answer_reserve, system, question, total, chosen, len(history))


@dataclass
class _Selection:
    """What a plan is filling: passages kept (with their rendered blocks), passages left out, history kept."""

    included: list[Hit] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)
    dropped: list[Hit] = field(default_factory=list)
    history: list[Message] = field(default_factory=list)
    first_number: int = 1
    earlier: bool = False

    def message(self, question: str) -> str:
        """The user message for this selection."""
        return question_message(question, self.blocks, self.earlier)

    def messages(self, system: str, question: str) -> list[Message]:
        """The prompt's messages for this selection."""
        return [Message("system", system), *self.history, Message("user", self.message(question))]


def _rendered_tokens(generator: Generator, messages: Sequence[Message]) -> int:
    """Tokens of the messages as the chat template renders them."""
    return generator.count_tokens(generator.render(messages))


def _fixed_tokens(generator: Generator, system: str, question: str, answer_reserve: int, window: int) -> int:
    """Tokens of the system prompt and the bare question, rendered; ContextOverflow when they and the
    answer reserve do not fit the window."""
    fixed = _rendered_tokens(generator, [Message("system", system), Message("user", question_message(question, []))])
    if fixed + answer_reserve > window:
        raise ContextOverflow(
            f"the question needs {fixed} tokens and the answer {answer_reserve}, more than the {window}-token window",
            window,
        )
    return fixed


def _take_passages(
    generator: Generator, hits: Sequence[Hit], budget: int, passage_tokens: int | None, chosen: _Selection
) -> int:
    """Include passages by rank while their blocks fit `budget` (and their text `passage_tokens`); the
    first that does not, and every weaker one, stay out. Returns the budget left."""
    count = generator.count_tokens
    text_budget = passage_tokens
    for position, hit in enumerate(hits):
        block = format_source(chosen.first_number + len(chosen.blocks), hit, generator.control_tokens)
        cost = count(block + "\n\n")
        text_cost = count(hit.chunk.text) if text_budget is not None else 0
        if cost > budget or (text_budget is not None and text_cost > text_budget):
            chosen.dropped = list(hits[position:])  # this and every weaker passage stay on disk: by rank
            break
        chosen.included.append(hit)
        chosen.blocks.append(block)
        budget -= cost
        if text_budget is not None:
            text_budget -= text_cost
    return budget


def _take_history(count: Callable[[str], int], history: Sequence[Message], budget: int, chosen: _Selection) -> None:
    """Keep the newest messages of the conversation that fit `budget`, in order."""
    for message in reversed(history):
        cost = count(message.content) + 8  # role markers of the chat template
        if cost > budget:
            break
        chosen.history.insert(0, message)
        budget -= cost


def _evict_until_it_fits(generator: Generator, system: str, question: str, limit: int, chosen: _Selection) -> int:
    """Drop the oldest history, then the weakest passages, until the rendered prompt takes at most `limit`
    tokens; returns its tokens."""
    while True:
        total = _rendered_tokens(generator, chosen.messages(system, question))
        if total <= limit:
            return total
        if chosen.history:
            chosen.history.pop(0)
        else:
            chosen.dropped.insert(0, chosen.included.pop())
            chosen.blocks.pop()


def _account(
    count: Callable[[str], int],
    window: int,
    answer_reserve: int,
    system: str,
    question: str,
    total: int,
    chosen: _Selection,
    history_given: int,
) -> ContextPlan:
    """The plan of a selection whose rendered prompt takes `total` tokens, segment by segment; the
    template's segment is what the others leave of the total."""
    system_tokens = count(system)
    history_tokens = sum(count(m.content) for m in chosen.history)
    passage_tokens = sum(count(b + "\n\n") for b in chosen.blocks)
    question_tokens = count(chosen.message(question)) - passage_tokens
    return ContextPlan(
        window=window,
        system=system_tokens,
        history=history_tokens,
        passages=passage_tokens,
        question=question_tokens,
        template=total - system_tokens - history_tokens - passage_tokens - question_tokens,
        answer_reserve=answer_reserve,
        included=chosen.included,
        dropped=chosen.dropped,
        history_messages=len(chosen.history),
        dropped_messages=history_given - len(chosen.history),
        messages=chosen.messages(system, question),
        first_number=chosen.first_number,
    )
