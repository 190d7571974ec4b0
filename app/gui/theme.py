"""Light and dark looks: the window follows the system's colour scheme, or a forced one.

`apply_theme(app, "auto" | "light" | "dark")` puts the application in the Fusion style with a light
or dark `QPalette` (Fusion draws every widget from the palette, so a forced scheme looks the same on
every desktop); with "auto" it follows `QStyleHints.colorScheme()` and keeps following it when the
system switches. Widgets that draw their own colours (the chat's chips and cards, the source
viewer's highlight) take them from `colors()`, which answers for the palette in use, whoever set it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

ThemeChoice = Literal["auto", "light", "dark"]
CHOICES: tuple[ThemeChoice, ...] = ("auto", "light", "dark")


@dataclass(frozen=True)
class Colors:
    """The colours the widgets draw themselves, as ``#rrggbb`` names (they go into rich text)."""

    dark: bool
    text: str
    """The body text, as the palette has it."""
    base: str
    """The background the chat and the text source are drawn on."""
    muted: str
    """Secondary text: labels, locations, quotes."""
    chip_bg: str
    chip_fg: str
    card_bg: str
    card_border: str
    error: str
    draft_bg: str
    draft_fg: str
    code_bg: str
    highlight: str
    """Behind the cited span in a text source (opaque: the text is drawn over it)."""
    page_highlight: QColor
    """Multiplied over the cited lines of a rendered PDF page; a page is white paper in both themes."""
    accent: str
    accent_fg: str


LIGHT = Colors(
    dark=False,
    text="#1f1f1f",
    base="#ffffff",
    muted="#5f6368",
    chip_bg="#dbe7ff",
    chip_fg="#1a3d8f",
    card_bg="#f4f6fa",
    card_border="#d5dbe5",
    error="#b3261e",
    draft_bg="#fdecea",
    draft_fg="#5f2120",
    code_bg="#eef0f3",
    highlight="#ffe680",
    page_highlight=QColor(255, 213, 0, 110),
    accent="#1a5fd0",
    accent_fg="#ffffff",
)

DARK = Colors(
    dark=True,
    text="#e6e6e6",
    base="#1e1f22",
    muted="#a4a9b0",
    chip_bg="#2c4470",
    chip_fg="#d6e4ff",
    card_bg="#2a2c31",
    card_border="#43474f",
    error="#f2b8b5",
    draft_bg="#4a1f1c",
    draft_fg="#f9dedc",
    code_bg="#2f3238",
    highlight="#6b5400",
    page_highlight=QColor(255, 213, 0, 110),
    accent="#2a62c9",
    accent_fg="#ffffff",
)


def palette_is_dark(palette: QPalette) -> bool:
    """Whether a palette draws light text on a dark window."""
    window, text = palette.color(QPalette.ColorRole.Window), palette.color(QPalette.ColorRole.WindowText)
    return window.lightness() < text.lightness()


def colors() -> Colors:
    """The colour set matching the application's palette now (light when there is no application)."""
    if QGuiApplication.instance() is None:
        return LIGHT
    return DARK if palette_is_dark(QGuiApplication.palette()) else LIGHT


def system_is_dark() -> bool:
    """Whether the desktop asks for a dark colour scheme (Unknown counts as light)."""
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def palette_for(scheme: Colors) -> QPalette:
    """A complete Fusion palette for a colour set."""
    dark = scheme.dark
    window = QColor("#2b2d31" if dark else "#eff0f2")
    button = QColor("#35383e" if dark else "#f6f7f9")
    disabled = QColor("#7c8088" if dark else "#9aa0a6")
    roles = {
        QPalette.ColorRole.Window: window,
        QPalette.ColorRole.WindowText: QColor(scheme.text),
        QPalette.ColorRole.Base: QColor(scheme.base),
        QPalette.ColorRole.AlternateBase: QColor(scheme.card_bg),
        QPalette.ColorRole.ToolTipBase: QColor(scheme.card_bg),
        QPalette.ColorRole.ToolTipText: QColor(scheme.text),
        QPalette.ColorRole.PlaceholderText: QColor(scheme.muted),
        QPalette.ColorRole.Text: QColor(scheme.text),
        QPalette.ColorRole.Button: button,
        QPalette.ColorRole.ButtonText: QColor(scheme.text),
        QPalette.ColorRole.BrightText: QColor("#ff6b6b" if dark else "#d00000"),
        QPalette.ColorRole.Highlight: QColor(scheme.accent),
        QPalette.ColorRole.HighlightedText: QColor(scheme.accent_fg),
        QPalette.ColorRole.Link: QColor("#8ab4f8" if dark else "#1a5fd0"),
        QPalette.ColorRole.LinkVisited: QColor("#c58af9" if dark else "#6a1b9a"),
        QPalette.ColorRole.Light: button.lighter(130),
        QPalette.ColorRole.Midlight: button.lighter(115),
        QPalette.ColorRole.Mid: button.darker(130),
        QPalette.ColorRole.Dark: button.darker(160),
        QPalette.ColorRole.Shadow: QColor("#000000"),
    }
    palette = QPalette()
    for role, color in roles.items():
        palette.setColor(role, color)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return palette


class _Follower:
    """Re-applies the theme when the system scheme changes, while the choice is "auto"."""

    choice: ThemeChoice = "auto"
    connected: bool = False


_follower = _Follower()


def apply_theme(app: QApplication, choice: str = "auto") -> Colors:
    """Give the application the Fusion style and the palette of `choice` ("auto" follows the system,
    now and when it changes); returns the colour set in use. An unknown choice counts as "auto"."""
    chosen: ThemeChoice = choice if choice in CHOICES else "auto"  # type: ignore[assignment]
    _follower.choice = chosen
    if not _follower.connected:
        app.styleHints().colorSchemeChanged.connect(lambda _scheme: _follow(app))
        _follower.connected = True
    fusion = QStyleFactory.create("Fusion")
    if fusion is not None:
        app.setStyle(fusion)
    dark = system_is_dark() if chosen == "auto" else chosen == "dark"
    scheme = DARK if dark else LIGHT
    app.setPalette(palette_for(scheme))
    return scheme


def _follow(app: QApplication) -> None:
    if _follower.choice == "auto":
        apply_theme(app, "auto")


def contrast(foreground: str | QColor, background: str | QColor) -> float:
    """The WCAG 2 contrast ratio of two opaque colours (1 to 21; body text wants 4.5 or more)."""

    def luminance(color: QColor) -> float:
        channels = []
        for value in (color.redF(), color.greenF(), color.blueF()):
            channels.append(value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4)
        red, green, blue = channels
        return 0.2126 * red + 0.7152 * green + 0.0722 * blue

    lighter, darker = sorted((luminance(QColor(foreground)), luminance(QColor(background))), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)
