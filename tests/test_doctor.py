"""`footnotes doctor`: one fact per line about this installation and the library, exit 1 only when
something essential is missing."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest
from conftest import make_pdf

from app.cli import main
from app.logs import LOG_FILE


@pytest.fixture(autouse=True)
def log_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test of this module logs into its own folder."""
    folder = tmp_path / "logs"
    monkeypatch.setenv("FOOTNOTES_LOG_DIR", str(folder))
    return folder


def _lines(out: str, topic: str) -> list[str]:
    return [line for line in out.splitlines() if line[8:].startswith(topic)]


def test_doctor_reports_the_installation_and_the_library_health(
    tmp_path: Path, log_in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    make_pdf(docs / "boat.pdf", ["Hull maintenance schedule.", "The bilge pump must be tested every spring."])
    make_pdf(docs / "sails.pdf", ["Sails are stored dry."])
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf")
    library = str(tmp_path / "lib")
    assert main(["index", str(docs), "--library", library, "--quiet"]) == 0
    (docs / "sails.pdf").unlink()
    capsys.readouterr()

    assert main(["doctor", "--library", library]) == 0
    out = capsys.readouterr().out

    assert _lines(out, "Python") == [_lines(out, "Python")[0]]
    assert _lines(out, "Python")[0].startswith(f"OK      Python         {platform.python_version()} (")
    backends = _lines(out, "Backends")
    assert any(line.startswith("OK") and "transformers " in line for line in backends)
    assert any(line.startswith("INFO") and "auto picks " in line for line in backends)
    assert any("pinned SHA-256 " in line for line in _lines(out, "Model"))
    assert _lines(out, "Embedder")[0].startswith("OK      Embedder       all-MiniLM-L6-v2")
    assert _lines(out, "Log")[0].startswith(f"OK      Log            {log_in_tmp / LOG_FILE} (")
    library_lines = _lines(out, "Library")
    assert f"{library}: 2 file(s) indexed, 1 failed, 3 pages" in library_lines[0]
    assert "OK      Library        integrity check passed" in library_lines
    assert any(line.startswith("WARN") and "1 stale entry" in line for line in library_lines)
    assert out.rstrip().endswith("Nothing essential is missing.")


def test_doctor_fails_when_the_embedder_is_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no-model"
    assert main(["doctor", "--embedder", str(missing), "--library", str(tmp_path / "none")]) == 1
    out = capsys.readouterr().out
    assert f"MISSING Embedder       no sentence-transformers model in {missing}; fix --embedder" in out
    assert f"INFO    Library        none yet at {tmp_path / 'none'}" in out
    assert not (tmp_path / "none").exists()
    assert out.rstrip().endswith("1 essential problem(s) found.")
