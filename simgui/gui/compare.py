"""Compare two photos side by side: synced zoom and pan, their sizes and dates, the engine's verdict."""
from __future__ import annotations

import os
from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout

from simgui.core.pathtext import readable
from simgui.core.store import ImageRecord
from simgui.gui.photo_view import PhotoDialog, ZoomView


def describe(image: ImageRecord) -> str:
    date = datetime.fromisoformat(image.captured_at).strftime("%Y-%m-%d %H:%M") if image.captured_at else "no date"
    return f"{readable(os.path.basename(image.path))}\n{image.width}×{image.height} · {image.size / 1e6:.2f} MB · {date}"


class CompareDialog(PhotoDialog):
    def __init__(self, left: ImageRecord, right: ImageRecord, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Compare")
        self.resize(1100, 700)
        self.views = [ZoomView(), ZoomView()]
        self.views[0].link(self.views[1])
        self.views[1].link(self.views[0])
        self.verdict = QLabel("comparing…")
        self.verdict.setAlignment(Qt.AlignCenter)
        grid = QGridLayout()
        for side, image in enumerate((left, right)):
            label = QLabel(describe(image))
            label.setToolTip(readable(image.path))
            grid.addWidget(label, 0, side)
            grid.addWidget(self.views[side], 1, side)
            self.load(self.views[side], image.path)
        layout = QVBoxLayout(self)
        layout.addWidget(self.verdict)
        layout.addLayout(grid)

    def show_comparison(self, comparison) -> None:
        self.verdict.setText(f"{comparison.verdict} · similarity {comparison.score:.3f} · "
                             f"patches agreeing {comparison.agreement:.0%}")


class PreviewDialog(PhotoDialog):
    """Space in the Duplicates view: one photo, large; Space or Esc closes it."""

    def __init__(self, image: ImageRecord, parent=None):
        super().__init__(parent)
        self.setWindowTitle(readable(os.path.basename(image.path)))
        self.resize(1000, 750)
        view = ZoomView()
        self.views = [view]
        label = QLabel(describe(image).replace("\n", " · "))
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(view)
        self.load(view, image.path)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key_Space:
            self.accept()
        else:
            super().keyPressEvent(event)
