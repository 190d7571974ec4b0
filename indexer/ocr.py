"""OCR for pages without a text layer: pages rendered with pdfium, read by Tesseract when installed.

Tesseract is detected, never required: without it a scanned PDF is skipped with a message that
says how to install it.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

INSTALL_HINT = "install Tesseract OCR to read it (Debian/Ubuntu: sudo apt install tesseract-ocr)"
OCR_DPI = 300
OCR_PAGE_SECONDS = 120


def tesseract_available() -> bool:
    """True when the `tesseract` program is on the PATH."""
    return shutil.which("tesseract") is not None


def ocr_pages(
    path: Path, page_numbers: list[int], password: str | None = None, language: str = "eng"
) -> dict[int, str]:
    """Text of the given 1-based pages of a PDF, read from their rendered images by Tesseract."""
    import pypdfium2

    document = pypdfium2.PdfDocument(str(path), password=password)
    try:
        texts = {}
        for number in page_numbers:
            image = document[number - 1].render(scale=OCR_DPI / 72).to_pil().convert("L")
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            result = subprocess.run(
                ["tesseract", "stdin", "stdout", "-l", language, "--psm", "3"],
                input=buffer.getvalue(),
                capture_output=True,
                timeout=OCR_PAGE_SECONDS,
                check=False,
            )
            texts[number] = result.stdout.decode("utf-8", "replace") if result.returncode == 0 else ""
        return texts
    finally:
        document.close()
