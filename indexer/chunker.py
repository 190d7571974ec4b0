"""Token-aware chunking of one page at a time.

A page is cut into units (lines, and sentences inside long lines); units are packed into
chunks of at most `max_tokens` tokens of the embedder's own tokenizer. A chunk prefers to end
where a sentence or paragraph ends, never ends on a heading (a heading goes with the text under
it), never crosses a page, and overlaps the previous chunk by up to `overlap_tokens`. Every chunk
keeps its span: ``chunk.text == page.text[chunk.char_start:chunk.char_end]``.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from indexer.location import describe
from indexer.text_units import block_sentences
from indexer.types import Chunk, Page
from usererrors import InvalidValue, Todo

TokenSpans = Callable[[str], Sequence[tuple[int, int]]]
"""Maps a text to the character span of each of its tokens, in order."""

_HEADING = re.compile(r"^(#{1,6}\s|(chapter|section|part)\s+\w+|\d+(\.\d+)*\.?\s+\S)", re.IGNORECASE)


@dataclass(frozen=True)
class ChunkSettings:
    """How big chunks are, in tokens of the embedder's tokenizer."""

    max_tokens: int = 200
    overlap_tokens: int = 32

    def __post_init__(self) -> None:
        if self.max_tokens < 16:
            raise InvalidValue(f"chunks of {self.max_tokens} tokens are too small: at least 16")
        if not 0 <= self.overlap_tokens <= self.max_tokens // 2:
            raise InvalidValue(
                f"an overlap of {self.overlap_tokens} tokens does not fit chunks of {self.max_tokens}: "
                f"it must be between 0 and {self.max_tokens // 2}",
                Todo("choose a smaller --overlap-tokens or a larger --chunk-tokens", "choose a larger chunk size"),
            )


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    tokens: int
    ends_sentence: bool
    heading: bool


class Chunker:
    """Cuts pages into `Chunk`s with a tokenizer's span function."""

    def __init__(self, token_spans: TokenSpans, settings: ChunkSettings | None = None) -> None:
        self._token_spans = token_spans
        self.settings = settings or ChunkSettings()

    def chunk_pages(self, doc_id: int, pages: Sequence[Page]) -> list[Chunk]:
        """Chunk every page of a document, in page order."""
        return [chunk for page in pages for chunk in self.chunk_page(doc_id, page)]

    def chunk_page(self, doc_id: int, page: Page) -> list[Chunk]:
        """Chunk one page; an empty page gives no chunks. Each chunk's location is named once, here."""
        text = page.text
        if not text.strip():
            return []
        token_starts = [start for start, _ in self._token_spans(text)]
        units = self._units(text, token_starts)
        return [
            Chunk(
                doc_id=doc_id,
                page=page.number,
                char_start=s,
                char_end=e,
                text=text[s:e],
                location=describe(page, s, e),
            )
            for s, e in self._pack(units)
        ]

    def _units(self, text: str, token_starts: list[int]) -> list[_Unit]:
        def count(start: int, end: int) -> int:
            return bisect_left(token_starts, end) - bisect_left(token_starts, start)

        units: list[_Unit] = []
        for line_start, line_end, next_blank in _lines(text):
            pieces = block_sentences(text, line_start, line_end)
            line = text[line_start:line_end]
            heading = len(pieces) == 1 and _looks_like_heading(line)
            for i, (start, end) in enumerate(pieces):
                last = i == len(pieces) - 1
                ends = (last and (next_blank or text[end - 1] in ".!?:…")) or not last
                tokens = count(start, end)
                if tokens > self.settings.max_tokens:
                    units.extend(self._split_long(start, end, token_starts))
                else:
                    units.append(_Unit(start, end, tokens, ends, heading))
        return units

    def _split_long(self, start: int, end: int, token_starts: list[int]) -> list[_Unit]:
        """Cut a unit longer than a chunk at token boundaries."""
        first = bisect_left(token_starts, start)
        last = bisect_left(token_starts, end)
        step = self.settings.max_tokens - self.settings.overlap_tokens
        pieces: list[_Unit] = []
        for i in range(first, last, step):
            piece_start = max(start, token_starts[i])
            j = min(i + self.settings.max_tokens, last)
            piece_end = end if j == last else token_starts[j]
            pieces.append(_Unit(piece_start, piece_end, j - i, j == last, False))
            if j == last:
                break
        return pieces

    def _pack(self, units: list[_Unit]) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        limit, overlap = self.settings.max_tokens, self.settings.overlap_tokens
        first = 0
        while first < len(units):
            total, last = 0, first
            while last < len(units) and total + units[last].tokens <= limit:
                total += units[last].tokens
                last += 1
            last = max(last, first + 1)  # a single unit always fits: long ones were split
            if last < len(units):
                last = _best_end(units, first, last)
            spans.append((units[first].start, units[last - 1].end))
            if last >= len(units):
                break
            first = _overlap_start(units, first, last, overlap)
        return spans


def _best_end(units: list[_Unit], first: int, last: int) -> int:
    """Move a chunk's end back, within its second half, to just before a heading or else to a
    sentence end; never leave a heading as the chunk's last unit."""
    half = first + max(1, (last - first) // 2)
    before_heading = [end for end in range(last, half, -1) if units[end].heading and not units[end - 1].heading]
    sentence_end = [end for end in range(last, half, -1) if units[end - 1].ends_sentence and not units[end - 1].heading]
    if before_heading or sentence_end:
        last = (before_heading or sentence_end)[0]
    while last - 1 > first and units[last - 1].heading:
        last -= 1
    return last


def _overlap_start(units: list[_Unit], first: int, last: int, overlap: int) -> int:
    """First unit of the next chunk: reach back over whole units up to `overlap` tokens."""
    start, carried = last, 0
    while start - 1 > first and carried + units[start - 1].tokens <= overlap:
        start -= 1
        carried += units[start].tokens
    return start


def _lines(text: str) -> list[tuple[int, int, bool]]:
    """(start, end, followed_by_blank_line) of each non-blank line, trimmed of whitespace."""
    result: list[tuple[int, int, bool]] = []
    for match in re.finditer(r"[^\n]+", text):
        raw = match.group()
        stripped = raw.strip()
        if not stripped:
            continue
        start = match.start() + (len(raw) - len(raw.lstrip()))
        end = start + len(stripped)
        following = text[match.end() : match.end() + 3]
        result.append((start, end, following.startswith("\n\n") or following.startswith("\n \n")))
    if result:
        result[-1] = (result[-1][0], result[-1][1], True)
    return result


def _looks_like_heading(line: str) -> bool:
    """A short line that is numbered or marked as a heading, or short and unpunctuated."""
    words = line.split()
    if not words or len(words) > 14 or len(line) > 100:
        return False
    if _HEADING.match(line):
        return True
    return len(words) <= 8 and line[-1] not in ".,;:!?" and line[0].isupper()
