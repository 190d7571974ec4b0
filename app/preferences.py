"""The user's choices, one object, kept between runs in QSettings."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from PySide6.QtCore import QSettings

from indexer.chunker import ChunkSettings
from indexer.library import default_library_dir
from llm.bundled import default_preset
from llm.openai_backend import DEFAULT_URL, ServerSettings


@dataclass
class Preferences:
    """Model, backend, device, retrieval and library settings."""

    library: str = ""
    model: str = ""
    backend: str = "auto"
    device: str = "auto"
    top_k: int = 5
    chunk_tokens: int = ChunkSettings.max_tokens
    server_url: str = DEFAULT_URL
    server_model: str = ""
    server_context: int = 0
    """Tokens of context of the server's model; 0: ask the server."""
    allow_remote: bool = False
    """Allow a model server on another machine (the API key is kept in the keyring, never here)."""

    def __post_init__(self) -> None:
        self.library = self.library or str(default_library_dir())
        self.model = self.model or default_preset()

    @property
    def server(self) -> ServerSettings:
        """The model server these preferences name."""
        return ServerSettings(self.server_url, self.server_model, self.allow_remote, self.server_context)


def load_preferences(settings: QSettings) -> Preferences:
    """Read preferences, falling back to defaults for anything missing or malformed."""
    defaults = Preferences()
    values = {}
    for field in fields(Preferences):
        default = getattr(defaults, field.name)
        raw = settings.value(f"preferences/{field.name}", default)
        try:
            values[field.name] = _as_bool(raw) if isinstance(default, bool) else type(default)(raw)
        except (TypeError, ValueError):
            values[field.name] = default
    return Preferences(**values)


def _as_bool(raw: object) -> bool:
    """A saved flag: QSettings gives back "true"/"false" strings from an INI file."""
    if isinstance(raw, str):
        if raw.strip().lower() not in ("true", "false", "1", "0"):
            raise ValueError(raw)
        return raw.strip().lower() in ("true", "1")
    return bool(raw)


def save_preferences(settings: QSettings, preferences: Preferences) -> None:
    """Write preferences."""
    for name, value in asdict(preferences).items():
        settings.setValue(f"preferences/{name}", value)
