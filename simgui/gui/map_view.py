"""The Map view: every distinct photo as a thumbnail at its place on the library map (core/library_map.py).

Items paint their thumbnail only when Qt paints them, so only what is on
screen is ever loaded; zoom with the wheel, pan by dragging, double-click a
photo to open it. Members of one near-duplicate group share a coloured frame.
"""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsItem, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from simgui.core.matching.grouping import Group
from simgui.core.matching.library_map import MapPoint
from simgui.core.storage.pathtext import readable
from simgui.core.matching.rule import Kind
from simgui.gui.photo_view import ZoomView, open_in_desktop
from simgui.gui.thumbnails import ThumbnailCache

SPREAD = 4000.0  # scene units across the map: room for ~60 thumbnails side by side before zooming
ITEM_SIDE = 56.0  # on screen, in pixels


class PhotoItem(QGraphicsItem):
    def __init__(self, point: MapPoint, thumbnails: ThumbnailCache, frame: QColor | None):
        super().__init__()
        self.point = point
        self.thumbnails = thumbnails
        self.frame = frame
        self.setPos(point.x * SPREAD, point.y * SPREAD)
        self.setToolTip(readable(point.path))
        self.setAcceptHoverEvents(True)
        # a thumbnail is ITEM_SIDE pixels on screen at every zoom: readable when the whole map shows (it was
        # ~12 px there), and zooming in spreads a cluster apart instead of enlarging its pile
        self.setFlag(QGraphicsItem.ItemIgnoresTransformations)

    def boundingRect(self) -> QRectF:
        return QRectF(-ITEM_SIDE / 2, -ITEM_SIDE / 2, ITEM_SIDE, ITEM_SIDE)

    def paint(self, painter, option, widget=None) -> None:
        icon = self.thumbnails.get(self.point.path, self.point.content_hash)  # loads on first paint
        icon.paint(painter, self.boundingRect().toRect())
        if self.frame is not None:
            painter.setPen(QPen(self.frame, 3))
            painter.drawRect(self.boundingRect())


class MapCanvas(ZoomView):
    double_clicked = Signal(object)  # the QPoint in the viewport

    def mouseDoubleClickEvent(self, event) -> None:
        self.double_clicked.emit(event.position().toPoint())


class MapView(QWidget):
    refresh_requested = Signal()
    photo_opened = Signal(str)  # a path, double-clicked on the map

    def __init__(self, thumbnails: ThumbnailCache):
        super().__init__()
        self.thumbnails = thumbnails
        thumbnails.changed.connect(self._thumbnail_arrived)
        self.view = MapCanvas()
        self.view.double_clicked.connect(self._double_clicked)
        self.status = QLabel("The map places look-alike photos together. Draw it with the button.")
        draw = QPushButton("Draw the map")
        draw.clicked.connect(self.refresh_requested.emit)
        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(draw)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.view)
        self.items: dict[str, PhotoItem] = {}

    def show_map(self, points: list[MapPoint], groups: list[Group]) -> None:
        scene = self.view.scene()
        scene.clear()
        frames = {}
        for n, group in enumerate(g for g in groups if g.kind is Kind.NEAR):
            colour = QColor.fromHsv((n * 47) % 360, 200, 230)  # neighbouring groups get far-apart hues
            frames.update({m.image.content_hash: colour for m in group.members})
        self.items = {}
        for point in points:
            item = PhotoItem(point, self.thumbnails, frames.get(point.content_hash))
            scene.addItem(item)
            self.items[point.content_hash] = item
        self._fit(scene.itemsBoundingRect())
        self.status.setText(f"{len(points)} distinct photos; framed alike: copies of one photo. "
                            "Wheel zooms, drag pans, double-click opens.")

    def _fit(self, places: QRectF) -> None:
        """Every thumbnail whole in the view. They keep their size on screen whatever the zoom, so the margin
        they need in the scene grows as the fit shrinks the scene: fitted once to learn the scale, then again
        with a margin of a thumbnail and a half at that scale."""
        self.view.fitInView(places, Qt.KeepAspectRatio)
        margin = 1.5 * ITEM_SIDE / max(self.view.transform().m11(), 1e-6)
        framed = places.adjusted(-margin, -margin, margin, margin)
        self.view.scene().setSceneRect(framed)
        self.view.fitInView(framed, Qt.KeepAspectRatio)

    def item_at(self, position) -> PhotoItem | None:
        for item in self.view.items(position):
            if isinstance(item, PhotoItem):
                return item
        return None

    def _double_clicked(self, position) -> None:
        item = self.item_at(position)
        if item is not None:
            self.photo_opened.emit(item.point.path)
            open_in_desktop(item.point.path)

    def _thumbnail_arrived(self, content_hash: str) -> None:
        item = self.items.get(content_hash)
        if item is not None:
            item.update()
