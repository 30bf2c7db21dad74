"""The Duplicates view's large look at the photo under the cursor, beside the groups: zoom with the wheel.

A photo is decoded on a loader thread once the cursor has rested on it (walking through groups with the
arrows decodes nothing on the way); its thumbnail shows at once meanwhile.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from simgui.core.storage.store import ImageRecord
from simgui.gui.compare import describe
from simgui.gui.inbox import GuiInbox
from simgui.gui.photo_view import LoadedPhoto, ZoomView, load_upright_image
from simgui.gui.thumbnails import ThumbnailCache

REST_MS = 250  # the cursor rests this long on a photo before it is decoded at size


class PhotoPane(QWidget):
    def __init__(self, thumbnails: ThumbnailCache):
        super().__init__()
        self.thumbnails = thumbnails
        self.view = ZoomView()
        self.facts = QLabel("The photo under the cursor shows here")
        self.facts.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.facts)
        self.shown: ImageRecord | None = None  # the photo asked for last
        self.loaded: str | None = None  # the path whose whole photo is on screen
        self._rest = QTimer(self)
        self._rest.setSingleShot(True)
        self._rest.setInterval(REST_MS)
        self._rest.timeout.connect(self._load)
        self.inbox = GuiInbox(self)
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="simgui-pane")

    def show_photo(self, image: ImageRecord | None) -> None:
        if image is not None and self.shown is not None and image.path == self.shown.path:
            return
        self.shown = image
        self.loaded = None
        self.view.scene().clear()
        if image is None:
            self.facts.setText("")
            return
        self.facts.setText(describe(image).replace("\n", " · "))
        icon = self.thumbnails.get(image.path, image.content_hash)  # at once, however blurry
        self.view.show_image(icon.pixmap(icon.actualSize(self.view.size())).toImage())
        self._rest.start()

    def _load(self) -> None:
        image = self.shown
        if image is not None:
            self.pool.submit(lambda: self.inbox.post(self._arrived, image.path, load_upright_image(image.path)))

    def _arrived(self, path: str, photo: LoadedPhoto) -> None:
        if self.shown is None or path != self.shown.path or photo.image.isNull():
            return  # the cursor moved on, or the file cannot be read now: the thumbnail stays
        self.view.scene().clear()
        self.view.resetTransform()
        self.view.show_image(photo.image)
        self.loaded = path

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.view.fitInView(self.view.scene().itemsBoundingRect(), Qt.KeepAspectRatio)  # the splitter moved

    def shutdown(self) -> None:
        """Drops a queued load and waits for a running one: none may land on a closed window."""
        self._rest.stop()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.inbox.close()
