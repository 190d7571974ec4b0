"""OCR for pages without a text layer and for images: PDF pages rendered with pdfium, and image files,
read by Tesseract when installed.

Tesseract is detected, never required: without it a scanned PDF is skipped with a message that
says how to install it.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import threading
from pathlib import Path

from PIL import Image, ImageSequence

INSTALL_HINT = "install Tesseract OCR to read it (Debian/Ubuntu: sudo apt install tesseract-ocr)"
OCR_DPI = 300
OCR_PAGE_SECONDS = 120
PDFIUM_LOCK = threading.Lock()
"""Held for every call into PDFium (pypdfium2), here and in the PDF loader: PDFium is one native library
per process and not thread-safe, not even across documents. Held for the calls only, never while
Tesseract reads an image nor across a loader's yield."""


def tesseract_available() -> bool:
    """True when the `tesseract` program is on the PATH."""
    return shutil.which("tesseract") is not None


def _tesseract(image: Image.Image, language: str) -> str:
    """Text Tesseract reads from one image (as greyscale PNG); empty when it fails or runs past its time."""
    buffer = io.BytesIO()
    image.convert("L").save(buffer, format="PNG")
    try:
        result = subprocess.run(
            ["tesseract", "stdin", "stdout", "-l", language, "--psm", "3"],
            input=buffer.getvalue(),
            capture_output=True,
            timeout=OCR_PAGE_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return ""
    return result.stdout.decode("utf-8", "replace") if result.returncode == 0 else ""


def ocr_pages(
    path: Path, page_numbers: list[int], password: str | None = None, language: str = "eng"
) -> dict[int, str]:
    """Text of the given 1-based pages of a PDF, read from their rendered images by Tesseract."""
    import pypdfium2

    with PDFIUM_LOCK:
        document = pypdfium2.PdfDocument(str(path), password=password)
    try:
        found = {}
        for number in page_numbers:
            with PDFIUM_LOCK:
                page = document[number - 1]
                try:
                    image = page.render(scale=OCR_DPI / 72).to_pil()
                finally:
                    page.close()
            found[number] = _tesseract(image, language)
        return found
    finally:
        with PDFIUM_LOCK:
            document.close()


def ocr_image(path: Path, language: str = "eng") -> list[str]:
    """Text of each frame of an image file (one for a PNG or JPEG, one per page of a multi-page TIFF).

    Raises PIL's UnidentifiedImageError or OSError for a file that is not a readable image.
    """
    with Image.open(path) as image:
        return [_tesseract(_on_white(frame), language) for frame in ImageSequence.Iterator(image)]


def _on_white(image: Image.Image) -> Image.Image:
    """An image with its transparent pixels on white: Tesseract would read a transparent background as black."""
    if image.mode not in ("RGBA", "LA") and "transparency" not in image.info:
        return image
    rgba = image.convert("RGBA")
    return Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
