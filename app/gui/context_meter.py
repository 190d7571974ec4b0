"""The context meter: a slim bar showing how the model's window (its RAM) is spent this turn."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from rag.context import ContextPlan

COLOURS = {
    "system": QColor("#7b61ff"),
    "history": QColor("#00a3a3"),
    "passages": QColor("#f2a900"),
    "question": QColor("#e8505b"),
    "template": QColor("#9e9e9e"),
    "answer reserve": QColor("#4caf50"),
    "free": QColor(0, 0, 0, 0),
}


class ContextMeter(QWidget):
    """Draws a `ContextPlan` as proportional segments; the tooltip lists segments and passages."""

    def __init__(self) -> None:
        super().__init__()
        self.plan: ContextPlan | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("Context window: ask a question to see how it is spent")

    def sizeHint(self) -> QSize:
        return QSize(300, 12)

    def show_plan(self, plan: ContextPlan | None) -> None:
        """Show a new plan (None: the question needed no model)."""
        self.plan = plan
        self.setToolTip(self.describe())
        self.update()

    def describe(self) -> str:
        """The tooltip: the plan as `ContextPlan.describe` writes it."""
        if self.plan is None:
            return "Context window: no passages were relevant, so the model was not asked"
        return self.plan.describe()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        frame = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        painter.setPen(self.palette().mid().color())
        painter.drawRoundedRect(frame, 3, 3)
        if self.plan is None or self.plan.window <= 0:
            return
        x = frame.left()
        for name, tokens in self.plan.segments().items():
            width = frame.width() * tokens / self.plan.window
            painter.fillRect(QRectF(x, frame.top(), width, frame.height()), COLOURS[name])
            x += width
        painter.setPen(Qt.PenStyle.NoPen)
        painter.end()
