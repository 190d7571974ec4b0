"""Text on a PDF page that a reader does not see, found for PDFium (the main extractor; pdfminer.six, the
extractor of damaged files, follows the same rules in `pdfminer_hidden`), so that it is left out of the
page's text (`indexer.loaders.hidden`).

A piece of text is hidden when it is:

- in render mode *invisible* (3) or *clip only* (7), unless it lies on an image: the text layer of a
  scanned page (OCRmyPDF, a scanner's searchable PDF) is invisible text over the page's picture, and it
  is what the page says;
- of a colour that cannot be told from what lies under it (`hidden.faint`): the latest filled shape
  drawn under the text, else the white page; text on an image or a shading counts as seen. For outlined
  text (modes 1 and 5) the stroke colour is the one seen; a fully transparent fill is never seen;
- smaller than `hidden.MIN_TEXT_PT` as printed (its font size times the scale of its text matrix);
- off the page: wholly outside the page's visible box.

Text drawn over by an opaque shape, and text clipped away, are not found (see README, documents as data).
PDFium's side walks the page objects once, a handful of calls per object (about 5,400 text objects in
the 73 pages of the Debian FAQ), and does nothing more on a page where nothing is hidden.
"""

from __future__ import annotations

import ctypes
import math
import struct
from collections.abc import Callable
from functools import cache
from types import SimpleNamespace
from typing import Any

from indexer.loaders.hidden import MIN_TEXT_PT, Ground, Grounds, faint, visible_chars

_INVISIBLE_MODES = (3, 7)
_STROKE_MODES = (1, 5)
_FILL_AND_STROKE_MODES = (2, 6)
_OPAQUE = 128
"""A filled shape at least this opaque (alpha, 0-255) is what lies under text drawn over it."""

_SIX_FLOATS = struct.Struct("6f")
"""An ``FS_MATRIX`` read whole from its buffer: faster than its six fields."""
_FOUR_UINTS = struct.Struct("4I")

Matrix = tuple[float, float, float, float, float, float]
_IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def _compose(inner: Matrix, outer: Matrix) -> Matrix:
    """The matrix that applies `inner`, then `outer` (PDF's row-vector convention)."""
    a, b, c, d, e, f = inner
    aa, bb, cc, dd, ee, ff = outer
    return (
        a * aa + b * cc,
        a * bb + b * dd,
        c * aa + d * cc,
        c * bb + d * dd,
        e * aa + f * cc + ee,
        e * bb + f * dd + ff,
    )


def _box(matrix: Matrix, left: float, bottom: float, right: float, top: float) -> tuple[float, float, float, float]:
    """The box that holds a box's four corners mapped by `matrix`."""
    a, b, c, d, e, f = matrix
    xs, ys = [], []
    for x, y in ((left, bottom), (left, top), (right, bottom), (right, top)):
        xs.append(a * x + c * y + e)
        ys.append(b * x + d * y + f)
    return min(xs), min(ys), max(xs), max(ys)


@cache
def _pdfium() -> Any:
    """pypdfium2's raw PDFium module, imported on the first PDF read (as the PDF loader imports it)."""
    import pypdfium2.raw

    return pypdfium2.raw


def _unchecked(function: Any) -> Any:
    """A PDFium function without ctypes' argument conversion, two to three times faster a call; it must be
    given exactly the ctypes objects its signature names (a page object, a ``byref`` to the right type)."""
    fast = type(function)(ctypes.cast(function, ctypes.c_void_p).value)
    fast.restype = function.restype
    return fast


@cache
def _hot() -> SimpleNamespace:
    """The PDFium calls made for every page object, unchecked (`_unchecked`)."""
    raw = _pdfium()
    names = (
        "FPDFPage_GetObject",
        "FPDFPageObj_GetType",
        "FPDFPath_GetDrawMode",
        "FPDFPageObj_GetBounds",
        "FPDFFormObj_GetObject",
        "FPDFTextObj_GetTextRenderMode",
        "FPDFPageObj_GetMatrix",
        "FPDFTextObj_GetFontSize",
        "FPDFPageObj_GetFillColor",
        "FPDFPageObj_GetStrokeColor",
    )
    return SimpleNamespace(**{name: _unchecked(getattr(raw, name)) for name in names})


@cache
def _faint_rgb(text: tuple[int, int, int], ground: tuple[float, float, float]) -> bool:
    """`hidden.faint` for a 0-255 colour, cached: a page has a few colours and a few grounds."""
    return faint((text[0] / 255, text[1] / 255, text[2] / 255), ground)


