"""The user's settings: one typed, nested object, declared once.

Every field carries its description, its command-line flag, its allowed values and whether the
settings dialog shows it (`Setting`, in the field's metadata). From that one declaration come the
saved settings (`load_settings`/`save_settings`, over QSettings), the dialog (`app.gui.settings_dialog`)
and the CLI flags (`add_arguments`, `settings_from_args`). Adding a setting is adding one field here.

Qt-free on purpose: the store only needs QSettings' ``value``/``setValue``/``remove``/``contains``, so
the CLI and the MCP server use this module without loading Qt.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from indexer.chunker import ChunkSettings
from indexer.library import default_library_dir
from llm.bundled import PRESETS, default_preset
from llm.device import DEVICES
from llm.loader import BACKENDS
from llm.openai_backend import DEFAULT_URL, ServerSettings
from rag.retriever import RetrievalSettings
from usererrors import InvalidValue

GROUP = "settings"
"""The QSettings group the settings are saved under (``settings/model/backend``)."""
LEGACY_GROUP = "preferences"
"""Where the `Preferences` of earlier versions saved them (``preferences/backend``), read once to migrate."""
THEMES = ("auto", "light", "dark")


@dataclass(frozen=True)
class Setting:
    """What the declaration says of one field besides its type and default."""

    description: str
    """Help text: the dialog's tooltip and the CLI's ``--help``."""
    label: str = ""
    """The dialog's row label; empty: the field's name, capitalised."""
    flag: str = ""
    """The CLI flag (``--top-k``); empty: no flag."""
    short: str = ""
    """A short CLI flag (``-k``) beside `flag`."""
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    step: int = 1
    dialog: bool = True
    """Whether the settings dialog shows it."""
    kind: str = ""
    """How the dialog edits a string: ``folder`` or ``model`` (a preset or a file, with a browse button)."""
    legacy: str = ""
    """Its name under ``preferences/`` in earlier versions, read once to migrate a user's saved value."""
    special: str = ""
    """What the dialog shows for the minimum of a number that means "not set" (0: "ask the server")."""


def setting(default: Any, description: str, **options: Any) -> Any:
    """A dataclass field with its `Setting` declaration."""
    return field(default=default, metadata={"setting": Setting(description, **options)})


def declaration(item: dataclasses.Field) -> Setting:
    """The `Setting` of a field (a bare field gets one with its name as description)."""
    return item.metadata.get("setting") or Setting(item.name)


@dataclass(frozen=True)
class ModelSection:
    """Which language model answers, on what."""

    name: str = setting(
        "",
        f"a bundled preset ({', '.join(PRESETS)}), or a local GGUF file or model folder (default: the best installed)",
        label="Model",
        flag="--model",
        kind="model",
        legacy="model",
    )
    backend: str = setting(
        "auto",
        "how the model runs; server: an OpenAI-compatible model server",
        flag="--backend",
        choices=BACKENDS,
        legacy="backend",
    )
    device: str = setting("auto", "where an in-process model runs", flag="--device", choices=DEVICES, legacy="device")

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.name or default_preset())


@dataclass(frozen=True)
class ServerSection:
    """The OpenAI-compatible model server used with backend ``server`` (its API key is kept in the keyring)."""

    url: str = setting(
        DEFAULT_URL,
        "OpenAI-compatible server (--backend server)",
        label="Server URL",
        flag="--server-url",
        legacy="server_url",
    )
    model: str = setting(
        "",
        "the server's model name (default: the first it lists)",
        label="Server model",
        flag="--server-model",
        legacy="server_model",
    )
    context: int = setting(
        0,
        "tokens of context of the server's model (default: ask it)",
        label="Server context (tokens)",
        flag="--server-context",
        minimum=0,
        maximum=1_048_576,
        special="ask the server",
        legacy="server_context",
    )
    allow_remote: bool = setting(
        False,
        "allow a server on another machine (questions and passages are sent to it)",
        label="Allow a server on another machine (questions and passages are sent to it)",
        flag="--allow-remote",
        legacy="allow_remote",
    )

    def connection(self) -> ServerSettings:
        """The model server as the `llm` package takes it."""
        return ServerSettings(self.url.strip(), self.model.strip(), self.allow_remote, self.context)


