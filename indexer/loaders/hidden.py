"""Text a reader of a document cannot see: the rules every loader shares, and the note that says how much
was left out.

A document can carry text that is on no page a person looks at: white text on a white page, 1-point
text, text in a PDF's invisible render mode or off the page, an HTML element styled ``display:none``, a
Word run marked hidden. A reader never sees it, so a question about the document is never answered
from it; but a model reads all of a passage, and such text is where an instruction to the model hides.
The loaders leave it out of the text they return (so it is neither indexed nor quoted to the model)
and say so in a note of the document (`hidden_note`), which the index report shows as "indexed in part".
"""

from __future__ import annotations

from dataclasses import dataclass, field

RGB = tuple[float, float, float]
"""A colour as red, green and blue in 0..1."""
WHITE: RGB = (1.0, 1.0, 1.0)

MIN_TEXT_PT = 2.0
"""Text smaller than this (in points, as printed) is not read by anyone: footnotes and subscripts are 5 pt
and more, a 1-point line is a grey hairline."""
FAINT_CONTRAST = 1.25
"""Text whose contrast ratio with what lies under it (WCAG's, 1 to 21) is below this is not seen: white on
white is 1.0, #f8f8f8 on white 1.07, light grey #cccccc on white, hard to read but read, 1.6."""
MAX_GROUNDS = 256
"""How many painted areas, the latest first, are looked through for what lies under a piece of text; a
chart's thousands of shapes cost no more than this."""


def luminance(colour: RGB) -> float:
    """WCAG's relative luminance of a colour."""

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(min(max(c, 0.0), 1.0)) for c in colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: RGB, b: RGB) -> float:
    """WCAG's contrast ratio of two colours: 1 (the same) to 21 (black on white)."""
    la, lb = luminance(a), luminance(b)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def faint(text: RGB, ground: RGB = WHITE) -> bool:
    """True when text of colour `text` on `ground` cannot be told from it (white on white, near-white)."""
    return contrast(text, ground) < FAINT_CONTRAST


def tiny(points: float) -> bool:
    """True when text of this printed size (points) is too small for anyone to read."""
    return abs(points) < MIN_TEXT_PT


def visible_chars(text: str) -> int:
    """How many characters of `text` are not white space (`str.isspace`): what a note of hidden text counts.
    Counted by `str.split`, in C: the PDF loader counts every page's characters (`pdf.text_damage`)."""
    return len("".join(text.split()))


def hidden_note(chars: int) -> str:
    """The document note for `chars` characters of text left out because a reader cannot see them."""
    return (
        f"{chars} character{'s' if chars != 1 else ''} of hidden text left out (text a reader of the document "
        "does not see: white, tiny or invisible text, hidden markup); not indexed, never shown to the model"
    )


@dataclass(frozen=True)
class Ground:
    """An area painted on a page: its box (left, bottom, right, top) and its colour; None for an image or
    a shading, whose colour under a given point is not known."""

    left: float
    bottom: float
    right: float
    top: float
    colour: RGB | None

    def holds(self, x: float, y: float) -> bool:
        return self.left <= x <= self.right and self.bottom <= y <= self.top


@dataclass
class Grounds:
    """The areas painted on a page so far, in drawing order: what lies under a point is the latest one
    that holds it, else the page (white)."""

    areas: list[Ground] = field(default_factory=list)
    images: list[Ground] = field(default_factory=list)
    """Every image and shading of the page, in any order (for the text layer of a scan)."""
    colours: set[RGB] = field(default_factory=lambda: {WHITE})
    """The colours painted so far, and the page's white."""

    def add(self, ground: Ground) -> None:
        self.areas.append(ground)
        if ground.colour is None:
            self.images.append(ground)
        else:
            self.colours.add(ground.colour)

    def under(self, x: float, y: float) -> RGB | None:
        """The colour under a point: the latest painted area's, WHITE for the bare page, None for an image."""
        for ground in reversed(self.areas[-MAX_GROUNDS:]):
            if ground.holds(x, y):
                return ground.colour
        return WHITE

    def on_image(self, x: float, y: float) -> bool:
        """True when an image or shading anywhere on the page (drawn before or after) holds the point."""
        return any(image.holds(x, y) for image in self.images)
