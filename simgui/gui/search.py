"""The Search view: drop a photo (it need not be in the library) and see its look-alikes, best first."""
from __future__ import annotations

import os
import tempfile

from PySide6.QtCore import QAbstractListModel, QModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication, QImage, QKeySequence, QPixmap
from PySide6.QtWidgets import (QCheckBox, QFileDialog, QHBoxLayout, QLabel, QListView, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from simgui.core.media.formats import open_dialog_filter
from simgui.core.library import Match
from simgui.core.matching.rule import Kind
from simgui.core.storage.pathtext import readable
from simgui.gui.photo_view import open_in_desktop
from simgui.gui.thumbnails import THUMB_SIZE, ThumbnailCache, image_role_data


IMAGE_FILTER = open_dialog_filter()


# what each verdict means to someone looking at the results
VERDICT_WORDS = {Kind.EXACT: "identical copy", Kind.NEAR: "copy", Kind.SIMILAR: "look-alike",
                 Kind.DIFFERENT: "different"}


def results_text(matches: list[Match], shown: int, name: str) -> str:
    """"2 copies and 5 look-alikes of NAME", and how many different photos are hidden."""
    copies = sum(m.verdict in (Kind.EXACT, Kind.NEAR) for m in matches)
    alike = sum(m.verdict is Kind.SIMILAR for m in matches)
    hidden = len(matches) - shown
    said = f"{copies} cop{'y' if copies == 1 else 'ies'} and {alike} look-alike{'s' * (alike != 1)} of {name}"
    return said + (f" ({hidden} different photo{'s' * (hidden != 1)} hidden)" if hidden else "")


class ResultsModel(QAbstractListModel):
    def __init__(self, thumbnails: ThumbnailCache):
        super().__init__()
        self.found: list[Match] = []  # all the engine answered, best first
        self.matches: list[Match] = []  # those shown
        self.show_different = False
        self.thumbnails = thumbnails
        thumbnails.changed.connect(self._thumbnail_arrived)

    def set_matches(self, matches: list[Match]) -> None:
        self.found = list(matches)
        self._show()

    def set_show_different(self, show: bool) -> None:
        self.show_different = show
        self._show()

    def _show(self) -> None:
        self.beginResetModel()
        self.matches = [m for m in self.found if self.show_different or m.verdict is not Kind.DIFFERENT]
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.matches)

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole):
        if not index.isValid():
            return None
        match = self.matches[index.row()]
        if role == Qt.DisplayRole:  # what it is first, then its name whole (wrapped, not cut in the middle)
            return f"{VERDICT_WORDS[match.verdict]} · {match.score:.2f}\n{readable(os.path.basename(match.image.path))}"
        return image_role_data(self.thumbnails, match.image, role)

    def _thumbnail_arrived(self, content_hash: str) -> None:
        for row, match in enumerate(self.matches):
            if match.image.content_hash == content_hash:
                self.dataChanged.emit(self.index(row), self.index(row), [Qt.DecorationRole])


class DropZone(QLabel):
    dropped = Signal(str)  # one photo: find its look-alikes
    dropped_pair = Signal(str, str)  # two photos: compare them
    hovered = Signal(str)  # one photo dragged over: it can be read before it is dropped

    def __init__(self):
        super().__init__("Drop a photo or a clip here to find its look-alikes, or two to compare them\n"
                         "(or Open…, or paste with Ctrl+V)")
        self.setAlignment(Qt.AlignCenter)
        self.setAcceptDrops(True)
        self.setMinimumHeight(120)
        self.setStyleSheet("QLabel { border: 2px dashed palette(mid); border-radius: 8px; padding: 12px; }")

    @staticmethod
    def local_files(mime) -> list[str]:
        return [url.toLocalFile() for url in mime.urls() if url.isLocalFile() and os.path.isfile(url.toLocalFile())]

    def dragEnterEvent(self, event) -> None:
        files = self.local_files(event.mimeData())
        if files:
            event.acceptProposedAction()
        if len(files) == 1:
            self.hovered.emit(files[0])

    def dropEvent(self, event) -> None:
        files = self.local_files(event.mimeData())
        if not files:
            return
        event.acceptProposedAction()
        if len(files) >= 2:
            self.dropped_pair.emit(files[0], files[1])
        else:
            self.dropped.emit(files[0])


