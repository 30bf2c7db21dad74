"""Compare two photos side by side: synced zoom and pan, their sizes and dates, the engine's verdict, and
where the first differs from the second, shaded once the two are aligned."""
from __future__ import annotations

import os

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QCheckBox, QGridLayout, QGraphicsRectItem, QHBoxLayout, QLabel, QVBoxLayout

from simgui.core.matching.differences import SHADES, cell_rectangles
from simgui.core.matching.verify import CHANGED, CUT_AWAY
from simgui.core.storage.pathtext import readable
from simgui.core.storage.store import ImageRecord
from simgui.gui.photo_view import LoadedPhoto, PhotoDialog, ZoomView
from simgui.gui.texts import clip_facts, date_text, size_text


def describe(image: ImageRecord) -> str:
    clip = f" · {clip_facts(image)}" if image.is_clip else ""
    return (f"{readable(os.path.basename(image.path))}\n{image.width}×{image.height}{clip} · {size_text(image.size)} · "
            f"{date_text(image)}")


class CompareDialog(PhotoDialog):
    """Two photos of the library (their records give sizes and dates) or any two files (dropped on Search)."""

    def __init__(self, left: str, right: str, records: tuple[ImageRecord | None, ImageRecord | None] = (None, None),
                 parent=None):
        super().__init__(parent)
        self.setWindowTitle("Compare")
        self.resize(1100, 700)
        self.views = [ZoomView(), ZoomView()]
        self.views[0].link(self.views[1])
        self.views[1].link(self.views[0])
        self.verdict = QLabel("comparing…")
        self.verdict.setAlignment(Qt.AlignCenter)
        self.show_differences = QCheckBox("Shade where the left photo differs (D): magenta changed, grey cut away")
        self.show_differences.setShortcut("D")
        self.show_differences.setChecked(True)
        self.show_differences.toggled.connect(self._toggle_differences)
        self.labels: list[QLabel] = []
        grid = QGridLayout()
        for side, (path, record) in enumerate(zip((left, right), records)):
            label = QLabel(describe(record) if record else readable(os.path.basename(path)))
            label.setToolTip(readable(path))
            self.labels.append(label)
            grid.addWidget(label, 0, side)
            grid.addWidget(self.views[side], 1, side)
            self.load(self.views[side], path)
        self.described = [record is not None for record in records]
        top = QHBoxLayout()
        top.addWidget(self.verdict, 1)
        top.addWidget(self.show_differences)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(grid)
        self.comparison = None
        self.shading: list[QGraphicsRectItem] = []

    def photo_shown(self, view: ZoomView, photo: LoadedPhoto) -> None:
        side = self.views.index(view)
        if not self.described[side]:  # a loose file: what the loader learnt is all there is to say
            self.labels[side].setText(f"{self.labels[side].text()}\n{photo.width}×{photo.height} · "
                                      f"{size_text(photo.file_size)}")
        self._shade()

    def show_comparison(self, comparison) -> None:
        self.comparison = comparison
        self.show_differences.setVisible(not comparison.of_clips)  # clips are compared by frames, not cells
        grid = comparison.differences
        differing = "" if grid is None or not grid.any() else \
            f" · left photo: {(grid == CHANGED).mean():.0%} changed, {(grid == CUT_AWAY).mean():.0%} cut away"
        moment = " · another moment of the same scene, not the same photo" if comparison.another_moment else ""
        self.verdict.setText(f"{comparison.verdict} · similarity {comparison.score:.3f} · "
                             f"{comparison.evidence_text} {comparison.agreement:.0%}{differing}{moment}")
        self._shade()

    def _shade(self) -> None:
        """Once both the left photo and the engine's answer are in, the differing cells go over the photo."""
        items = self.views[0].scene().items()
        if self.comparison is None or self.comparison.differences is None or self.shading or not items:
            return
        bounds = self.views[0].scene().itemsBoundingRect()
        for value, rgba in SHADES.items():  # changed content, and content cut away, each its own shade
            for x0, y0, x1, y1 in cell_rectangles(int(bounds.width()), int(bounds.height()),
                                                  self.comparison.content_box, self.comparison.differences, value):
                item = self.views[0].scene().addRect(QRectF(x0, y0, x1 - x0, y1 - y0), QPen(Qt.NoPen),
                                                     QBrush(QColor(*rgba)))
                item.setVisible(self.show_differences.isChecked())
                self.shading.append(item)

    def _toggle_differences(self, shown: bool) -> None:
        for item in self.shading:
            item.setVisible(shown)


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
