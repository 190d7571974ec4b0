"""Put the three manuals of the claim and unanswerable sets into a cache folder and print their paths.

    python bench/eval/get_manuals.py [--dest ~/.cache/Footnotes/manuals]

The files come out of Debian packages, one PDF per manual (the app reads PDF; these are the packages'
single-file forms of each manual, so a library of three files holds all of them):

    debian-faq.en.pdf        debian-faq 11.1            (bookworm)  = ../shared/eval/debian-faq/debian-faq.en.pdf
    debian-reference.en.pdf  debian-reference-en 2.100  (bookworm)  "Debian Reference", Osamu Aoki
    bashref.pdf              bash-doc 5.2.15-2          (bookworm)  "Bash Reference Manual", Bash 5.2

claims.jsonl and manuals_unanswerable.jsonl were written and checked against exactly these files (the
SHA-256 below). Each package is fetched with `apt-get download package=version` (no root needed, the
apt lists must know that version), and unpacked with
`dpkg-deb -x`, or else with the standard library (a .deb is an ar archive holding data.tar.xz).
A file whose digest differs (another version of the package) is kept, with a warning: the claims' evidence
may no longer be found in it.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

# (package, version, pool path, file inside the package, name in the cache, SHA-256 of that file)
MANUALS = (
    (
        "debian-faq",
        "11.1",
        "pool/main/d/debian-faq/debian-faq_11.1_all.deb",
        "usr/share/doc/debian/FAQ/debian-faq.en.pdf.gz",
        "debian-faq.en.pdf",
        "ea67ca925863324d97a30b5c926aed95efc687c689aa16788c9bed54525c0b47",
    ),
    (
        "debian-reference-en",
        "2.100",
        "pool/main/d/debian-reference/debian-reference-en_2.100_all.deb",
        "usr/share/debian-reference/debian-reference.en.pdf",
        "debian-reference.en.pdf",
        "32775deeca0770ac25282b0c894cbaae83f4dd4ab00e891b94e8f009c0366728",
    ),
    (
        "bash-doc",
        "5.2.15-2",
        "pool/main/b/bash/bash-doc_5.2.15-2_all.deb",
        "usr/share/doc/bash/bashref.pdf",
        "bashref.pdf",
        "104971d389c0b9b7a261b0b3070a53b0d8cce6db1ffddefcc8423ddda92acd87",
    ),
)


def download(package: str, version: str, pool_path: str, scratch: Path) -> Path:
    """The package's .deb in scratch, by apt-get (its lists must know that version: apt-get update)."""
    if not shutil.which("apt-get"):
        raise SystemExit(f"apt-get is needed to fetch {package} {version} ({pool_path})")
    done = subprocess.run(["apt-get", "download", f"{package}={version}"], cwd=scratch, capture_output=True, text=True)
    found = sorted(scratch.glob(f"{package}_*.deb"))
    if done.returncode != 0 or not found:
        raise SystemExit(f"apt-get download {package}={version} failed: {done.stderr.strip()} (run apt-get update?)")
    return found[0]


def data_tar(deb: Path) -> tarfile.TarFile:
    """The data.tar.* member of a .deb (an ar archive), read with the standard library."""
    blob = deb.read_bytes()
    if not blob.startswith(b"!<arch>\n"):
        raise ValueError(f"{deb} is not a Debian package")
    offset = 8
    while offset + 60 <= len(blob):
        header = blob[offset : offset + 60]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        body = blob[offset + 60 : offset + 60 + size]
        if name.startswith("data.tar"):
            return tarfile.open(fileobj=io.BytesIO(body))  # gz, bz2 and xz; not zstd
        offset += 60 + size + (size % 2)
    raise ValueError(f"{deb} has no data.tar")


def unpack(deb: Path, member: str, scratch: Path) -> bytes:
    if shutil.which("dpkg-deb"):
        root = scratch / (deb.stem + ".x")
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        data = (root / member).read_bytes()
    else:
        with data_tar(deb) as tar:
            handle = tar.extractfile(tar.getmember("./" + member))
            assert handle is not None
            data = handle.read()
    return gzip.decompress(data) if member.endswith(".gz") else data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=Path("~/.cache/Footnotes/manuals"))
    args = parser.parse_args(argv)
    dest = args.dest.expanduser()
    dest.mkdir(parents=True, exist_ok=True)
    status = 0
    with tempfile.TemporaryDirectory(prefix="footnotes-manuals-") as tmp:
        scratch = Path(tmp)
        for package, version, pool_path, member, name, digest in MANUALS:
            target = dest / name
            if not (target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == digest):
                deb = download(package, version, pool_path, scratch)
                target.write_bytes(unpack(deb, member, scratch))
            if hashlib.sha256(target.read_bytes()).hexdigest() != digest:
                print(
                    f"warning: {target} is not the file of {package} {version} the sets were checked on",
                    file=sys.stderr,
                )
                status = 1
            print(target)
    return status


if __name__ == "__main__":
    sys.exit(main())
