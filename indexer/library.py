"""Where libraries live: one folder each, under the user's data directory unless given."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

LIBRARY_ENV = "FOOTNOTES_LIBRARY"


def default_library_dir() -> Path:
    """``$FOOTNOTES_LIBRARY``, else ``<user data dir>/Footnotes/libraries/default``."""
    override = os.environ.get(LIBRARY_ENV)
    if override:
        return Path(override).expanduser()
    return Path(user_data_dir("Footnotes", appauthor=False)) / "libraries" / "default"
