"""Thumbnails: made once per content, cached on disk, loaded off the GUI thread, only when asked for.

The item view asks for a thumbnail when it paints a row; the first ask starts
a background load (disk cache, or decode and save), later asks get the pixmap
from memory. QImage is safe to build on worker threads; QPixmap is made on the
GUI thread when the image arrives (through GuiInbox).
"""
from __future__ import annotations

from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap

from simgui.core.media.thumbnails import THUMB_SIZE, make_thumbnail, thumbnail_file, thumbnail_jpeg
from simgui.core.storage.pathtext import readable
from simgui.gui.inbox import GuiInbox

MEMORY_ITEMS = 2000


def _load_thumbnail(path: str, cache_file: Path) -> QImage:
    """Runs on a loader thread: the cached thumbnail, or a new one decoded and saved (null if unreadable)."""
    made = thumbnail_jpeg(path, cache_file)
    return QImage() if made is None else QImage.fromData(made)


def image_role_data(thumbnails: "ThumbnailCache", image, role: int):
    """What a view shows of a photo beyond its text: its thumbnail, and its full path as a tooltip."""
    if role == Qt.DecorationRole:
        return thumbnails.get(image.path, image.content_hash)
    if role == Qt.ToolTipRole:
        return readable(image.path)
    return None


class ThumbnailCache(QObject):
    changed = Signal(str)  # content hash whose thumbnail just arrived

    def __init__(self, library_folder: Path):
        super().__init__()
        self.library_folder = library_folder
        # plain Python threads: Python QRunnables in a QThreadPool crashed PySide6 6.12 at exit
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="simgui-thumbs")
        # icons, not pixmaps: views scale an icon to their icon size (a pixmap is drawn as it is)
        self.memory: OrderedDict[str, QIcon] = OrderedDict()
        self.pending: set[str] = set()
        self.placeholder: QIcon | None = None  # made on first use: QPixmap needs the GUI thread
        self.inbox = GuiInbox(self)

    def get(self, path: str, content_hash: str) -> QIcon:
        """The thumbnail, or a blank of the same size while it loads (so rows keep their size)."""
        pixmap = self.memory.get(content_hash)
        if pixmap is not None:
            self.memory.move_to_end(content_hash)
            return pixmap
        if content_hash not in self.pending:
            self.pending.add(content_hash)
            cache_file = thumbnail_file(self.library_folder, content_hash)
            self.pool.submit(lambda: self.inbox.post(self._arrived, content_hash, _load_thumbnail(path, cache_file)))
        if self.placeholder is None:
            blank = QPixmap(THUMB_SIZE, THUMB_SIZE)
            blank.fill(QColor(128, 128, 128, 40))
            self.placeholder = QIcon(blank)
        return self.placeholder

    def thumbnail_of_file(self, path: str, then: Callable[[QImage], None]) -> None:
        """A thumbnail of a file the library need not hold (a query), made on a loader thread and handed to
        `then` on the GUI thread; not kept."""
        def load() -> QImage:
            made = make_thumbnail(path)
            return QImage() if made is None else QImage.fromData(made)
        self.pool.submit(lambda: self.inbox.post(then, load()))

    def shutdown(self) -> None:
        """Drops queued loads and waits for running ones: none may outlive the objects they signal."""
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.inbox.close()

    def _arrived(self, content_hash: str, image: QImage) -> None:
        self.pending.discard(content_hash)
        if image.isNull():
            return  # unreadable now: the placeholder stays
        self.memory[content_hash] = QIcon(QPixmap.fromImage(image))
        while len(self.memory) > MEMORY_ITEMS:
            self.memory.popitem(last=False)
        self.changed.emit(content_hash)
