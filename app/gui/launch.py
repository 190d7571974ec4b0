"""Opening the window: the settings and library it starts with (`window_start`: the command line's
flags, the collection chosen last, the saved settings) and the event loop (`run_app`)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from app.core.collections import Collections, default_collections_dir, remember_choice, remembered
from app.core.engine import Engine
from app.core.errors import UsageError
from app.core.logs import setup_logging
from app.core.settings import ARG_PREFIX, Settings, SettingsStore, load_settings, settings_from_args
from app.gui.theme import apply_theme
from app.gui.window import MainWindow

log = logging.getLogger("footnotes.gui")


@dataclass(frozen=True)
class WindowStart:
    """What the window opens with (see `window_start`)."""

    preferences: Settings
    """The saved settings, with ``--library`` in them: what the Settings dialog edits and closing saves."""
    settings: Settings
    """`preferences` with the command line's settings flags (``--store``) on top: what this run uses."""
    location: Path | str
    """The library the window opens on: a folder or a ``postgresql://`` URL."""
    collections: Collections


def window_start(
    saved: SettingsStore,
    library: Path | None = None,
    collection: str | None = None,
    flags: argparse.Namespace | None = None,
) -> WindowStart:
    """The window's settings and library: ``--library`` or ``--store`` when given, else ``--collection`` or
    the collection the user chose last (`remember_choice`), else the saved library (or store). The settings
    flags in `flags` (``--store``) apply to this run only and are not saved, as for the commands;
    ``--library`` goes into the saved settings, as it always has (the window saves them when it closes),
    and, like ``--collection``, counts as a choice for the next start."""
    preferences = load_settings(saved)
    collections = Collections(default_collections_dir(), Path(preferences.library))
    if library is not None:
        preferences = replace(preferences, library=str(library))
    settings = preferences if flags is None else settings_from_args(flags, preferences)
    store = getattr(flags, f"{ARG_PREFIX}store", "").strip()
    if collection:
        chosen = next((c for c in collections.list() if c.name == collection), None)
        if chosen is None:
            raise UsageError(f"there is no collection named '{collection}'")
    else:
        chosen = remembered(saved, collections.list())
    if library is not None or collection:
        remember_choice(saved, None if library is not None else chosen)
    location = library or store or (chosen.library if chosen else settings.library_location())
    return WindowStart(preferences, settings, location, collections)


def run_app(
    library: Path | None = None,
    warm_model: bool = True,
    collection: str | None = None,
    flags: argparse.Namespace | None = None,
) -> int:
    """Open the window on the given library, store or collection (else the one open last time) and run the
    event loop; `flags`: the parsed command line, whose settings flags apply to this run (`window_start`).
    With `warm_model`, the model loads in the background from the start."""
    setup_logging("gui")
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Footnotes")
    app.setOrganizationName("Footnotes")
    settings = QSettings("Footnotes", "Footnotes")
    start = window_start(settings, library, collection, flags)  # a user error here: `app.main` prints it
    apply_theme(app, start.settings.appearance.theme)  # light or dark as chosen, or as the system is (and follows it)
    engine = Engine.from_settings(start.settings, start.location)
    window = MainWindow(engine, settings, start.preferences, warm_model=warm_model, collections=start.collections)
    window.show()
    code = app.exec()
    if window.warming:
        # The window is closed and its state saved, but a model load cannot be interrupted and the
        # interpreter would wait for it on exit; model caches are written atomically, so just leave.
        log.info("exiting while the model was still loading")
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
