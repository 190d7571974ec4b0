"""The contract every generation backend keeps: chat messages in, streamed text out."""

from __future__ import annotations

import math
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    """One chat turn: role is ``system``, ``user`` or ``assistant``."""

    role: str
    content: str


class Halt:
    """Stops one generation: set by the backend itself (stop string, consumer gone) or by the
    caller's cancel event, without ever setting the caller's event."""

    def __init__(self, cancel: threading.Event | None = None) -> None:
        self._cancel = cancel
        self._own = threading.Event()

    def set(self) -> None:
        """Stop this generation."""
        self._own.set()

    def is_set(self) -> bool:
        """True once this generation should stop."""
        return self._own.is_set() or (self._cancel is not None and self._cancel.is_set())


class Generator(ABC):
    """A loaded local model that streams a reply to chat messages."""

    name: str
    backend: str
    device: str
    context_window: int
    control_tokens: tuple[str, ...]
    """The model's special tokens (``<|im_start|>`` …), which document text must never carry."""
    prompt_tokens_read: int | None = None
    """Tokens of the last streamed prompt the model processed, the part it held already not counted
    (None where the backend cannot tell)."""

    @abstractmethod
    def render(self, messages: Sequence[Message]) -> str:
        """The prompt text the model's chat template makes of the messages, ready for a reply."""

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Tokens of `text` in this model's own tokenizer (no special tokens added)."""

    @abstractmethod
    def stream_prompt(self, prompt: str, max_new_tokens: int, temperature: float, halt: Halt) -> Iterator[str]:
        """Stream the continuation of an already rendered prompt until EOS, the limit or `halt`."""

    def stream(
        self,
        messages: Sequence[Message],
        max_new_tokens: int = 512,
        temperature: float = 0.0,
        stop: Sequence[str] = (),
        cancel: threading.Event | None = None,
    ) -> Iterator[str]:
        """Stream the reply to `messages`; ends at EOS, `max_new_tokens`, a `stop` string (not yielded)
        or when `cancel` is set."""
        halt = Halt(cancel)
        pieces = self.stream_prompt(self.render(messages), max_new_tokens, temperature, halt)
        if not stop:
            yield from pieces
            return
        yield from _cut_at_stop(pieces, tuple(stop), halt)

    def prefill(self, prompt: str) -> None:
        """Have the model hold `prompt` (a prefix every prompt starts with) so the next prompt that
        starts with it processes only the rest; nothing where the backend keeps no state between calls."""
        return None

    def held_tokens(self, prompt: str) -> int:
        """How many tokens of `prompt`, from its first, the model holds already (processed by an earlier
        call and still in its cache); 0 where the backend keeps no state between calls."""
        return 0

    def keep(self) -> object | None:
        """What the model holds now (the tokens it has read and their cache), for `restore` to put back
        after other prompts (the citation judge's) have displaced it; None where the backend keeps no
        state between calls."""
        return None

    def restore(self, kept: object | None) -> None:
        """Hold again what `keep` returned, so a prompt that starts with those tokens processes only the
        rest; nothing for None."""
        return None

    def parameters(self) -> int | None:
        """How many weights the model has (None where the backend cannot tell)."""
        return None

    def choice_probabilities(self, prompt: str, options: Sequence[str]) -> dict[str, float] | None:
        """How likely the model is to continue an already rendered prompt with each option (its first
        token), normalised over the options; None where the backend cannot read its next-token
        scores (a model server)."""
        return None

    def describe(self) -> str:
        """One line for the user: model, backend, device, window."""
        return f"{self.name} via {self.backend} on {self.device}, {self.context_window}-token context"


def _cut_at_stop(pieces: Iterator[str], stop: tuple[str, ...], halt: Halt) -> Iterator[str]:
    """Pass text through, holding back just enough to cut it before the first stop string."""
    held = ""
    longest = max(len(s) for s in stop)
    for piece in pieces:
        held += piece
        positions = [held.find(s) for s in stop if s in held]
        if positions:
            if cut := held[: min(positions)]:
                yield cut
            halt.set()
            return
        if len(held) > longest:
            yield held[: len(held) - longest]
            held = held[len(held) - longest :]
    if held:
        yield held


def normalised(options: Sequence[str], logits: Sequence[float]) -> dict[str, float]:
    """A softmax over the options' logits."""
    top = max(logits)
    weights = [math.exp(value - top) for value in logits]
    return {option: weight / sum(weights) for option, weight in zip(options, weights, strict=True)}
