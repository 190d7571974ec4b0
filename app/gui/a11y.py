"""Accessibility helpers: every control says what it is and what it does."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget


def describe_control(widget: QWidget, name: str, description: str) -> None:
    """Name a control for screen readers and say what it does (also its tooltip, unless it has one)."""
    widget.setAccessibleName(name)
    widget.setAccessibleDescription(description)
    if not widget.toolTip():
        widget.setToolTip(description)