class PdfiumHiddenText:
    """Finds the text objects of a PDFium page (an ``FPDF_PAGE``) that a reader cannot see; one finder
    reads every page of a document, its buffers made once. Every call into PDFium must hold
    `indexer.ocr.PDFIUM_LOCK`, as all of the PDF loader's do.

    The walk is the PDF loader's hot path: four calls into PDFium for a text object (its render mode,
    which is -1 for any other object, its matrix, its font size and its fill colour) and the rest only
    for the few objects that look hidden."""

    def __init__(self) -> None:
        self._colour = (ctypes.c_uint * 4)()
        """Red, green, blue and alpha (0-255) as PDFium gives them, read whole (`_FOUR_UINTS`)."""
        self._colour_refs = [ctypes.byref(self._colour, 4 * i) for i in range(4)]
        self._size = ctypes.c_float()
        self._size_ref = ctypes.byref(self._size)
        self._matrix = (ctypes.c_float * 6)()
        """An ``FS_MATRIX``: six floats, read whole (`_SIX_FLOATS`)."""
        self._matrix_ref = ctypes.byref(self._matrix)
        self._bounds = (ctypes.c_float * 4)()
        self._bounds_refs = [ctypes.byref(self._bounds, 4 * i) for i in range(4)]
        self._fill_mode, self._stroke = ctypes.c_int(), ctypes.c_int()
        self._draw_mode_refs = (ctypes.byref(self._fill_mode), ctypes.byref(self._stroke))
        self._rect = _pdfium().FS_RECTF()
        self._page_start(None)

    def _page_start(self, page: Any) -> None:
        """Forget the last page: its grounds, colours and finds; the page box of `page`."""
        self._grounds = Grounds()
        self._clear: set[bytes] = set()
        """Opaque fill colours (`_colour`'s bytes) that no ground of the page so far, nor the page, hides."""
        self._invisible: list[tuple[Any, float, float]] = []
        self._hidden: list[Any] = []
        self._page_box = (-math.inf, -math.inf, math.inf, math.inf)
        if page is not None and _pdfium().FPDF_GetPageBoundingBox(page, ctypes.byref(self._rect)):
            rect = self._rect
            self._page_box = (rect.left, rect.bottom, rect.right, rect.top)

    def find(self, page: Any) -> list[Any]:
        """The hidden text objects (``FPDF_PAGEOBJECT``) of a page, top-level and inside forms, in drawing
        order."""
        self._page_start(page)
        self._walk(_pdfium().FPDFPage_CountObjects(page), _hot().FPDFPage_GetObject, page, _IDENTITY)
        self._hidden += [obj for obj, x, y in self._invisible if not self._grounds.on_image(x, y)]
        return self._hidden

    def _walk(self, count: int, get: Callable[[Any, Any], Any], container: Any, outer: Matrix) -> None:
        """Look at `count` objects of a page or a form (`get(container, index)`), placed on the page by `outer`."""
        hot = _hot()
        mode_of, fill_of = hot.FPDFTextObj_GetTextRenderMode, hot.FPDFPageObj_GetFillColor
        matrix_of, size_of = hot.FPDFPageObj_GetMatrix, hot.FPDFTextObj_GetFontSize
        matrix, matrix_ref, size, size_ref = self._matrix, self._matrix_ref, self._size, self._size_ref
        colour, colour_refs, hidden, clear = self._colour, self._colour_refs, self._hidden, self._clear
        left, bottom, right, top = self._page_box
        nested = outer is not _IDENTITY
        smallest, unpack_matrix = MIN_TEXT_PT * MIN_TEXT_PT, _SIX_FLOATS.unpack
        previous = None  # the last text object: a line that runs off the page goes on it
        for index in range(count):
            obj = get(container, ctypes.c_ulong(index) if nested else index)
            mode = mode_of(obj)
            if mode < 0:  # not text
                self._other(obj, outer)
                continue
            matrix_of(obj, matrix_ref)
            size_of(obj, size_ref)
            ma, mb, mc, md, x, y = _compose(unpack_matrix(matrix), outer) if nested else unpack_matrix(matrix)
            points = size.value
            if points * points * abs(ma * md - mb * mc) < smallest or (
                not (left <= x <= right and bottom <= y <= top) and self._off_page(obj, previous, outer)
            ):
                hidden.append(obj)
                continue
            previous = obj
            fill = None
            if mode == 0:
                fill_of(obj, *colour_refs)
                if bytes(colour) in clear:
                    continue  # a colour no ground of the page hides: nearly all text, decided at once
                fill = _FOUR_UINTS.unpack(colour)
            # a point inside the first glyph: its origin, a third of the font size up the text's vertical
            x, y = x + mc * points / 3, y + md * points / 3
            if mode in _INVISIBLE_MODES:
                self._invisible.append((obj, x, y))
            elif self._unseen_colour(obj, mode, fill, x, y):
                hidden.append(obj)
            elif fill is not None and self._clear_everywhere(fill):
                clear.add(_FOUR_UINTS.pack(*fill))

    def _other(self, obj: Any, outer: Matrix) -> None:
        """A shape, an image or a form: what lies under the text drawn after it (or, for a form, what it holds)."""
        pdfium_c = _pdfium()
        kind = _hot().FPDFPageObj_GetType(obj)
        if kind == pdfium_c.FPDF_PAGEOBJ_PATH:
            self._path(obj, outer)
        elif kind in (pdfium_c.FPDF_PAGEOBJ_IMAGE, pdfium_c.FPDF_PAGEOBJ_SHADING):
            self._grounds.add(Ground(*self._object_box(obj, outer), None))
        elif kind == pdfium_c.FPDF_PAGEOBJ_FORM:
            _hot().FPDFPageObj_GetMatrix(obj, self._matrix_ref)
            inner = _compose(_SIX_FLOATS.unpack(self._matrix), outer)
            self._walk(pdfium_c.FPDFFormObj_CountObjects(obj), _hot().FPDFFormObj_GetObject, obj, inner)

    def _clear_everywhere(self, fill: tuple[int, ...]) -> bool:
        """True when an opaque fill colour cannot be hidden by any ground of the page so far, nor the page."""
        return fill[3] == 255 and not any(_faint_rgb(fill[:3], ground) for ground in self._grounds.colours)

    def _unseen_colour(self, obj: Any, mode: int, fill: tuple[int, ...] | None, x: float, y: float) -> bool:
        """True when the colour that paints the text (`fill`, when read already) cannot be told from what
        lies under it."""
        colours = []
        if mode not in _STROKE_MODES:
            colours.append(fill or self._rgba(_hot().FPDFPageObj_GetFillColor, obj))
        if mode in _STROKE_MODES or mode in _FILL_AND_STROKE_MODES:
            colours.append(self._rgba(_hot().FPDFPageObj_GetStrokeColor, obj))
        ground = self._grounds.under(x, y)
        if ground is None:
            return False
        return all(colour[3] == 0 or _faint_rgb(colour[:3], ground) for colour in colours)

    def _rgba(self, getter: Callable[..., int], obj: Any) -> tuple[int, ...]:
        """A colour of a page object (red, green, blue, alpha: 0-255); opaque black when it has none."""
        if not getter(obj, *self._colour_refs):
            return (0, 0, 0, 255)
        return _FOUR_UINTS.unpack(self._colour)

    def _off_page(self, obj: Any, previous: Any, outer: Matrix) -> bool:
        """True when the text lies wholly outside the page's visible box and does not go on the line of the
        text object before it (TeX's overfull lines leave a comma or a word past the margin)."""
        left, bottom, right, top = self._page_box
        x0, y0, x1, y1 = self._object_box(obj, outer)
        if not (x1 < left or x0 > right or y1 < bottom or y0 > top):
            return False
        if previous is None:
            return True
        _, q0, p1, q1 = self._object_box(previous, outer)
        return not (q0 - 2 <= y0 <= q1 + 2 and p1 - 2 <= x0 <= p1 + 2 * (q1 - q0 + y1 - y0))

    def _path(self, obj: Any, outer: Matrix) -> None:
        """A filled shape becomes what lies under the text drawn over it."""
        if not _hot().FPDFPath_GetDrawMode(obj, *self._draw_mode_refs) or self._fill_mode.value == 0:
            return  # not filled (FPDF_FILLMODE_NONE)
        r, g, b, a = self._rgba(_hot().FPDFPageObj_GetFillColor, obj)
        if a >= _OPAQUE:
            colour = (r / 255, g / 255, b / 255)
            if colour not in self._grounds.colours:
                self._clear.clear()
            self._grounds.add(Ground(*self._object_box(obj, outer), colour))

    def _object_box(self, obj: Any, outer: Matrix) -> tuple[float, float, float, float]:
        """A page object's bounding box on the page."""
        if not _hot().FPDFPageObj_GetBounds(obj, *self._bounds_refs):
            return (0.0, 0.0, 0.0, 0.0)
        left, bottom, right, top = self._bounds
        return (left, bottom, right, top) if outer is _IDENTITY else _box(outer, left, bottom, right, top)


