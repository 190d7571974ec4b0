"""Pick and load a generator: a bundled preset or a local model, on the fastest backend available."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from llm.base import Generator
from llm.bundled import LIGHT, PRESETS, QUALITY, BundledModelError, assemble, model_cache_dir
from llm.device import choose_device
from llm.openai_backend import OpenAIGenerator, ServerSettings
from usererrors import InvalidValue, Todo

BACKENDS = ("auto", "transformers", "llama.cpp", "server")
DEFAULT_CONTEXT = 4096


def resolve_model(model: str | Path) -> Path:
    """A preset name (``quality``, ``light``) to its assembled GGUF file, or a local path as given."""
    if isinstance(model, str) and model in PRESETS:
        return assemble(PRESETS[model])
    path = Path(model).expanduser()
    if not path.exists():
        raise BundledModelError(f"no model at {path}: give a preset ({', '.join(PRESETS)}), a GGUF file or a folder")
    return path


def pick_backend(model: Path, backend: str, device: str) -> str:
    """``auto``: llama.cpp for a GGUF on the CPU when installed (about 5x faster there), else transformers."""
    from llm import llamacpp_backend

    if backend not in BACKENDS:
        raise InvalidValue(f"unknown backend '{backend}'", f"choose one of {', '.join(BACKENDS)}")
    is_gguf = model.suffix.lower() == ".gguf"
    if backend == "llama.cpp":
        if not is_gguf:
            raise InvalidValue(
                "the llama.cpp backend runs GGUF files; this model is a folder",
                Todo(
                    "choose the transformers backend (--backend transformers)",
                    "choose the transformers backend in Settings",
                ),
            )
        if not llamacpp_backend.available():
            raise InvalidValue(
                "llama-cpp-python is not installed", "pip install 'footnotes[llama]', or choose another backend"
            )
        return backend
    if backend in ("transformers", "server"):
        return backend
    on_cpu = choose_device(device) == "cpu"
    return "llama.cpp" if is_gguf and on_cpu and llamacpp_backend.available() else "transformers"


def load_generator(
    model: str | Path = "quality",
    backend: str = "auto",
    device: str = "auto",
    context_window: int = DEFAULT_CONTEXT,
    status: Callable[[str], None] | None = None,
    server: ServerSettings | None = None,
) -> Generator:
    """Load a model for generation, reporting what it does through `status`; the ``server`` backend
    connects to the model server `server` describes instead (`context_window`: when it does not say)."""
    say = status or (lambda _message: None)
    if backend == "server":
        settings = server or ServerSettings()
        say(f"Connecting to the model server at {settings.host}…")
        generator: Generator = OpenAIGenerator(settings, fallback_context=context_window)
        say(f"Ready: {generator.describe()}")
        return generator
    interim = interim_model(model, backend, device)
    if interim != model:
        say(f"llama.cpp is not installed yet: answering with the {interim} model until it is…")
        model = interim
    say(f"Preparing model {model}…")
    path = resolve_model(model)
    chosen = pick_backend(path, backend, device)
    say(
        f"Loading {path.name} with {chosen}"
        + (
            " (first use converts the GGUF: about a minute)…"
            if chosen == "transformers" and path.suffix == ".gguf"
            else "…"
        )
    )
    if chosen == "llama.cpp":
        from llm.llamacpp_backend import LlamaCppGenerator

        generator = LlamaCppGenerator(path, context_window=context_window)
    else:
        from llm.transformers_backend import TransformersGenerator

        generator = TransformersGenerator(path, model_cache_dir(), device=device, context_window=context_window)
    say(f"Ready: {generator.describe()}")
    return generator


def interim_model(model: str | Path, backend: str, device: str) -> str | Path:
    """The model to load for `model`: the light preset instead of the quality one while the quality one
    would run on transformers on the CPU only because llama.cpp is not installed yet (the first `make run`
    compiles it in the background). De-quantised to fp32 the quality model held 8.3 GB resident there;
    `llama_arrived` loads it on llama.cpp once that is installed. Any other choice stands as given: a
    GGUF file or folder, another backend, a GPU."""
    from llm import llamacpp_backend

    if model != QUALITY.preset or backend != "auto" or llamacpp_backend.available():
        return model
    return LIGHT.preset if choose_device(device) == "cpu" else model


def llama_arrived(generator: Generator, model: str, backend: str) -> bool:
    """True when `generator` runs a GGUF on transformers on the CPU only because llama.cpp was missing
    (`backend` ``auto``), and llama.cpp has been installed since (the first `make run` compiles it in the
    background): loading `model` again now picks llama.cpp."""
    if backend != "auto" or generator.backend != "transformers" or generator.device != "cpu":
        return False
    if not (model in PRESETS or str(model).lower().endswith(".gguf")):
        return False
    import importlib

    from llm import llamacpp_backend

    importlib.invalidate_caches()
    return llamacpp_backend.available()
