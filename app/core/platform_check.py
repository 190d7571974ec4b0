"""Does Qt have what it needs to open a window here? Missing system libraries, named and fixed.

Qt's own message when its platform plugin cannot load ("Could not load the Qt platform plugin
'xcb'…") does not say which Debian package to install. This module runs `ldd` on the platform
plugin and on the Qt libraries the window uses, and turns every ``not found`` into the package
that provides it. ``python -m app.core.platform_check`` prints the result; with ``--install`` it runs
``apt-get install`` itself when it can (as root, or with password-less sudo), and also installs
Tesseract and its English data for scanned pages (optional: never a reason to fail).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

# Debian/Ubuntu packages that provide the shared libraries PySide6's xcb and wayland platform
# plugins and the window's Qt modules (Widgets, Pdf) load. Names are the same on Debian 12 and
# Ubuntu 22.04/24.04.
SONAME_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libSM.so.6": "libsm6",
    "libICE.so.6": "libice6",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libGLX.so.0": "libglx0",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
    "libnss3.so": "libnss3",
    "libnssutil3.so": "libnss3",
    "libsmime3.so": "libnss3",
    "libnspr4.so": "libnspr4",
    "libasound.so.2": "libasound2",
}


def qt_dir() -> Path:
    """The Qt folder inside the installed PySide6."""
    spec = importlib.util.find_spec("PySide6")  # the package's folder, without loading Qt
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).resolve().parent / "Qt"


def _plugin(platform: str) -> Path | None:
    folder = qt_dir() / "plugins" / "platforms"
    name = {"xcb": "libqxcb.so", "wayland": "libqwayland.so", "offscreen": "libqoffscreen.so"}.get(platform)
    if name and (folder / name).exists():
        return folder / name
    if platform == "wayland":  # older layouts name it after the shell integration
        return next(iter(sorted(folder.glob("libqwayland*.so"))), None)
    return None


def _window_libraries() -> list[Path]:
    """The Qt libraries the window itself loads (widgets and the PDF viewer)."""
    lib = qt_dir() / "lib"
    names = ("libQt6Widgets.so.6", "libQt6Pdf.so.6", "libQt6PdfWidgets.so.6")
    return [lib / name for name in names if (lib / name).exists()]


def missing_libraries(files: list[Path]) -> list[str]:
    """Shared libraries that `ldd` reports as ``not found`` for any of `files`, sorted."""
    if not shutil.which("ldd"):
        return []
    missing: set[str] = set()
    for file in files:
        result = subprocess.run(["ldd", str(file)], capture_output=True, text=True, check=False)
        for line in result.stdout.splitlines():
            if "=> not found" in line:
                missing.add(line.split("=>")[0].strip())
    return sorted(missing)


def current_platform() -> str:
    """The Qt platform the window will use: QT_QPA_PLATFORM, else wayland or xcb by the session."""
    chosen = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0].split(";")[0]
    if chosen:
        return chosen
    return "wayland" if os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("DISPLAY") else "xcb"


def missing_qt_libraries(platform: str | None = None) -> list[str]:
    """The shared libraries Qt would fail to load for `platform` (default: this session's)."""
    if not sys.platform.startswith("linux"):
        return []
    platform = platform or current_platform()
    plugin = _plugin(platform)
    return missing_libraries(([plugin] if plugin else []) + _window_libraries())


def packages_for(libraries: list[str]) -> list[str]:
    """Debian packages that provide `libraries` (a best guess from the soname when unknown)."""
    packages = {SONAME_PACKAGES.get(name) or _guess_package(name) for name in libraries}
    return sorted(packages)


def _guess_package(soname: str) -> str:
    base, _, version = soname.partition(".so")
    name = base.lower().replace("_", "-")
    version = version.strip(".").split(".")[0]
    return f"{name}{'-' if name[-1].isdigit() else ''}{version}" if version else name


def apt_install_line(libraries: list[str]) -> str:
    """The command that installs what is missing."""
    return "sudo apt-get install -y " + " ".join(packages_for(libraries))


def explain(libraries: list[str], platform: str | None = None) -> str:
    """One sentence for the user, and the command that fixes it."""
    platform = platform or current_platform()
    return (
        f"Footnotes cannot open its window: Qt's '{platform}' platform needs system libraries that are not "
        f"installed ({', '.join(libraries)}). Install them with:\n  {apt_install_line(libraries)}"
    )


def window_problem() -> str | None:
    """Why the window cannot open here, in words a user can act on; None when nothing is known wrong.

    Checked before Qt starts, because Qt's own failure is an abort with a message that names no fix."""
    platform = current_platform()
    if platform in ("offscreen", "minimal", "vnc") or not sys.platform.startswith("linux"):
        return None
    if platform == "xcb" and not os.environ.get("DISPLAY"):
        return (
            "Footnotes cannot open its window: there is no display (DISPLAY is not set). Start it from a desktop "
            "session, or on a machine without a screen under a virtual one: xvfb-run footnotes"
        )
    missing = missing_qt_libraries(platform)
    return explain(missing, platform) if missing else None


def _can_install() -> list[str] | None:
    """The prefix that runs apt-get as root here, or None when it cannot."""
    if not shutil.which("apt-get"):
        return None
    if os.geteuid() == 0:
        return []
    sudo_works = shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True, check=False)
    if sudo_works and sudo_works.returncode == 0:
        return ["sudo", "-n"]
    return None