def hide_unseen_text(page: Any, finder: PdfiumHiddenText | None = None) -> int:
    """Make the text objects of a PDFium page (``FPDF_PAGE``) that a reader cannot see inactive, so that a
    text page loaded afterwards leaves them out; how many characters (not white space) they held. `finder`
    is the document's, reused from page to page. Hold `indexer.ocr.PDFIUM_LOCK`."""
    hidden = (finder or PdfiumHiddenText()).find(page)
    if not hidden:
        return 0
    pdfium_c = _pdfium()
    textpage = pdfium_c.FPDFText_LoadPage(page)
    try:
        chars = sum(visible_chars(_object_text(obj, textpage)) for obj in hidden)
    finally:
        pdfium_c.FPDFText_ClosePage(textpage)
    for obj in hidden:
        pdfium_c.FPDFPageObj_SetIsActive(obj, False)
    return chars


def _object_text(obj: Any, textpage: Any) -> str:
    """The text of one text object, as a text page of its page reads it."""
    pdfium_c = _pdfium()
    size = pdfium_c.FPDFTextObj_GetText(obj, textpage, None, 0)
    if size <= 2:
        return ""
    buffer = (ctypes.c_ushort * (size // 2))()
    pdfium_c.FPDFTextObj_GetText(obj, textpage, buffer, size)
    return bytes(buffer).decode("utf-16-le", errors="replace").rstrip("\x00")


__all__ = ["PdfiumHiddenText", "hide_unseen_text"]
