"""The `footnotes` command line: index with a summary, status, search, check, global options on
either side of the command, one-line errors with an exit code per kind, and a log without text."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import encrypt_pdf, free_port, make_pdf

from app.cli.answer import checked_line
from app.core.collections import Collections
from app.core.errors import USER_ERRORS, describe, exit_code, is_user_error
from app.core.logs import LOG_FILE
from app.main import main
from indexer.store import Store
from indexer.types import Chunk, Hit
from rag.citations import cite
from rag.context import ContextOverflow

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def log_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test of this module logs into its own folder."""
    folder = tmp_path / "logs"
    monkeypatch.setenv("FOOTNOTES_LOG_DIR", str(folder))
    return folder


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m app` as a user would, with the log in FOOTNOTES_LOG_DIR."""
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        input=stdin,
        cwd=ROOT,
        env=os.environ.copy(),
        check=False,
    )


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


def test_options_after_the_command_json_search_and_a_log_without_text(
    tmp_path: Path, log_in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    make_pdf(
        docs / "boat.pdf",
        ["Hull maintenance schedule.", "Sails are stored dry.", "The bilge pump must be tested every spring."],
    )
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf")
    (docs / "drawing.xyz").write_bytes(b"\x00\x01")
    library = str(tmp_path / "lib")

    assert main(["index", str(docs), "--library", library, "--quiet"]) == 0
    assert "Indexed 1 file(s): 3 pages" in capsys.readouterr().out
    assert main(["status", "--library", library]) == 0
    assert f"Library:    {library}" in capsys.readouterr().out

    query = "when is the bilge pump tested"
    assert main(["search", query, "--mode", "keyword", "--json", "-k", "2", "--library", library]) == 0
    hits = json.loads(capsys.readouterr().out)
    fields = ("rank", "score", "file", "path", "page", "location", "char_start", "char_end", "kind", "text")
    assert set(hits[0]) == set(fields)
    assert [hits[0][k] for k in ("rank", "file", "page", "location", "kind")] == [1, "boat.pdf", 3, "p. 3", "content"]
    assert "bilge pump must be tested" in hits[0]["text"]

    log = (log_in_tmp / LOG_FILE).read_text()
    assert "start cli: Footnotes" in log
    assert "broken.pdf: damaged PDF" in log
    assert "drawing.xyz: unsupported file type (.xyz)" in log
    assert f"<query: {len(query)} chars>" in log
    assert query not in log and "must be tested every spring" not in log


def test_search_labels_a_contents_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    contents = "Contents\n" + "\n".join(
        f"{title} . . . . . . . . . . . . . . . . {page}"
        for page, title in enumerate(
            ["Hull care", "Sails", "Bilge pump testing", "Engine", "Electrics", "Anchoring", "Winter storage"], 2
        )
    )
    pdf = make_pdf(
        tmp_path / "manual.pdf", [contents, "Hull care is done yearly.", "Sails are kept dry and folded loosely."]
    )
    library = str(tmp_path / "lib")
    assert main(["index", str(pdf), "--library", library, "--quiet"]) == 0
    capsys.readouterr()

    assert main(["search", "bilge pump testing", "--mode", "keyword", "--library", library]) == 0
    out = capsys.readouterr().out
    assert "manual.pdf  p. 1  [contents page]" in out


def test_a_refresh_keeps_a_folder_not_found_and_forget_removes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    drive, notes = tmp_path / "drive", tmp_path / "notes"
    for folder in (drive, notes):
        folder.mkdir()
        (folder / "one.txt").write_text(f"The first note in {folder.name}.\n")
    (drive / "two.txt").write_text("The lighthouse keeper logs the fog horn.\n")
    library = str(tmp_path / "lib")
    assert main(["--library", library, "index", str(drive), str(notes), "--quiet"]) == 0
    drive.rename(tmp_path / "unplugged")
    capsys.readouterr()

    assert main(["--library", library, "index", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "removed 0." in out
    assert f"not found: {drive}; its 2 file(s) stay in the library (footnotes forget {drive} removes them)" in out

    (notes / "one.txt").unlink()  # a folder left empty looks like a drive's mount point when not mounted
    assert main(["--library", library, "index", "--quiet"]) == 0
    assert f"empty folder: {notes}; its 1 file(s) stay in the library" in capsys.readouterr().out
    (notes / "one.txt").write_text("The first note in notes.\n")

    assert main(["--library", library, "forget", str(drive)]) == 0
    out = capsys.readouterr().out
    assert f"Removed 2 file(s):\n  {drive / 'one.txt'}\n  {drive / 'two.txt'}\n" in out
    assert f"Forgot {drive}: 2 file(s) removed; a refresh no longer looks for it." in out
    assert main(["--library", library, "index", "--quiet"]) == 0
    assert "not found" not in capsys.readouterr().out
    assert main(["--library", library, "status"]) == 0
    assert "Documents:  1 indexed" in capsys.readouterr().out
    assert main(["--library", library, "check"]) == 0

    assert main(["--library", library, "forget", str(drive)]) == 2
    assert f"the library holds nothing under {drive}; check the path" in capsys.readouterr().err


def test_an_answer_piped_to_a_reader_who_leaves_is_still_made_and_exported(tmp_path: Path) -> None:
    """`footnotes ask … --export F | head -c 1`: the reader is gone before the first word."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "boat.md").write_text("# Boat\nThe bilge pump must be tested every spring.\n")
    library = str(tmp_path / "lib")
    assert main(["--library", library, "index", str(docs), "--quiet"]) == 0
    exported = tmp_path / "answer.md"
    command = [sys.executable, "-m", "app", "--library", library, "ask", "When must the bilge pump be tested?"]
    command += ["--model", "light", "--backend", "transformers", "--export", str(exported)]
    reader, writer = os.pipe()
    process = subprocess.Popen(command, stdout=writer, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    os.close(writer)
    os.close(reader)  # nobody reads what it prints
    errors = process.stderr.read()
    assert process.wait() == 0, errors
    assert "Exported to" in errors and "Traceback" not in errors
    assert "bilge pump must be tested every spring" in exported.read_text(encoding="utf-8")


def test_version() -> None:
    result = _cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("footnotes ") and len(result.stdout.split()) == 2


def test_errors_are_one_line_without_a_traceback(tmp_path: Path) -> None:
    result = _cli("--library", str(tmp_path / "none"), "search", "anything")
    assert result.returncode == 3
    assert result.stderr.strip().splitlines() == [
        f"footnotes: error: no library at {tmp_path / 'none'}; index something first: footnotes index PATH"
    ]


@pytest.mark.parametrize(
    ("case", "code", "message"),
    [
        ("model", 4, "no model at /nope.gguf; give --model quality or light, a local GGUF file or a model folder"),
        ("top-k", 2, "--top-k must be at least 1, not 0"),
        ("choice", 2, "argument --mode: invalid choice: 'fuzzy'"),
        ("file", 7, "no file at /nope/statement.pdf; check the path"),
        ("store", 8, "cannot open the library at"),
        ("embedder", 9, "no sentence-transformers model in /nope; reinstall Footnotes"),
    ],
)
def test_each_user_error_is_one_line_with_its_own_exit_code(tmp_path: Path, case: str, code: int, message: str) -> None:
    library = tmp_path / "lib"
    Store(library).close()
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("not a library")
    args = {
        "model": ["ask", "what?", "--model", "/nope.gguf", "--library", str(library)],
        "top-k": ["search", "anything", "-k", "0", "--library", str(library)],
        "choice": ["search", "anything", "--mode", "fuzzy"],
        "file": ["unlock", "/nope/statement.pdf", "--password-stdin", "--library", str(library)],
        "store": ["index", str(tmp_path), "--library", str(not_a_folder)],
        "embedder": ["index", str(tmp_path), "--embedder", "/nope", "--library", str(library)],
    }[case]
    result = _cli(*args)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[-1].startswith("footnotes: error: ") and message in lines[-1]
    assert [line for line in lines if line.startswith("footnotes:")] == [lines[-1]]


def test_a_shared_library_that_cannot_be_reached_gets_a_hint_for_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"postgresql://alice@127.0.0.1:{free_port()}/team"  # nothing listens there
    assert main(["--store", url.replace("alice@", "alice:s3cret@"), "status"]) == 8
    [line] = [line for line in capsys.readouterr().err.splitlines() if line.startswith("footnotes:")]
    assert line.startswith(f"footnotes: error: cannot reach the library database at {url}: ")
    assert line.endswith(
        "; check that the database server is running and reachable from this computer and that the URL is right "
        f"(footnotes doctor --store {url} looks at both, and at pgvector)"
    )
    assert "--library" not in line and "footnotes check" not in line and "s3cret" not in line


def test_a_wrong_password_exits_6(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = make_pdf(tmp_path / "plain.pdf", ["Account statement for March."])
    locked = encrypt_pdf(plain, tmp_path / "statement.pdf", "right")
    monkeypatch.setattr(sys, "stdin", io.StringIO("wrong\n"))
    code = main(["unlock", str(locked), "--password-stdin", "--library", str(tmp_path / "lib")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 6
    assert err[-1] == (
        "footnotes: error: locked PDF: the password given does not open it; "
        "run footnotes unlock statement.pdf again with the right password"
    )


def test_a_context_overflow_says_what_to_do() -> None:
    overflow = ContextOverflow(
        "the question needs 4000 tokens and the answer 384, more than the 4096-token window", 4096
    )
    assert exit_code(overflow) == 5
    assert describe(overflow) == (
        "the question needs 4000 tokens and the answer 384, more than the 4096-token window; "
        "ask a shorter question or choose a model with a larger context"
    )


def test_user_errors_are_caught_by_one_tuple_and_a_foreign_value_error_is_not_one(tmp_path: Path) -> None:
    with pytest.raises(USER_ERRORS) as caught:
        Collections(tmp_path / "collections", tmp_path / "library").get("nowhere")
    assert is_user_error(caught.value) and exit_code(caught.value) == 2
    assert "nowhere" in describe(caught.value)
    with pytest.raises(ValueError) as foreign:
        int("not a number")  # raised outside our packages: a bug to keep its traceback
    assert not is_user_error(foreign.value)


def test_an_unwritable_log_folder_never_stops_the_program(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the log folder should be")
    monkeypatch.setenv("FOOTNOTES_LOG_DIR", str(blocker / "logs"))
    assert main(["status", "--library", str(tmp_path / "none")]) == 3
    err = capsys.readouterr().err
    assert "cannot write the log in" in err and "footnotes: error: no library at" in err
    assert not (blocker / "logs").exists()


def test_a_draft_whose_markers_the_check_changed_is_shown_again_as_checked(embedder) -> None:
    page = "Descaling. Descale the Aurora 3 every 200 cups or every two months, whichever comes first."
    other = "Shipping. Orders above 50 euros ship free within Germany."
    hits = [
        Hit(Chunk(1, 4, 0, len(page), page, id=1, path="/docs/guide.pdf"), 0.8),
        Hit(Chunk(2, 1, 0, len(other), other, id=2, path="/docs/shop.txt"), 0.4),
    ]
    draft = "Descale the Aurora 3 every 200 cups or every two months, whichever comes first. [1][2]"
    answer = cite("How often should I descale?", draft, hits, embedder.embed, model="test")
    assert checked_line(draft, answer) == f"Checked: {answer.text}"
    assert "[2]" not in answer.text and "[1]" in answer.text
    assert checked_line(answer.text, answer) is None


def _kettle_notes(tmp_path: Path) -> tuple[Path, list[str]]:
    """A folder with one short note, and the options naming a library beside it."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "kettle.txt").write_text("The Zephyr-9 kettle has a warranty of seven years.", encoding="utf-8")
    return notes, ["--library", str(tmp_path / "lib")]


def test_reindex_rebuilds_from_the_librarys_own_folders_and_from_a_damaged_catalogue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notes, library = _kettle_notes(tmp_path)
    assert main(["index", str(notes), "--quiet", *library]) == 0
    assert main(["index", "--reindex", "--quiet", *library]) == 0  # no paths: the folders it knew
    assert "Indexed 1 file(s)" in capsys.readouterr().out

    (tmp_path / "lib" / "catalogue.sqlite").write_bytes(b"not a catalogue " * 512)
    assert main(["status", *library]) == 8
    assert main(["index", "--reindex", str(notes), "--quiet", *library]) == 0
    assert main(["status", *library]) == 0
    assert "Documents:  1 indexed, 0 failed" in capsys.readouterr().out


def test_the_smallest_chunk_size_indexes_and_an_overlap_too_large_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notes, library = _kettle_notes(tmp_path)
    assert main(["index", str(notes), "--chunk-tokens", "64", "--quiet", *library]) == 0  # the settings' minimum
    assert main(["index", str(notes), "--overlap-tokens", "150", "--quiet", *library]) == 2
    [line] = [line for line in capsys.readouterr().err.splitlines() if line.startswith("footnotes:")]
    assert line == (
        "footnotes: error: an overlap of 150 tokens does not fit chunks of 200: it must be between 0 and 100; "
        "choose a smaller --overlap-tokens or a larger --chunk-tokens"
    )