class SearchView(QWidget):
    query_requested = Signal(str, int)  # image path, how many results
    compare_requested = Signal(str, str)  # two image paths

    def __init__(self, thumbnails: ThumbnailCache):
        super().__init__()
        self.drop_zone = DropZone()
        self.drop_zone.dropped.connect(self.search)
        self.drop_zone.dropped_pair.connect(self.compare_requested.emit)
        open_button = QPushButton("Open…")
        open_button.clicked.connect(self._open)
        compare_button = QPushButton("Compare two…")
        compare_button.clicked.connect(self._choose_pair)
        self.top = QSpinBox()
        self.top.setRange(1, 200)
        self.top.setValue(24)
        self.top.setPrefix("show ")
        self.status = QLabel("")
        self.model = ResultsModel(thumbnails)
        self.results = QListView()
        self.results.setModel(self.model)
        self.results.setViewMode(QListView.IconMode)
        self.results.setIconSize(QSize(THUMB_SIZE, THUMB_SIZE))
        self.results.setGridSize(QSize(THUMB_SIZE + 56, THUMB_SIZE + 64))
        self.results.setTextElideMode(Qt.ElideRight)
        self.results.setResizeMode(QListView.Adjust)
        # each item its own size: a 4:3 thumbnail among 16:9 ones lost its caption to the first one's size
        self.results.setUniformItemSizes(False)
        self.results.setWordWrap(True)
        self.results.doubleClicked.connect(lambda index: open_in_desktop(self.model.matches[index.row()].image.path))
        paste = QAction("Paste", self)
        paste.setShortcut(QKeySequence.Paste)
        paste.setShortcutContext(Qt.WidgetWithChildrenShortcut)
        paste.triggered.connect(self._paste)
        self.addAction(paste)
        controls = QHBoxLayout()
        controls.addWidget(open_button)
        controls.addWidget(compare_button)
        controls.addWidget(self.top)
        self.show_different = QCheckBox("show different photos too")
        self.show_different.setToolTip("The closest photos that are neither copies nor look-alikes")
        self.show_different.toggled.connect(self._show_different)
        controls.addWidget(self.show_different)
        controls.addStretch()
        controls.addWidget(self.status)
        self.thumbnails = thumbnails
        self.query_photo = QLabel()  # the photo searched for, beside its results
        self.query_photo.setFixedSize(THUMB_SIZE + 16, THUMB_SIZE + 16)
        self.query_photo.setAlignment(Qt.AlignCenter)
        self.query_photo.setVisible(False)
        answers = QHBoxLayout()
        answers.addWidget(self.query_photo, 0, Qt.AlignTop)
        answers.addWidget(self.results, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.drop_zone)
        layout.addLayout(controls)
        layout.addLayout(answers)
        self.last_query: str | None = None
        self.top.valueChanged.connect(lambda _: self.last_query and self.search(self.last_query))

    def search(self, path: str) -> None:
        self.last_query = path
        self.status.setText(f"searching for {os.path.basename(path)}…")
        self.query_requested.emit(path, self.top.value())

    def show_results(self, path: str, result) -> None:
        if isinstance(result, str):
            self.status.setText(f"cannot read {os.path.basename(path)}: {result}")
            self.model.set_matches([])
            return
        self.model.set_matches(result)
        self._say_results(path)
        # its thumbnail once the results are on screen: decoding it earlier would slow the query down
        self.thumbnails.thumbnail_of_file(path, lambda image: self._show_query(path, image))

    def _show_query(self, path: str, image: QImage) -> None:
        if path != self.last_query or image.isNull():
            return
        self.query_photo.setPixmap(QPixmap.fromImage(image))
        self.query_photo.setToolTip(f"searched for: {readable(path)}")
        self.query_photo.setVisible(True)

    def _show_different(self, show: bool) -> None:
        self.model.set_show_different(show)
        if self.last_query and self.model.found:
            self._say_results(self.last_query)

    def _say_results(self, path: str) -> None:
        self.status.setText(results_text(self.model.found, len(self.model.matches), os.path.basename(path)))

    def _open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Find look-alikes of…", "", IMAGE_FILTER)
        if path:
            self.search(path)

    def _choose_pair(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Choose two photos to compare", "", IMAGE_FILTER)
        if len(paths) == 2:
            self.compare_requested.emit(*paths)
        elif paths:
            self.status.setText("choose exactly two photos to compare")

    def _paste(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        path = next(iter(DropZone.local_files(mime)), None)
        if path is None and mime.hasImage():
            # a picture copied from a browser or an editor: query it from a temporary file
            image = QGuiApplication.clipboard().image()
            handle, path = tempfile.mkstemp(prefix="simgui-paste-", suffix=".png")
            os.close(handle)
            image.save(path, "PNG")
        if path:
            self.search(path)