@dataclass(frozen=True)
class EmbedderSection:
    """Where passages and questions are embedded: the bundled model on this machine, or an OpenAI-compatible
    embeddings server (a GPU box running llama.cpp's server, vLLM or text-embeddings-inference)."""

    url: str = setting(
        "",
        "an OpenAI-compatible embeddings server, like http://127.0.0.1:8080/v1 (default: the bundled model here); "
        "a library built with one embedder is refused to another",
        label="Embeddings server URL",
        flag="--embedder-url",
    )
    model: str = setting(
        "",
        "the embeddings server's model name (default: the first it lists)",
        label="Embeddings model",
        flag="--embedder-model",
    )
    allow_remote: bool = setting(
        False,
        "allow an embeddings server on another machine (every passage and question is sent to it)",
        label="Allow an embeddings server on another machine (passages and questions are sent to it)",
        flag="--embedder-allow-remote",
    )

    @property
    def is_remote(self) -> bool:
        """True when embeddings come from a server rather than the bundled model."""
        return bool(self.url.strip())


@dataclass(frozen=True)
class RetrievalSection:
    """How passages are cut and how many an answer reads."""

    top_k: int = setting(
        RetrievalSettings.top_k,
        "passages given to the model",
        label="Passages per answer",
        flag="--top-k",
        short="-k",
        minimum=1,
        maximum=50,
        legacy="top_k",
    )
    chunk_tokens: int = setting(
        ChunkSettings.max_tokens,
        "chunk size in tokens; a new size applies when the library is re-indexed",
        label="Chunk size (tokens)",
        flag="--chunk-tokens",
        minimum=64,
        maximum=256,
        step=16,
        legacy="chunk_tokens",
    )


@dataclass(frozen=True)
class AppearanceSection:
    """How the window looks."""

    theme: str = setting("auto", "colours of the window; auto: follow the system", choices=THEMES)


@dataclass(frozen=True)
class Settings:
    """Everything a user can set: the library (a folder, or a PostgreSQL `store`) and one section per concern."""

    library: str = setting(
        "",
        "the library folder (default: the user data folder)",
        label="Library folder",
        kind="folder",
        legacy="library",
    )
    store: str = setting(
        "",
        "a shared library on PostgreSQL (postgresql://user@host/database; the password belongs in ~/.pgpass);"
        " empty: the library folder",
        label="Shared library (PostgreSQL URL)",
        flag="--store",
    )
    model: ModelSection = field(default_factory=ModelSection, metadata={"title": "Model"})
    server: ServerSection = field(
        default_factory=ServerSection, metadata={"title": "Model server", "shown_when": ("model.backend", "server")}
    )
    """Shown in the dialog only while the backend is ``server``."""
    retrieval: RetrievalSection = field(default_factory=RetrievalSection, metadata={"title": "Retrieval"})
    embedder: EmbedderSection = field(default_factory=EmbedderSection, metadata={"title": "Embeddings"})
    appearance: AppearanceSection = field(default_factory=AppearanceSection, metadata={"title": "Appearance"})

    def __post_init__(self) -> None:
        object.__setattr__(self, "library", self.library or str(default_library_dir()))

    def library_location(self) -> str | Path:
        """Where the library lives: the `store` URL when set, else the library folder."""
        return self.store.strip() or Path(self.library).expanduser()

    @classmethod
    def preset(cls, name: str, **values: Any) -> Settings:
        """The settings of a named preset (see `PRESETS_VALUES`), with `values` (``library=…``) on top."""
        if name not in PRESETS_VALUES:
            raise InvalidValue(f"unknown preset '{name}'", f"choose one of {', '.join(PRESETS_VALUES)}")
        return with_values(cls(**values), PRESETS_VALUES[name])

    def to_dict(self) -> dict[str, Any]:
        """Plain nested values (for JSON)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Settings:
        """Settings from `to_dict`'s shape; anything missing or malformed keeps its default."""
        flat = {path: value for path, value in _flatten(data)}
        return _build(cls, lambda path, _item: flat.get(path, _MISSING))