def install(packages: list[str]) -> bool:
    """Install `packages` with apt-get when this user can; True on success."""
    prefix = _can_install()
    if prefix is None:
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*prefix, "apt-get", "update", "-qq"], check=False, env=env)
    command = [*prefix, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages]
    return subprocess.run(command, check=False, env=env).returncode == 0


OCR_PACKAGES = ["tesseract-ocr", "tesseract-ocr-eng"]
"""What reading scanned pages needs: Tesseract and its English data (Debian/Ubuntu names)."""


def missing_ocr_packages() -> list[str]:
    """The OCR packages to install: both without a `tesseract` on PATH, the English data alone when
    Tesseract does not list ``eng``; none when it reads English."""
    tesseract = shutil.which("tesseract")
    if tesseract is None:
        return list(OCR_PACKAGES)
    listed = subprocess.run([tesseract, "--list-langs"], capture_output=True, text=True, check=False)
    languages = {line.strip() for line in (listed.stdout + listed.stderr).splitlines()}
    return [] if "eng" in languages else ["tesseract-ocr-eng"]


def install_ocr() -> None:
    """Install Tesseract and its English data when they are missing and this user can; otherwise say
    how. Never fails the install: without OCR only scanned pages with no text layer are skipped."""
    missing = missing_ocr_packages()
    if not missing:
        print("OCR: Tesseract with English found.")
        return
    if install(missing) and not missing_ocr_packages():
        print(f"OCR: installed {' '.join(missing)}.")
        return
    print(
        f"OCR: scanned pages without a text layer will be skipped until Tesseract is installed:\n"
        f"  sudo apt-get install -y {' '.join(missing)}",
        file=sys.stderr,
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m app.core.platform_check [--install] [--platform xcb]``: report (and fix) missing libraries."""
    parser = argparse.ArgumentParser(description="Check the system libraries Qt needs for the window.")
    parser.add_argument("--platform", default=None, help="xcb, wayland or offscreen (default: this session's)")
    parser.add_argument(
        "--install", action="store_true", help="install what is missing (and OCR) with apt-get when possible"
    )
    args = parser.parse_args(argv)
    if args.install:
        install_ocr()
    platform = args.platform or current_platform()
    missing = missing_qt_libraries(platform)
    if not missing:
        print(f"Qt platform '{platform}': all system libraries found.")
        return 0
    if args.install:
        print(f"Qt platform '{platform}' is missing {', '.join(missing)}; installing {' '.join(packages_for(missing))}")
        if install(packages_for(missing)) and not missing_qt_libraries(platform):
            print("Installed.")
            return 0
    print(explain(missing, platform), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
