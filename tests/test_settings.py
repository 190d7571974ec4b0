"""The one settings declaration: saved and migrated through a real QSettings file, presets, and the dialog
and the CLI flags that are built from it."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import free_port
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QCheckBox, QComboBox, QSpinBox
from pytestqt.qtbot import QtBot

from app.cli.parser import build_parser
from app.core.engine import Engine
from app.core.settings import (
    PRESETS_VALUES,
    ModelSection,
    RetrievalSection,
    ServerSection,
    Settings,
    add_arguments,
    load_settings,
    save_settings,
    setting,
    settings_from_args,
)
from app.gui.settings_dialog import SettingsDialog
from indexer.store import StoreError
from llm.bundled import PRESETS


def _ini(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "footnotes.ini"), QSettings.Format.IniFormat)


def _custom(tmp_path: Path) -> Settings:
    return Settings(
        library=str(tmp_path / "lib"),
        model=ModelSection("/models/my.gguf", "llama.cpp", "cpu"),
        server=ServerSection("http://127.0.0.1:8080/v1", "qwen", 8192, True),
        retrieval=RetrievalSection(top_k=7, chunk_tokens=128),
    )


def test_settings_survive_a_round_trip_through_an_ini_file(tmp_path: Path) -> None:
    saved = _custom(tmp_path)
    store = _ini(tmp_path)
    save_settings(store, saved)
    store.sync()
    text = (tmp_path / "footnotes.ini").read_text()
    assert "[settings]" in text and "model\\backend=llama.cpp" in text and "retrieval\\top_k=7" in text
    assert load_settings(_ini(tmp_path)) == saved  # a fresh reader: ints and bools come back as strings


def test_settings_survive_a_round_trip_through_json(tmp_path: Path) -> None:
    saved = _custom(tmp_path)
    data = json.loads(json.dumps(saved.to_dict()))
    assert data["retrieval"] == {"top_k": 7, "chunk_tokens": 128}
    assert Settings.from_dict(data) == saved


def test_preferences_saved_by_an_earlier_version_are_migrated(tmp_path: Path) -> None:
    old = _ini(tmp_path)
    for key, value in {
        "library": str(tmp_path / "old-lib"),
        "model": "light",
        "backend": "server",
        "top_k": 3,
        "chunk_tokens": 96,
        "server_url": "http://localhost:9000/v1",
        "server_context": 4096,
        "allow_remote": "true",
    }.items():
        old.setValue(f"preferences/{key}", value)
    old.sync()

    migrated = load_settings(_ini(tmp_path))
    assert migrated.library == str(tmp_path / "old-lib")
    assert (migrated.model.name, migrated.model.backend, migrated.model.device) == ("light", "server", "auto")
    assert (migrated.retrieval.top_k, migrated.retrieval.chunk_tokens) == (3, 96)
    assert migrated.server == ServerSection("http://localhost:9000/v1", "", 4096, True)

    store = _ini(tmp_path)
    save_settings(store, migrated)
    store.sync()
    text = (tmp_path / "footnotes.ini").read_text()
    assert "[preferences]" not in text and "server\\context=4096" in text
    assert load_settings(_ini(tmp_path)) == migrated


def test_malformed_values_fall_back_to_the_defaults(tmp_path: Path) -> None:
    (tmp_path / "footnotes.ini").write_text(
        "[settings]\n"
        "retrieval\\top_k=many\n"
        "retrieval\\chunk_tokens=9999\n"  # out of range
        "model\\backend=quantum\n"  # not a choice
        "server\\allow_remote=perhaps\n"
        "model\\device=cpu\n"
        "[preferences]\n"
        "top_k=12\n"  # the new key wins, even when malformed
    )
    loaded = load_settings(_ini(tmp_path))
    defaults = Settings()
    assert loaded.retrieval == defaults.retrieval
    assert loaded.model.backend == "auto" and loaded.model.device == "cpu"
    assert loaded.server.allow_remote is False


def test_presets_set_the_bundled_model_and_its_retrieval() -> None:
    light, quality = Settings.preset("light"), Settings.preset("quality", library="/tmp/x")
    assert light.model.name == "light" and quality.model.name == "quality" and quality.library == "/tmp/x"
    assert light.retrieval.top_k < quality.retrieval.top_k
    assert set(PRESETS_VALUES) == set(PRESETS)  # one preset per bundled model
    assert light.retrieval.chunk_tokens == Settings().retrieval.chunk_tokens  # no re-index for a preset
    with pytest.raises(ValueError, match="unknown preset 'huge'"):
        Settings.preset("huge")


def test_the_cli_flags_come_from_the_declaration_and_a_preset_is_a_base() -> None:
    parser = build_parser()
    args = parser.parse_args(["ask", "why?", "--preset", "light", "--device", "cpu", "--allow-remote"])
    settings = settings_from_args(args, Settings.preset(args.preset))
    assert (settings.model.name, settings.model.device, settings.retrieval.top_k) == ("light", "cpu", 4)
    assert settings.server.allow_remote is True
    args = parser.parse_args(["search", "why?", "-k", "9"])
    assert settings_from_args(args, Settings()).retrieval.top_k == 9
    args = parser.parse_args(["index", "--chunk-tokens", "300"])
    with pytest.raises(ValueError, match="--chunk-tokens must be at most 256, not 300"):
        settings_from_args(args, Settings())


def test_the_engine_is_built_from_settings_and_reports_them(tmp_path: Path) -> None:
    wanted = _custom(tmp_path)
    engine = Engine.from_settings(wanted)
    try:
        assert engine.store.folder == tmp_path / "lib"
        assert (engine.model, engine.backend, engine.device) == ("/models/my.gguf", "llama.cpp", "cpu")
        assert engine.settings.retrieval.top_k == 7 and engine.chunking.max_tokens == 128
        assert engine.server.context_window == 8192 and engine.server.allow_remote
        assert engine.current_settings() == wanted
    finally:
        engine.store.close()


def test_the_dialog_has_an_editor_of_the_declared_kind_per_setting(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = SettingsDialog(_custom(tmp_path))
    qtbot.addWidget(dialog)
    assert isinstance(dialog.widgets["model.backend"], QComboBox) and dialog.backend.currentText() == "llama.cpp"
    assert isinstance(dialog.widgets["server.allow_remote"], QCheckBox)
    top_k = dialog.widgets["retrieval.top_k"]
    assert isinstance(top_k, QSpinBox) and (top_k.minimum(), top_k.maximum(), top_k.value()) == (1, 50, 7)
    assert dialog.chunk_tokens.singleStep() == 16
    assert dialog.widgets["appearance.theme"].currentText() == "auto"
    assert dialog.model.currentText() == "/models/my.gguf"
    assert not dialog.groups["server"].isVisibleTo(dialog)  # shown only for the server backend
    dialog.backend.setCurrentText("server")
    assert dialog.groups["server"].isVisibleTo(dialog) and dialog.server_url.isVisibleTo(dialog)

    dialog.top_k.setValue(9)
    dialog.apply_preset("light")
    result = dialog.result_settings()
    assert result.model.name == "light" and result.retrieval.top_k == 4 and result.model.backend == "server"
    assert result.retrieval.chunk_tokens == 128 and result.library == str(tmp_path / "lib")


@dataclass(frozen=True)
class _RetrievalWithRerank(RetrievalSection):
    rerank: bool = setting(False, "rerank the passages with a cross-encoder", flag="--rerank")
    rerank_depth: int = setting(20, "passages the reranker reads", flag="--rerank-depth", minimum=5, maximum=100)


@dataclass(frozen=True)
class _SettingsWithRerank(Settings):
    retrieval: _RetrievalWithRerank = field(default_factory=_RetrievalWithRerank, metadata={"title": "Retrieval"})


def test_a_setting_added_only_to_the_declaration_gets_a_dialog_row_a_flag_and_a_saved_key(
    qtbot: QtBot, tmp_path: Path
) -> None:
    dialog = SettingsDialog(_SettingsWithRerank(library=str(tmp_path)))
    qtbot.addWidget(dialog)
    dialog.show()
    check, depth = dialog.widgets["retrieval.rerank"], dialog.widgets["retrieval.rerank_depth"]
    assert isinstance(check, QCheckBox) and check.isVisible() and check.toolTip().startswith("Rerank the passages")
    assert isinstance(depth, QSpinBox) and (depth.minimum(), depth.maximum()) == (5, 100)
    check.setChecked(True)
    depth.setValue(30)
    edited = dialog.result_settings()
    assert isinstance(edited, _SettingsWithRerank) and edited.retrieval.rerank and edited.retrieval.rerank_depth == 30

    parser = argparse.ArgumentParser()
    add_arguments(parser, ("retrieval",), _SettingsWithRerank)
    assert "--rerank-depth" in parser.format_help()
    args = parser.parse_args(["--rerank", "--rerank-depth", "40"])
    from_flags = settings_from_args(args, _SettingsWithRerank())
    assert from_flags.retrieval.rerank and from_flags.retrieval.rerank_depth == 40

    store = _ini(tmp_path)
    save_settings(store, edited)
    store.sync()
    assert load_settings(_ini(tmp_path), _SettingsWithRerank) == edited


def test_the_window_saves_its_engine_settings_on_close(qtbot: QtBot, tmp_path: Path) -> None:
    from app.gui.window import MainWindow

    engine = Engine.from_settings(Settings.preset("light", library=str(tmp_path / "lib")))
    window = MainWindow(engine, _ini(tmp_path))
    qtbot.addWidget(window)
    assert window.preferences == engine.current_settings()
    window.close()
    saved = load_settings(_ini(tmp_path))
    assert saved.library == str(tmp_path / "lib") and saved.model.name == "light" and saved.retrieval.top_k == 4


def test_the_window_runs_on_the_store_given_on_its_command_line_without_saving_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.gui.launch import window_start

    monkeypatch.setenv("FOOTNOTES_COLLECTIONS", str(tmp_path / "collections"))
    saved = _ini(tmp_path)
    save_settings(saved, Settings(library=str(tmp_path / "lib")))
    saved.setValue("collections/current", "Library")  # the saved library was open last time, as a collection
    parser = build_parser()

    start = window_start(saved, flags=parser.parse_args([]))
    assert start.location == tmp_path / "lib" and start.settings.store == ""
    engine = Engine.from_settings(start.settings, start.location)
    assert engine.store.folder == tmp_path / "lib"
    engine.store.close()

    port = free_port()
    url = f"postgresql://footnotes@127.0.0.1:{port}/team"
    start = window_start(saved, flags=parser.parse_args(["--store", url]))
    assert start.location == url and start.settings.store == url  # not the collection open last time
    assert start.preferences.store == "" and load_settings(saved).store == ""  # for this run: nothing saved
    with pytest.raises(
        StoreError, match=rf"cannot reach the library database at postgresql://footnotes@127\.0\.0\.1:{port}/team"
    ):
        Engine.from_settings(start.settings, start.location)  # the engine the window builds goes to that server

    other = tmp_path / "other"
    start = window_start(saved, other, flags=parser.parse_args(["--library", str(other)]))
    engine = Engine.from_settings(start.settings, start.location)
    assert start.location == other and engine.store.folder == other
    assert start.preferences.library == str(other)  # --library is kept in the saved settings, as before
    engine.store.close()


def test_the_window_reopens_a_collection_renamed_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window remembers the collection chosen last by name and by its library folder: renamed with
    ``footnotes collections rename`` (which knows nothing of the window's settings), it still opens next
    time, under its new name, instead of the settings' library."""
    from app.gui.launch import window_start
    from app.main import main

    monkeypatch.setenv("FOOTNOTES_COLLECTIONS", str(tmp_path / "collections"))
    monkeypatch.setenv("FOOTNOTES_LOG_DIR", str(tmp_path / "logs"))
    saved = _ini(tmp_path)
    save_settings(saved, Settings(library=str(tmp_path / "lib")))
    parser = build_parser()
    assert main(["collections", "create", "Thesis"]) == 0
    thesis = window_start(saved, collection="Thesis", flags=parser.parse_args([])).location  # chosen: remembered
    assert thesis == tmp_path / "collections" / "thesis" / "library"
    assert main(["collections", "rename", "Thesis", "Dissertation"]) == 0
    assert main(["collections", "create", "Thesis"]) == 0  # a new one under the old name is another collection
    start = window_start(saved, flags=parser.parse_args([]))
    assert start.location == thesis  # not the settings' library (tmp_path / "lib")
    assert saved.value("collections/current") == "Dissertation"
    assert main(["collections", "delete", "Dissertation", "--yes"]) == 0
    assert window_start(saved, flags=parser.parse_args([])).location == tmp_path / "lib"  # gone: the settings'
