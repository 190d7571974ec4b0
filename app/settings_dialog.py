"""Settings: model, backend and device (with what was detected), retrieval depth, chunk size, library."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QWidget,
)

from app.preferences import Preferences
from llm import llamacpp_backend
from llm.bundled import PRESETS, is_installed
from llm.device import DEVICES, detect_devices
from llm.loader import BACKENDS
from llm.secrets import api_key, save_api_key


class SettingsDialog(QDialog):
    """Edits a copy of the preferences; `result_preferences()` returns it after Accept."""

    def __init__(self, preferences: Preferences, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Footnotes settings")
        self._preferences = preferences
        self.model = QComboBox()
        self.model.setEditable(True)
        for preset, bundled in PRESETS.items():
            installed = "" if is_installed(bundled) else " (not installed)"
            self.model.addItem(f"{preset}: {bundled.title}{installed}", preset)
        index = self.model.findData(preferences.model)
        if index >= 0:
            self.model.setCurrentIndex(index)
        else:
            self.model.setEditText(preferences.model)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_model)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(browse)

        self.backend = QComboBox()
        self.backend.addItems(BACKENDS)
        self.backend.setCurrentText(preferences.backend)
        self.device = QComboBox()
        self.device.addItems(DEVICES)
        self.device.setCurrentText(preferences.device)
        detected = ", ".join(detect_devices())
        llama = "installed" if llamacpp_backend.available() else "not installed"
        self.detected = QLabel(f"Detected: {detected}; llama.cpp {llama}")

        self.top_k = QSpinBox()
        self.top_k.setRange(1, 20)
        self.top_k.setValue(preferences.top_k)
        self.chunk_tokens = QSpinBox()
        self.chunk_tokens.setRange(64, 256)
        self.chunk_tokens.setSingleStep(16)
        self.chunk_tokens.setValue(preferences.chunk_tokens)
        self.chunk_tokens.setToolTip("Changing it offers to re-index the library")
        self.library = QLineEdit(preferences.library)
        library_browse = QPushButton("Browse…")
        library_browse.clicked.connect(self._browse_library)
        library_row = QHBoxLayout()
        library_row.addWidget(self.library, 1)
        library_row.addWidget(library_browse)

        form = QFormLayout(self)
        form.addRow("Model", model_row)
        form.addRow("Backend", self.backend)
        form.addRow("Device", self.device)
        form.addRow("", self.detected)
        form.addRow("Passages per answer", self.top_k)
        form.addRow("Chunk size (tokens)", self.chunk_tokens)
        form.addRow("Library folder", library_row)
        self._add_server_rows(form, preferences)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _add_server_rows(self, form: QFormLayout, preferences: Preferences) -> None:
        """The model server's fields, shown only while the backend is ``server``."""
        self.server_url = QLineEdit(preferences.server_url)
        self.server_model = QLineEdit(preferences.server_model)
        self.server_model.setPlaceholderText("the server's first model")
        self.server_context = QSpinBox()
        self.server_context.setRange(0, 1_048_576)
        self.server_context.setSpecialValueText("ask the server")
        self.server_context.setValue(preferences.server_context)
        self._saved_key = api_key(preferences.server_url) or ""
        self.api_key = QLineEdit(self._saved_key)
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key.setPlaceholderText("none")
        self.api_key.setToolTip("Kept in the system keyring, never in the settings file")
        self.allow_remote = QCheckBox("Allow a server on another machine (questions and passages are sent to it)")
        self.allow_remote.setChecked(preferences.allow_remote)
        self._server_rows = [
            ("Server URL", self.server_url),
            ("Server model", self.server_model),
            ("Server context (tokens)", self.server_context),
            ("API key", self.api_key),
            ("", self.allow_remote),
        ]
        for label, widget in self._server_rows:
            form.addRow(label, widget)
        self.backend.currentTextChanged.connect(self._show_server_rows)
        self._show_server_rows(self.backend.currentText())

    def _show_server_rows(self, backend: str) -> None:
        form = self.layout()
        for _label, widget in self._server_rows:
            form.setRowVisible(widget, backend == "server")

    def accept(self) -> None:
        """Keep a changed API key in the keyring (or for this session, said so), then close."""
        url, key = self.server_url.text().strip(), self.api_key.text()
        changed = key != self._saved_key or (key and url != self._preferences.server_url)
        note = save_api_key(url, key) if changed else None
        if note:
            QMessageBox.information(self, "Footnotes", note)
        super().accept()

    def _browse_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a GGUF model", filter="GGUF models (*.gguf);;All files (*)")
        if not path:
            path = QFileDialog.getExistingDirectory(self, "…or a Hugging Face model folder")
        if path:
            self.model.setEditText(path)

    def _browse_library(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Library folder", self.library.text())
        if folder:
            self.library.setText(folder)

    def result_preferences(self) -> Preferences:
        """The edited preferences."""
        data = self.model.currentData()
        model = data if data and self.model.currentText().startswith(f"{data}:") else self.model.currentText()
        return replace(
            self._preferences,
            model=model,
            backend=self.backend.currentText(),
            device=self.device.currentText(),
            top_k=self.top_k.value(),
            chunk_tokens=self.chunk_tokens.value(),
            library=self.library.text(),
            server_url=self.server_url.text().strip(),
            server_model=self.server_model.text().strip(),
            server_context=self.server_context.value(),
            allow_remote=self.allow_remote.isChecked(),
        )
