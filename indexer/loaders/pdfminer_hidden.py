"""pdfminer.six's side of `pdf_hidden`: a page aggregator that leaves out the characters a reader of the
page does not see, by the same rules as PDFium's side (invisible render mode off an image, a colour that
cannot be told from what lies under it, tiny, off the page). Imported with pdfminer.six, only when a file
is read by it."""

from __future__ import annotations

from typing import Any

from pdfminer.converter import PDFPageAggregator
from pdfminer.layout import LTChar, LTContainer
from pdfminer.utils import apply_matrix_pt

from indexer.loaders.hidden import Ground, Grounds, faint, tiny, visible_chars

_INVISIBLE_MODES = (3, 7)
_STROKE_MODES = (1, 5)


def pdfminer_rgb(colour: object) -> tuple[float, float, float] | None:
    """A pdfminer graphic state colour (grey, RGB or CMYK in 0..1) as RGB; None for a pattern or unknown."""
    if isinstance(colour, (int, float)):
        return (float(colour),) * 3
    if not isinstance(colour, (tuple, list)) or not all(isinstance(c, (int, float)) for c in colour):
        return None
    if len(colour) == 1:
        return (float(colour[0]),) * 3
    if len(colour) == 3:
        return (float(colour[0]), float(colour[1]), float(colour[2]))
    if len(colour) == 4:
        c, m, y, k = (float(v) for v in colour)
        return ((1 - c) * (1 - k), (1 - m) * (1 - k), (1 - y) * (1 - k))
    return None


def _centre(item: Any) -> tuple[float, float]:
    return (item.x0 + item.x1) / 2, (item.y0 + item.y1) / 2


class HidingAggregator(PDFPageAggregator):
    """pdfminer.six's page aggregator, less the characters a reader does not see; `hidden_chars` counts
    them (not white space) for the page last read."""

    hidden_chars = 0

    def begin_page(self, page: Any, ctm: Any) -> None:
        super().begin_page(page, ctm)
        self.hidden_chars = 0
        self._grounds = Grounds()
        self._invisible: list[tuple[LTContainer, LTChar]] = []
        self._mode = 0
        self._page_box = self.cur_item.bbox

    def render_string(self, textstate: Any, seq: Any, ncs: Any, graphicstate: Any) -> None:
        self._mode = getattr(textstate, "render", 0)
        super().render_string(textstate, seq, ncs, graphicstate)

    def render_char(self, *args: Any, **kwargs: Any) -> float:
        advance = super().render_char(*args, **kwargs)
        item = self.cur_item._objs[-1]
        if self._mode in _INVISIBLE_MODES and not (tiny(item.size) or self._off_page(item)):
            self._invisible.append((self.cur_item, item))  # decided at the page's end: is it on an image?
        elif self._unseen(item):
            self.cur_item._objs.pop()
            self.hidden_chars += visible_chars(item.get_text())
        return advance

    def _unseen(self, item: LTChar) -> bool:
        if tiny(item.size) or self._off_page(item):
            return True
        state = item.graphicstate
        colour = pdfminer_rgb(state.scolor if self._mode in _STROKE_MODES else state.ncolor)
        ground = self._grounds.under(*_centre(item))
        return colour is not None and ground is not None and faint(colour, ground)

    def _off_page(self, item: LTChar) -> bool:
        left, bottom, right, top = self._page_box
        return item.x1 < left or item.x0 > right or item.y1 < bottom or item.y0 > top

    def paint_path(self, gstate: Any, stroke: bool, fill: bool, evenodd: bool, path: Any) -> None:
        super().paint_path(gstate, stroke, fill, evenodd, path)
        colour = pdfminer_rgb(gstate.ncolor) if fill else None
        points = [apply_matrix_pt(self.ctm, tuple(op[-2:])) for op in path if len(op) >= 3]
        if colour is not None and points:
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            self._grounds.add(Ground(min(xs), min(ys), max(xs), max(ys), colour))

    def render_image(self, name: str, stream: Any) -> None:
        super().render_image(name, stream)
        if self.cur_item._objs:
            image = self.cur_item._objs[-1]
            self._grounds.add(Ground(image.x0, image.y0, image.x1, image.y1, None))

    def end_page(self, page: Any) -> None:
        for container, item in self._invisible:
            if not self._grounds.on_image(*_centre(item)):
                container._objs.remove(item)
                self.hidden_chars += visible_chars(item.get_text())
        super().end_page(page)
