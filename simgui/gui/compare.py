"""Compare two photos side by side: synced zoom and pan, their sizes and dates, the engine's verdict."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QImageReader, QPainter, QPixmap
from PySide6.QtWidgets import (QDialog, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QGridLayout, QLabel,
                               QVBoxLayout)

from simgui.core.store import ImageRecord
from simgui.gui.inbox import GuiInbox

MAX_SIDE = 2048  # enough to judge sharpness at 100 %, without holding 50 MP in memory


def _load_image(path: str) -> QImage:
    """Runs on a loader thread: the photo upright, at most MAX_SIDE pixels on its long side."""
    reader = QImageReader(path)
    reader.setAutoTransform(True)  # EXIF orientation, as everywhere else in simgui
    size = reader.size()
    if size.isValid() and max(size.width(), size.height()) > MAX_SIDE:
        reader.setScaledSize(size.scaled(MAX_SIDE, MAX_SIDE, Qt.KeepAspectRatio))
    return reader.read()


class SyncedView(QGraphicsView):
    """Zooms with the wheel; the partner view follows every zoom and scroll."""

    def __init__(self):
        super().__init__()
        self.setScene(QGraphicsScene(self))
        self.setDragMode(QGraphicsView.ScrollHandDrag)
        self.setRenderHint(QPainter.SmoothPixmapTransform)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.partner: SyncedView | None = None

    def link(self, partner: "SyncedView") -> None:
        self.partner = partner
        self.horizontalScrollBar().valueChanged.connect(partner.horizontalScrollBar().setValue)
        self.verticalScrollBar().valueChanged.connect(partner.verticalScrollBar().setValue)

    def wheelEvent(self, event) -> None:
        factor = 1.25 if event.angleDelta().y() > 0 else 0.8
        self.scale(factor, factor)
        if self.partner is not None:
            self.partner.setTransform(self.transform())


def describe(image: ImageRecord) -> str:
    date = datetime.fromisoformat(image.captured_at).strftime("%Y-%m-%d %H:%M") if image.captured_at else "no date"
    return f"{os.path.basename(image.path)}\n{image.width}×{image.height} · {image.size / 1e6:.2f} MB · {date}"


class CompareDialog(QDialog):
    def __init__(self, left: ImageRecord, right: ImageRecord, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Compare")
        self.resize(1100, 700)
        self.views = [SyncedView(), SyncedView()]
        self.views[0].link(self.views[1])
        self.views[1].link(self.views[0])
        self.verdict = QLabel("comparing…")
        self.verdict.setAlignment(Qt.AlignCenter)
        grid = QGridLayout()
        for side, image in enumerate((left, right)):
            label = QLabel(describe(image))
            label.setToolTip(image.path)
            grid.addWidget(label, 0, side)
            grid.addWidget(self.views[side], 1, side)
        layout = QVBoxLayout(self)
        layout.addWidget(self.verdict)
        layout.addLayout(grid)
        self.loaded = 0
        self.inbox = GuiInbox(self)
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="simgui-compare")
        for side, image in enumerate((left, right)):
            self.pool.submit(lambda side=side, path=image.path: self.inbox.post(self._show, side, _load_image(path)))

    def _show(self, side: int, image: QImage) -> None:
        view = self.views[side]
        view.scene().addItem(QGraphicsPixmapItem(QPixmap.fromImage(image)))
        view.fitInView(view.scene().itemsBoundingRect(), Qt.KeepAspectRatio)
        self.loaded += 1

    def show_comparison(self, comparison) -> None:
        self.verdict.setText(f"{comparison.verdict} · similarity {comparison.score:.3f} · "
                             f"patches agreeing {comparison.agreement:.0%}")

    def done(self, result: int) -> None:
        self.pool.shutdown(wait=True)  # no load may land on a closed dialog
        self.inbox.close()
        super().done(result)
