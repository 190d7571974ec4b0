"""Finding a passage inside another extraction of the same page.

Our chunks are spans of the text pypdf or pdfminer extracted; the PDF viewer indexes the page with
pdfium's own text, which differs in whitespace, line breaks, soft hyphens and ligatures. Matching
on letters and digits alone, case-folded, finds the same passage in both.
"""

from __future__ import annotations


def _skeleton(text: str) -> tuple[str, list[int]]:
    """Letters and digits of `text`, case-folded, with each one's index in `text`."""
    chars, positions = [], []
    for index, char in enumerate(text):
        if char.isalnum():
            for folded in char.casefold():
                chars.append(folded)
                positions.append(index)
    return "".join(chars), positions


def locate(haystack: str, needle: str, anchor: int = 40) -> tuple[int, int] | None:
    """The (start, end) span of `needle` in `haystack`, ignoring everything but letters and digits.

    Falls back to matching the needle's first and last `anchor` letters when the middle differs
    (a ligature or a dropped character); None when neither end is found.
    """
    hay, hay_pos = _skeleton(haystack)
    pin, _ = _skeleton(needle)
    if not pin or not hay:
        return None
    found = hay.find(pin)
    if found >= 0:
        return hay_pos[found], hay_pos[found + len(pin) - 1] + 1
    head, tail = pin[:anchor], pin[-anchor:]
    start = hay.find(head)
    if start < 0:
        return None
    end = hay.find(tail, start)
    if end < 0 or end - start > 2 * len(pin):
        return hay_pos[start], hay_pos[min(start + len(pin), len(hay)) - 1] + 1
    return hay_pos[start], hay_pos[end + len(tail) - 1] + 1
