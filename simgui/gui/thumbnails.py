"""Thumbnails: made once per content, cached on disk, loaded off the GUI thread, only when asked for.

The item view asks for a thumbnail when it paints a row; the first ask starts
a background load (disk cache, or decode and save), later asks get the pixmap
from memory. QImage is safe to build on worker threads; QPixmap is made on the
GUI thread when the image arrives.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtGui import QColor, QImage, QPixmap

from simgui.core.decode import DecodeError, decode_file

THUMB_SIZE = 160
MEMORY_ITEMS = 2000


class _Loaded(QObject):
    ready = Signal(str, QImage)  # content hash, image


class _LoadThumbnail(QRunnable):
    def __init__(self, path: str, content_hash: str, cache_file: Path, signals: _Loaded):
        super().__init__()
        self.path, self.content_hash, self.cache_file, self.signals = path, content_hash, cache_file, signals

    def run(self) -> None:
        image = QImage(str(self.cache_file)) if self.cache_file.exists() else QImage()
        if image.isNull():
            try:
                picture = decode_file(self.path).picture
            except DecodeError:
                return
            picture.thumbnail((THUMB_SIZE, THUMB_SIZE))
            self.cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.cache_file.with_suffix(".tmp")
            picture.save(tmp, "JPEG", quality=85)
            os.replace(tmp, self.cache_file)
            image = QImage(str(self.cache_file))
        self.signals.ready.emit(self.content_hash, image)


def image_role_data(thumbnails: "ThumbnailCache", image, role: int):
    """What a view shows of a photo beyond its text: its thumbnail, and its full path as a tooltip."""
    if role == Qt.DecorationRole:
        return thumbnails.get(image.path, image.content_hash)
    if role == Qt.ToolTipRole:
        return image.path
    return None


class ThumbnailCache(QObject):
    changed = Signal(str)  # content hash whose thumbnail just arrived

    def __init__(self, folder: Path):
        super().__init__()
        self.folder = folder
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self.memory: OrderedDict[str, QPixmap] = OrderedDict()
        self.pending: set[str] = set()
        self.placeholder: QPixmap | None = None  # made on first use: QPixmap needs the GUI thread
        self.signals = _Loaded()
        self.signals.ready.connect(self._arrived)

    def get(self, path: str, content_hash: str) -> QPixmap:
        """The thumbnail, or a blank of the same size while it loads (so rows keep their size)."""
        pixmap = self.memory.get(content_hash)
        if pixmap is not None:
            self.memory.move_to_end(content_hash)
            return pixmap
        if content_hash not in self.pending:
            self.pending.add(content_hash)
            cache_file = self.folder / content_hash[:2] / f"{content_hash}.jpg"
            self.pool.start(_LoadThumbnail(path, content_hash, cache_file, self.signals))
        if self.placeholder is None:
            self.placeholder = QPixmap(THUMB_SIZE, THUMB_SIZE)
            self.placeholder.fill(QColor(128, 128, 128, 40))
        return self.placeholder

    def shutdown(self) -> None:
        """Drops queued loads and waits for running ones: none may outlive the objects they signal."""
        self.pool.clear()
        self.pool.waitForDone(5000)

    def _arrived(self, content_hash: str, image: QImage) -> None:
        self.pending.discard(content_hash)
        self.memory[content_hash] = QPixmap.fromImage(image)
        while len(self.memory) > MEMORY_ITEMS:
            self.memory.popitem(last=False)
        self.changed.emit(content_hash)