PRESETS_VALUES: dict[str, dict[str, Any]] = {
    "quality": {"model.name": "quality", "retrieval.top_k": 5},
    "light": {"model.name": "light", "retrieval.top_k": 4},
}
"""Named presets, one per bundled model: the model and how many passages it reads. The 0.5B light model
keeps to fewer passages better; chunk size is left alone (changing it means re-indexing)."""


class SettingsStore(Protocol):
    """What `load_settings` and `save_settings` need of QSettings."""

    def value(self, key: str, defaultValue: Any = None) -> Any:
        """The saved value of `key`."""

    def setValue(self, key: str, value: Any) -> None:
        """Save `value` under `key`."""

    def remove(self, key: str) -> None:
        """Forget `key` and the keys under it."""

    def contains(self, key: str) -> bool:
        """True when `key` is saved."""


def load_settings(store: SettingsStore, cls: type[Settings] = Settings) -> Settings:
    """Read saved settings (``settings/<section>/<field>``); a value saved only under the old
    ``preferences/<name>`` key is taken from there; anything missing or malformed keeps its default."""

    def saved(path: str, item: dataclasses.Field) -> Any:
        key = f"{GROUP}/{path.replace('.', '/')}"
        if store.contains(key):
            return store.value(key)
        legacy = declaration(item).legacy
        if legacy and store.contains(f"{LEGACY_GROUP}/{legacy}"):
            return store.value(f"{LEGACY_GROUP}/{legacy}")
        return _MISSING

    return _build(cls, saved)


def save_settings(store: SettingsStore, settings: Settings) -> None:
    """Write every setting under ``settings/``, and drop the old ``preferences/`` keys they replace."""
    for path, _item, value in walk(settings):
        store.setValue(f"{GROUP}/{path.replace('.', '/')}", value)
    store.remove(LEGACY_GROUP)


def walk(settings: Any, prefix: str = "") -> Iterator[tuple[str, dataclasses.Field, Any]]:
    """Every leaf setting as (dotted path, field, value), sections in declaration order."""
    for item in fields(settings):
        value = getattr(settings, item.name)
        if is_dataclass(value):
            yield from walk(value, f"{prefix}{item.name}.")
        else:
            yield f"{prefix}{item.name}", item, value


def leaves(cls: type, prefix: str = "") -> Iterator[tuple[str, dataclasses.Field]]:
    """Every leaf field of a settings class as (dotted path, field), without building an instance."""
    for item in fields(cls):
        kind = _section_type(item)
        if kind is not None:
            yield from leaves(kind, f"{prefix}{item.name}.")
        else:
            yield f"{prefix}{item.name}", item


def with_values(settings: Settings, values: Mapping[str, Any]) -> Settings:
    """A copy of `settings` with the given dotted paths (``retrieval.top_k``) set, each checked."""
    result = settings
    for path, value in values.items():
        result = _replace_path(result, path.split("."), value)
    return result


def coerce(item: dataclasses.Field, raw: Any) -> Any:
    """`raw` (a saved string, a JSON value) as the field's type, checked against its choices and range;
    ValueError when it is not one."""
    default = item.default
    value = _as_bool(raw) if isinstance(default, bool) else type(default)(raw)
    problem = violation(item, value)
    if problem:
        raise InvalidValue(problem)
    return value


def violation(item: dataclasses.Field, value: Any) -> str | None:
    """Why `value` is not allowed for the field (``must be at least 1, not 0``), or None."""
    meta = declaration(item)
    if meta.choices and value not in meta.choices:
        return f"must be one of {', '.join(meta.choices)}, not {value}"
    if meta.minimum is not None and value < meta.minimum:
        return f"must be at least {meta.minimum}, not {value}"
    if meta.maximum is not None and value > meta.maximum:
        return f"must be at most {meta.maximum}, not {value}"
    return None


