"""Looking at whole photos: a zoomable view, and dialogs that load their photos off the GUI thread."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import quote

from PySide6.QtCore import QBuffer, QByteArray, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QImage, QImageIOHandler, QImageReader, QPainter, QPixmap
from PySide6.QtWidgets import QDialog, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView

from simgui.core.media.decode import DecodeError
from simgui.core.media.formats import is_video_name
from simgui.core.media.pictures import picture_to_show
from simgui.gui.inbox import GuiInbox

MAX_SIDE = 2048  # enough to judge sharpness at 100 %, without holding 50 MP in memory


def open_in_desktop(path: str) -> None:
    """Opens a photo, or a folder, with the user's own app for it (from its bytes: not every name is UTF-8)."""
    QDesktopServices.openUrl(QUrl.fromEncoded(b"file://" + quote(os.fsencode(path)).encode()))


@dataclass
class LoadedPhoto:
    image: QImage  # upright, at most MAX_SIDE on its long side (null if unreadable)
    file_size: int
    width: int = 0  # the photo's own size, upright (the image may be shown smaller)
    height: int = 0


def load_upright_image(path: str) -> LoadedPhoto:
    """Runs on a loader thread: the photo upright, at most MAX_SIDE pixels on its long side (a clip: its
    poster frame, at the size its signature reads)."""
    if is_video_name(path):
        image = _engine_picture(path)
        try:
            return LoadedPhoto(image, os.path.getsize(path), image.width(), image.height())
        except OSError:
            return LoadedPhoto(QImage(), 0)
    try:
        with open(path, "rb") as f:  # Python opens any name; Qt would drop bytes that are not UTF-8
            data = QByteArray(f.read())
    except OSError:
        return LoadedPhoto(QImage(), 0)
    buffer = QBuffer(data)
    reader = QImageReader(buffer)
    reader.setAutoTransform(True)  # EXIF orientation, as everywhere else in simgui
    size = reader.size()
    if size.isValid() and max(size.width(), size.height()) > MAX_SIDE:
        reader.setScaledSize(size.scaled(MAX_SIDE, MAX_SIDE, Qt.KeepAspectRatio))
    turned = bool(reader.transformation() & QImageIOHandler.TransformationRotate90)  # EXIF: stored on its side
    width, height = (size.height(), size.width()) if turned else (size.width(), size.height())
    image = reader.read()
    if image.isNull():  # a format Qt lacks (RAW, HEIC, JPEG XL...): the engine's own decode, at its working size
        image = _engine_picture(path)
        width, height = image.width(), image.height()
    return LoadedPhoto(image, data.size(), max(width, 0), max(height, 0))


def _engine_picture(path: str) -> QImage:
    try:
        picture = picture_to_show(path).convert("RGB")
    except DecodeError:
        return QImage()
    data = picture.tobytes()
    return QImage(data, picture.width, picture.height, 3 * picture.width, QImage.Format_RGB888).copy()


class ZoomView(QGraphicsView):
    """Zooms with the wheel and pans by dragging; a linked partner view follows every zoom and scroll."""

    def __init__(self):
        super().__init__()
        self.setScene(QGraphicsScene(self))
        self.setDragMode(QGraphicsView.ScrollHandDrag)
        self.setRenderHint(QPainter.SmoothPixmapTransform)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.partner: ZoomView | None = None

    def link(self, partner: "ZoomView") -> None:
        self.partner = partner
        self.horizontalScrollBar().valueChanged.connect(partner.horizontalScrollBar().setValue)
        self.verticalScrollBar().valueChanged.connect(partner.verticalScrollBar().setValue)

    def wheelEvent(self, event) -> None:
        factor = 1.25 if event.angleDelta().y() > 0 else 0.8
        self.scale(factor, factor)
        if self.partner is not None:
            self.partner.setTransform(self.transform())

    def show_image(self, image: QImage) -> None:
        self.scene().addItem(QGraphicsPixmapItem(QPixmap.fromImage(image)))
        # the scene's own rect only ever grows: a portrait photo after a landscape one would scroll
        self.scene().setSceneRect(self.scene().itemsBoundingRect())
        self.fitInView(self.scene().itemsBoundingRect(), Qt.KeepAspectRatio)


class PhotoDialog(QDialog):
    """A dialog showing photos in ZoomViews, each decoded on a loader thread and shown when it arrives."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.views: list[ZoomView] = []
        self.loaded = 0
        self.inbox = GuiInbox(self)
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="simgui-photos")

    def load(self, view: ZoomView, path: str) -> None:
        self.pool.submit(lambda: self.inbox.post(self._arrived, view, load_upright_image(path)))

    def _arrived(self, view: ZoomView, photo: LoadedPhoto) -> None:
        view.show_image(photo.image)
        self.loaded += 1
        self.photo_shown(view, photo)

    def photo_shown(self, view: ZoomView, photo: LoadedPhoto) -> None:
        """For subclasses: a photo is on screen."""

    def done(self, result: int) -> None:
        self.pool.shutdown(wait=True)  # no load may land on a closed dialog
        self.inbox.close()
        super().done(result)
