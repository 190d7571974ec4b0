"""Before Qt starts: a missing display or missing system libraries are named, with the fix."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.core import platform_check

ROOT = Path(__file__).resolve().parents[1]


def test_missing_sonames_map_to_the_debian_packages_that_provide_them() -> None:
    missing = ["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libEGL.so.1"]
    assert platform_check.packages_for(missing) == ["libegl1", "libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1"]
    assert platform_check.apt_install_line(missing[:1]) == "sudo apt-get install -y libxcb-cursor0"
    assert platform_check.packages_for(["libfoo-bar.so.3"]) == ["libfoo-bar3"]  # guessed from the soname


def test_ldd_of_the_real_plugin_reports_only_real_gaps() -> None:
    plugin = platform_check.qt_dir() / "plugins" / "platforms" / "libqxcb.so"
    assert plugin.exists()
    for soname in platform_check.missing_qt_libraries("xcb"):
        assert ".so" in soname  # each entry is a library name ldd could not resolve, never noise


def test_no_display_is_one_sentence_with_the_way_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.delenv("DISPLAY", raising=False)
    problem = platform_check.window_problem()
    assert problem is not None and "no display" in problem and "xvfb-run footnotes" in problem
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert platform_check.window_problem() is None


def test_the_app_says_why_instead_of_qt_aborting(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(QT_QPA_PLATFORM="xcb", FOOTNOTES_LOG_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "app", "--library", str(tmp_path / "lib")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
        timeout=120,
    )
    assert result.returncode == 10
    assert result.stderr.strip().splitlines() == [
        "footnotes: Footnotes cannot open its window: there is no display (DISPLAY is not set). Start it from a "
        "desktop session, or on a machine without a screen under a virtual one: xvfb-run footnotes"
    ]


def test_ocr_is_named_for_install_when_tesseract_is_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no tesseract on it
    assert platform_check.missing_ocr_packages() == ["tesseract-ocr", "tesseract-ocr-eng"]


def test_an_installed_tesseract_that_reads_english_needs_nothing() -> None:
    if shutil.which("tesseract") is None:
        pytest.skip("no tesseract here (the CI run installs it)")
    assert platform_check.missing_ocr_packages() == []
