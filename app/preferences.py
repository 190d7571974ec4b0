"""The user's choices, one object, kept between runs in QSettings."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from PySide6.QtCore import QSettings

from indexer.chunker import ChunkSettings
from indexer.library import default_library_dir
from llm.bundled import default_preset


@dataclass
class Preferences:
    """Model, backend, device, retrieval and library settings."""

    library: str = ""
    model: str = ""
    backend: str = "auto"
    device: str = "auto"
    top_k: int = 5
    chunk_tokens: int = ChunkSettings.max_tokens

    def __post_init__(self) -> None:
        self.library = self.library or str(default_library_dir())
        self.model = self.model or default_preset()


def load_preferences(settings: QSettings) -> Preferences:
    """Read preferences, falling back to defaults for anything missing or malformed."""
    defaults = Preferences()
    values = {}
    for field in fields(Preferences):
        default = getattr(defaults, field.name)
        raw = settings.value(f"preferences/{field.name}", default)
        try:
            values[field.name] = type(default)(raw)
        except (TypeError, ValueError):
            values[field.name] = default
    return Preferences(**values)


def save_preferences(settings: QSettings, preferences: Preferences) -> None:
    """Write preferences."""
    for name, value in asdict(preferences).items():
        settings.setValue(f"preferences/{name}", value)
