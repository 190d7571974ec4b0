"""The `footnotes` command line: index with a summary, status, search, check, and one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_pdf

from app.cli import main


def test_index_status_search_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    make_pdf(docs / "boat.pdf", ["Hull maintenance schedule.", "The bilge pump must be tested every spring."])
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf")
    library = str(tmp_path / "lib")

    assert main(["--library", library, "index", str(docs), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Indexed 1 file(s): 2 pages" in out
    assert "broken.pdf: damaged PDF" in out

    assert main(["--library", library, "status"]) == 0
    out = capsys.readouterr().out
    assert "1 indexed, 1 failed" in out and "all-MiniLM-L6-v2 (384 dimensions)" in out

    assert main(["--library", library, "search", "how often should the bilge pump be checked?", "-k", "1"]) == 0
    out = capsys.readouterr().out
    assert "boat.pdf  p. 2" in out and "bilge pump must be tested" in out

    assert main(["--library", library, "check"]) == 0
    assert "Library is sound." in capsys.readouterr().out


def test_errors_are_one_line_without_a_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "--library", str(tmp_path / "none"), "search", "anything"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"footnotes: error: no library at {tmp_path / 'none'}; index something first: footnotes index PATH"
    ]
