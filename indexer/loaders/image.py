"""Images (.png, .jpg, .tif…) read by Tesseract OCR: one page per frame, so a multi-page TIFF keeps its pages."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, UnidentifiedImageError

from indexer.loaders.errors import LoadError
from indexer.ocr import INSTALL_HINT, ocr_image, tesseract_available
from indexer.types import Document, IssueKind, Page


def load_image(path: Path) -> Document:
    """Load an image by OCR: a single image is one page labelled ``image``; each page of a multi-page
    TIFF is a numbered page (``p. 2``)."""
    if not tesseract_available():
        raise LoadError(IssueKind.NO_TEXT, f"an image holds no text layer: {INSTALL_HINT}")
    try:
        texts = [text.replace("\f", "\n").strip() for text in ocr_image(path)]
    except Image.DecompressionBombError as exc:
        raise LoadError(IssueKind.TOO_LARGE, "the image is too large to read (over Pillow's pixel limit)") from exc
    except UnidentifiedImageError as exc:
        raise LoadError(
            IssueKind.CORRUPT, "not a readable image: damaged, or of a format Pillow does not know"
        ) from exc
    except (OSError, SyntaxError) as exc:
        raise LoadError(IssueKind.CORRUPT, f"damaged image file ({exc})") from exc
    if not any(text.strip() for text in texts):
        raise LoadError(IssueKind.NO_TEXT, "OCR found no text in the image")
    label = "image" if len(texts) == 1 else ""
    pages = [Page(number=i, text=text, label=label) for i, text in enumerate(texts, start=1)]
    return Document(path=path, pages=pages, extractor="tesseract")