def add_arguments(parser: argparse.ArgumentParser, paths: tuple[str, ...], cls: type[Settings] = Settings) -> None:
    """Add the flags of the settings under `paths` (sections like ``model`` or fields like
    ``retrieval.top_k``) to `parser`; unset flags leave the base settings alone (see `settings_from_args`)."""
    for path, item in leaves(cls):
        meta = declaration(item)
        if not meta.flag or not any(path == p or path.startswith(f"{p}.") for p in paths):
            continue
        flags = [meta.short, meta.flag] if meta.short else [meta.flag]
        options: dict[str, Any] = {"dest": f"{ARG_PREFIX}{path}", "default": argparse.SUPPRESS}
        default = item.default
        if isinstance(default, bool):
            options["action"] = "store_true"
        else:
            options["type"] = type(default)
            options["metavar"] = meta.flag.lstrip("-").replace("-", "_").upper()
        if meta.choices:
            options["choices"] = meta.choices
            options.pop("metavar", None)
        shown = f" (default: {default})" if default not in ("", False) and "default" not in meta.description else ""
        parser.add_argument(*flags, help=f"{meta.description}{shown}", **options)


def settings_from_args(args: argparse.Namespace, base: Settings) -> Settings:
    """`base` with the settings flags given on the command line on top; ValueError names a flag whose
    value is out of range (``--top-k must be at least 1, not 0``)."""
    given = {key[len(ARG_PREFIX) :]: value for key, value in vars(args).items() if key.startswith(ARG_PREFIX)}
    fields_by_path = dict(leaves(type(base)))
    for path, value in given.items():
        problem = violation(fields_by_path[path], value)
        if problem:
            raise InvalidValue(f"{declaration(fields_by_path[path]).flag} {problem}")
    return with_values(base, given)


ARG_PREFIX = "setting:"
"""The argparse destinations of settings flags (``setting:retrieval.top_k``), apart from other options."""
_MISSING = object()


def _build(cls: type, lookup: Any, prefix: str = "") -> Any:
    """An instance of `cls` whose leaves are `lookup(path, field)` when that is given and well-formed."""
    values: dict[str, Any] = {}
    for item in fields(cls):
        kind = _section_type(item)
        if kind is not None:
            values[item.name] = _build(kind, lookup, f"{prefix}{item.name}.")
            continue
        raw = lookup(f"{prefix}{item.name}", item)
        if raw is _MISSING:
            continue
        try:
            values[item.name] = coerce(item, raw)
        except (TypeError, ValueError):
            pass  # a hand-edited or damaged value: the default is better than refusing to start
    return cls(**values)


def _section_type(item: dataclasses.Field) -> type | None:
    """The section class of a nested field (it has a default factory that is a dataclass), else None."""
    factory = item.default_factory
    return factory if factory is not dataclasses.MISSING and is_dataclass(factory) else None


def _replace_path(node: Any, path: list[str], value: Any) -> Any:
    item = next((f for f in fields(node) if f.name == path[0]), None)
    if item is None:
        raise InvalidValue(f"no setting named {path[0]}")
    if len(path) > 1:
        return replace(node, **{path[0]: _replace_path(getattr(node, path[0]), path[1:], value)})
    problem = violation(item, value)
    if problem:
        raise InvalidValue(f"{item.name} {problem}")
    return replace(node, **{path[0]: value})


def _flatten(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in data.items():
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _as_bool(raw: object) -> bool:
    """A saved flag: QSettings gives back "true"/"false" strings from an INI file."""
    if isinstance(raw, str):
        if raw.strip().lower() not in ("true", "false", "1", "0"):
            raise ValueError(raw)
        return raw.strip().lower() in ("true", "1")
    return bool(raw)
