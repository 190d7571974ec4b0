"""The settings dialog, built from the declaration in `app.core.settings`: one group per section, one row per
field (a combo for choices, a spin box for numbers, a checkbox for flags, a line edit for text, with a
browse button for a folder or a model file), plus what is not a setting: the devices detected and the
server's API key (kept in the keyring)."""

from __future__ import annotations

import dataclasses
from dataclasses import fields
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.settings import PRESETS_VALUES, Settings, declaration, walk, with_values
from llm import llamacpp_backend
from llm.bundled import PRESETS, is_installed
from llm.device import detect_devices
from llm.secrets import api_key, save_api_key

SPIN_MAX = 1_000_000


class SettingsDialog(QDialog):
    """Edits a copy of the settings; `result_settings()` returns it after Accept.

    `widgets` maps each setting's dotted path (``retrieval.top_k``) to its editor; the editors of the
    settings that earlier versions had are also attributes under their old names (``top_k``, ``server_url``)."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Footnotes settings")
        self._settings = settings
        self.widgets: dict[str, QWidget] = {}
        self.groups: dict[str, QGroupBox] = {}
        layout = QVBoxLayout(self)
        layout.addLayout(self._preset_row())
        self._add_groups(layout, settings)
        self._add_extras()
        self._show_conditional_groups()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    # -- building -------------------------------------------------------------------------
    def _preset_row(self) -> QHBoxLayout:
        """A preset picker: choosing one fills in its model and retrieval values."""
        self.preset = QComboBox()
        self.preset.addItem("(keep the values below)", "")
        for name in PRESETS_VALUES:
            self.preset.addItem(name, name)
        self.preset.activated.connect(lambda _index: self.apply_preset(self.preset.currentData()))
        row = QHBoxLayout()
        row.addWidget(QLabel("Preset"))
        row.addWidget(self.preset, 1)
        return row

    def _add_groups(self, layout: QVBoxLayout, settings: Settings) -> None:
        """One group box per section (the top-level fields in a "Library" one), in declaration order."""
        general = self._group("general", "Library", layout)
        for item in fields(settings):
            value = getattr(settings, item.name)
            if dataclasses.is_dataclass(value):
                box = self._group(item.name, item.metadata.get("title", item.name.capitalize()), layout)
                for name_item in fields(value):
                    self._add_row(box, f"{item.name}.{name_item.name}", name_item, getattr(value, name_item.name))
            else:
                self._add_row(general, item.name, item, value)
        if not general.layout().rowCount():
            general.hide()

    def _group(self, name: str, title: str, layout: QVBoxLayout) -> QGroupBox:
        box = self.groups[name] = QGroupBox(title)
        QFormLayout(box)
        layout.addWidget(box)
        return box

    def _add_row(self, box: QGroupBox, path: str, item: dataclasses.Field, value: Any) -> None:
        meta = declaration(item)
        if not meta.dialog:
            return
        editor, row = self._editor(item, value)
        editor.setToolTip(meta.description[:1].upper() + meta.description[1:])
        self.widgets[path] = editor
        if meta.legacy:
            setattr(self, meta.legacy, editor)
        label = meta.label or item.name.replace("_", " ").capitalize()
        form: QFormLayout = box.layout()
        form.addRow("" if isinstance(editor, QCheckBox) else label, row)

    def _editor(self, item: dataclasses.Field, value: Any) -> tuple[QWidget, QWidget]:
        """The editor of one field and the widget its row shows (the editor, or it with a browse button)."""
        meta = declaration(item)
        if isinstance(item.default, bool):
            check = QCheckBox(meta.label or item.name.replace("_", " ").capitalize())
            check.setChecked(value)
            return check, check
        if isinstance(item.default, int):
            spin = QSpinBox()
            spin.setRange(meta.minimum if meta.minimum is not None else 0, meta.maximum or SPIN_MAX)
            spin.setSingleStep(meta.step)
            spin.setSpecialValueText(meta.special)
            spin.setValue(value)
            return spin, spin
        if meta.choices:
            combo = QComboBox()
            combo.addItems(meta.choices)
            combo.setCurrentText(value)
            return combo, combo
        if meta.kind == "model":
            return self._model_editor(value)
        line = QLineEdit(value)
        if meta.kind == "folder":
            return line, _with_browse(line, lambda: self._browse_folder(line))
        return line, line

    def _model_editor(self, value: str) -> tuple[QWidget, QWidget]:
        """An editable combo of the bundled presets (saying which are not installed), or any path."""
        combo = QComboBox()
        combo.setEditable(True)
        for preset, bundled in PRESETS.items():
            installed = "" if is_installed(bundled) else " (not installed)"
            combo.addItem(f"{preset}: {bundled.title}{installed}", preset)
        _set_model(combo, value)
        return combo, _with_browse(combo, lambda: self._browse_model(combo))

    def _add_extras(self) -> None:
        """What the dialog shows beside the settings: the devices detected, and the server's API key."""
        detected = ", ".join(detect_devices())
        llama = "installed" if llamacpp_backend.available() else "not installed"
        self.detected = QLabel(f"Detected: {detected}; llama.cpp {llama}")
        self.groups["model"].layout().addRow("", self.detected)
        self._saved_key = api_key(self._settings.server.url) or ""
        self.api_key = QLineEdit(self._saved_key)
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key.setPlaceholderText("none")
        self.api_key.setToolTip("Kept in the system keyring, never in the settings file")
        server: QFormLayout = self.groups["server"].layout()
        row, _role = server.getWidgetPosition(self.widgets["server.allow_remote"])
        server.insertRow(row, "API key", self.api_key)  # the key beside the URL it is for
        self.widgets["server.model"].setPlaceholderText("the server's first model")

    def _show_conditional_groups(self) -> None:
        """Show a section declared ``shown_when`` (path, value) only while that setting has that value."""
        for item in fields(self._settings):
            condition = item.metadata.get("shown_when")
            if not condition or item.name not in self.groups:
                continue
            path, wanted = condition
            control, box = self.widgets[path], self.groups[item.name]
            control.currentTextChanged.connect(lambda text, box=box, wanted=wanted: box.setVisible(text == wanted))
            box.setVisible(control.currentText() == wanted)

    # -- reading and writing values ---------------------------------------------------------
    def value(self, path: str) -> Any:
        """The value the editor of a setting holds now."""
        editor = self.widgets[path]
        if isinstance(editor, QCheckBox):
            return editor.isChecked()
        if isinstance(editor, QSpinBox):
            return editor.value()
        if isinstance(editor, QComboBox) and editor.isEditable():
            data = editor.currentData()
            return data if data and editor.currentText().startswith(f"{data}:") else editor.currentText().strip()
        if isinstance(editor, QComboBox):
            return editor.currentText()
        return editor.text().strip()

    def set_value(self, path: str, value: Any) -> None:
        """Show `value` in the editor of a setting."""
        editor = self.widgets[path]
        if isinstance(editor, QCheckBox):
            editor.setChecked(value)
        elif isinstance(editor, QSpinBox):
            editor.setValue(value)
        elif isinstance(editor, QComboBox) and editor.isEditable():
            _set_model(editor, value)
        elif isinstance(editor, QComboBox):
            editor.setCurrentText(value)
        else:
            editor.setText(value)

    def apply_preset(self, name: str) -> None:
        """Fill in the values of a named preset (nothing for an empty name)."""
        for path, value in PRESETS_VALUES.get(name, {}).items():
            if path in self.widgets:
                self.set_value(path, value)

    def result_settings(self) -> Settings:
        """The edited settings."""
        return with_values(
            self._settings,
            {path: self.value(path) for path, _item, _old in walk(self._settings) if path in self.widgets},
        )

    # -- actions ----------------------------------------------------------------------------
    def accept(self) -> None:
        """Keep a changed API key in the keyring (or for this session, said so), then close."""
        url, key = self.value("server.url"), self.api_key.text()
        changed = key != self._saved_key or (key and url != self._settings.server.url)
        note = save_api_key(url, key) if changed else None
        if note:
            QMessageBox.information(self, "Footnotes", note)
        super().accept()

    def _browse_model(self, combo: QComboBox) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a GGUF model", filter="GGUF models (*.gguf);;All files (*)")
        if not path:
            path = QFileDialog.getExistingDirectory(self, "…or a Hugging Face model folder")
        if path:
            combo.setEditText(path)

    def _browse_folder(self, line: QLineEdit) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Library folder", line.text())
        if folder:
            line.setText(folder)


def _with_browse(editor: QWidget, browse: Any) -> QWidget:
    """`editor` with a "Browse…" button to its right."""
    button = QPushButton("Browse…")
    button.clicked.connect(browse)
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(editor, 1)
    layout.addWidget(button)
    return row


def _set_model(combo: QComboBox, value: str) -> None:
    """Select the preset named `value`, or show `value` (a path) as typed text."""
    index = combo.findData(value)
    if index >= 0:
        combo.setCurrentIndex(index)
    else:
        combo.setEditText(value)
