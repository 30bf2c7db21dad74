"""The Duplicates view: groups and their photos in a model/view tree (no widget per photo)."""
from __future__ import annotations

import os

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPoint, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QMessageBox, QPushButton, QSizePolicy, QSlider,
                               QStyledItemDelegate, QToolBar, QTreeView, QVBoxLayout, QWidget)

from simgui.core.grouping import Group, GroupMember
from simgui.core.pathtext import readable
from simgui.core.rule import GROUP_KINDS, Kind
from simgui.core.session import GROUPS, OVERVIEW, ReviewSession
from simgui.gui.compare import PreviewDialog
from simgui.gui.photo_view import open_in_desktop
from simgui.gui.texts import date_text, size_text
from simgui.gui.thumbnails import THUMB_SIZE, ThumbnailCache, image_role_data

GROUP_ROW = 0  # internal id of a group row; member rows carry their group's row + 1
ALL_KINDS = "all kinds"
SORT_NAMES = {"kind first": "kind", "most space first": "space", "most photos first": "photos", "by folder": "folder"}
ALL_FOLDERS = "all folders"
REGROUP_DELAY_MS = 300  # regroup once the slider rests, not at every step of a drag


def member_text(member: GroupMember) -> str:
    image = member.image
    mark = "★ keep" if member.keeper else f"similarity {member.score:.3f}"
    return (f"{readable(os.path.basename(image.path))}   {mark}\n{image.width}×{image.height} · {size_text(image.size)} · {date_text(image)}\n"
            f"{readable(os.path.dirname(image.path))}")


class GroupsModel(QAbstractItemModel):
    def __init__(self, thumbnails: ThumbnailCache):
        super().__init__()
        self.groups: list[Group] = []
        self.thumbnails = thumbnails
        thumbnails.changed.connect(self._thumbnail_arrived)
        self._rows_by_hash: dict[str, list[tuple[int, int]]] = {}

    def set_groups(self, groups: list[Group]) -> None:
        self.beginResetModel()
        self.groups = list(groups)
        self._rows_by_hash = {}
        for g, group in enumerate(groups):
            for m, member in enumerate(group.members):
                self._rows_by_hash.setdefault(member.image.content_hash, []).append((g, m))
        self.endResetModel()

    def index(self, row: int, column: int, parent: QModelIndex = QModelIndex()) -> QModelIndex:
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, GROUP_ROW)
        return self.createIndex(row, column, parent.row() + 1)

    def parent(self, index: QModelIndex) -> QModelIndex:
        if not index.isValid() or index.internalId() == GROUP_ROW:
            return QModelIndex()
        return self.createIndex(index.internalId() - 1, 0, GROUP_ROW)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        if not parent.isValid():
            return len(self.groups)
        if parent.internalId() == GROUP_ROW:
            return len(self.groups[parent.row()].members)
        return 0

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 1

    def group_at(self, index: QModelIndex) -> Group | None:
        if not index.isValid():
            return None
        row = index.row() if index.internalId() == GROUP_ROW else index.internalId() - 1
        return self.groups[row]

    def member_at(self, index: QModelIndex) -> GroupMember | None:
        if not index.isValid() or index.internalId() == GROUP_ROW:
            return None
        return self.groups[index.internalId() - 1].members[index.row()]

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole):
        if not index.isValid():
            return None
        member = self.member_at(index)
        if member is None:
            group = self.groups[index.row()]
            if role == Qt.DisplayRole:
                return f"{group.kind} · {len(group.members)} photos · keep {readable(os.path.basename(group.keeper.image.path))}"
            return None
        if role == Qt.DisplayRole:
            return member_text(member)
        return image_role_data(self.thumbnails, member.image, role)

    def _thumbnail_arrived(self, content_hash: str) -> None:
        for g, m in self._rows_by_hash.get(content_hash, []):
            index = self.index(m, 0, self.index(g, 0))
            self.dataChanged.emit(index, index, [Qt.DecorationRole])


class RowSizes(QStyledItemDelegate):
    """Fixed row heights: measuring every row's text and icon made a 1,000-photo reset stall the GUI."""

    def __init__(self, tree: QTreeView):
        super().__init__(tree)
        self.tree = tree

    def sizeHint(self, option, index: QModelIndex) -> QSize:
        height = 28 if index.internalId() == GROUP_ROW else self.tree.iconSize().height() + 8
        return QSize(option.rect.width() or 600, height)


class DuplicatesView(QWidget):
    """Draws the review session's state (core/review.py) and hands it the user's keys; the session runs them."""
    compare_requested = Signal(object, object)  # two ImageRecords

    def __init__(self, session: ReviewSession, thumbnails: ThumbnailCache):
        super().__init__()
        self.session = session
        self.model = GroupsModel(thumbnails)
        self.tree = QTreeView()
        self.tree.setModel(self.model)
        self.tree.setHeaderHidden(True)
        self.tree.setIconSize(QSize(THUMB_SIZE, THUMB_SIZE))
        self.tree.setSelectionMode(QTreeView.ExtendedSelection)
        self.tree.setItemDelegate(RowSizes(self.tree))
        self.tree.doubleClicked.connect(lambda index: self._open())
        self.tree.selectionModel().currentChanged.connect(self._cursor_moved)
        self.tree.verticalScrollBar().valueChanged.connect(self._scrolled)
        self._drawing = False  # a redraw's own cursor and scroll moves are not the user's
        self.kind_filter = QComboBox()
        self.kind_filter.addItems([ALL_KINDS, *GROUP_KINDS])
        self.kind_filter.currentIndexChanged.connect(self._filter_changed)
        self.folder_filter = QComboBox()
        self.folder_filter.addItem(ALL_FOLDERS)
        self.folder_filter.currentIndexChanged.connect(self._filter_changed)
        self.sort = QComboBox()
        self.sort.addItems(list(SORT_NAMES))
        self.sort.setToolTip("Order of the groups")
        self.sort.currentTextChanged.connect(lambda text: session.set_sort(SORT_NAMES[text]))
        self.looseness = QSlider(Qt.Horizontal)
        self.looseness.setRange(0, 100)
        self.looseness.setValue(session.looseness)
        self.looseness.setFixedWidth(140)
        self.looseness.setToolTip("How alike photos must be to be grouped: strict (left) to loose (right)")
        self._regroup_timer = QTimer(self)
        self._regroup_timer.setSingleShot(True)
        self._regroup_timer.setInterval(REGROUP_DELAY_MS)
        self._regroup_timer.timeout.connect(lambda: session.set_looseness(self.looseness.value()))
        self.looseness.valueChanged.connect(lambda _: self._regroup_timer.start())
        self.summary = QLabel("No duplicates found yet")
        self.summary.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)  # long text is cut, not the sidebar
        self.preview: PreviewDialog | None = None
        toolbar = self._toolbar()
        resolve = QPushButton("Resolve exact copies…")  # a bulk action: beside the counts it acts on
        resolve.clicked.connect(self._resolve_exact)
        filters = QHBoxLayout()  # a row of its own: beside the actions, they pushed actions out of sight
        filters.addWidget(self.summary, 1)
        filters.addWidget(resolve)
        filters.addWidget(QLabel("strict"))
        filters.addWidget(self.looseness)
        filters.addWidget(QLabel("loose"))
        filters.addWidget(self.kind_filter)
        filters.addWidget(self.folder_filter)
        filters.addWidget(self.sort)
        layout = QVBoxLayout(self)
        layout.addWidget(toolbar)
        layout.addLayout(filters)
        layout.addWidget(self.tree)
        session.subscribe(self._session_changed)

    def _toolbar(self) -> QToolBar:
        """The review's actions and their keys (shortcuts for this view and the widgets inside it)."""
        session = self.session
        toolbar = QToolBar()
        for text, shortcut, slot in (("Merge", "M", session.merge_current),
                                     ("Delete selected", QKeySequence.Delete, self._delete),
                                     ("Keep this one", "K", session.keep_current),
                                     ("Not duplicates", "N", session.not_duplicates_current),
                                     ("Compare", "C", self._compare), ("Preview", "Space", self._preview),
                                     ("Open", "Return", self._open), ("Show in folder", "Ctrl+Return", self._show_folder),
                                     ("Undo", QKeySequence.Undo, session.undo)):
            action = QAction(text, self)
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.WidgetWithChildrenShortcut)
            action.triggered.connect(lambda checked=False, slot=slot: slot())
            toolbar.addAction(action)
            self.addAction(action)
        return toolbar

    @property
    def all_groups(self) -> list[Group]:
        return self.session.state.groups

    def _session_changed(self, what: str) -> None:
        if what == GROUPS:
            self.draw()
        elif what == OVERVIEW:
            self._set_folders([path for path, _, _ in self.session.overview.folders])

    def draw(self) -> None:
        """The state's groups, with its cursor and its top row (kept by content across regroups)."""
        state = self.session.state
        self._drawing = True
        try:
            self.model.set_groups(state.shown)
            self.tree.expandAll()
            if state.shown:
                group = self.model.index(state.row, 0)
                self.tree.setCurrentIndex(group if state.member is None else self.model.index(state.member, 0, group))
                self.tree.scrollTo(self.model.index(state.top, 0), QTreeView.PositionAtTop)
        finally:
            self._drawing = False
        if not self.session.overview.folders and self.session.grouped and not state.groups:
            self.summary.setText("No folders yet: add one on the left")  # the first start: say what to do
        else:
            self.summary.setText(state.summary())

    def _set_folders(self, folders: list[str]) -> None:
        chosen = self.folder_filter.currentText()
        self.folder_filter.blockSignals(True)
        self.folder_filter.clear()
        self.folder_filter.addItems([ALL_FOLDERS] + folders)
        self.folder_filter.setCurrentText(chosen if chosen in folders else ALL_FOLDERS)
        self.folder_filter.blockSignals(False)
        if chosen not in folders and self.session.state.folder is not None:
            self._filter_changed()

    def set_icon_size(self, side: int) -> None:
        self.tree.setIconSize(QSize(side, side))
        self.tree.doItemsLayout()  # row heights follow the icon size

    def _filter_changed(self) -> None:
        kind, folder = self.kind_filter.currentText(), self.folder_filter.currentText()
        self.session.set_filter(None if kind == ALL_KINDS else Kind(kind), None if folder == ALL_FOLDERS else folder)

    def _cursor_moved(self, index: QModelIndex) -> None:
        if self._drawing or not index.isValid():
            return
        if index.internalId() == GROUP_ROW:
            self.session.move_to(index.row())
        else:
            self.session.move_to(index.internalId() - 1, index.row())

    def _scrolled(self) -> None:
        if self._drawing:
            return
        top = self.tree.indexAt(QPoint(0, 0))
        if top.isValid():
            self.session.scrolled_to(top.row() if top.internalId() == GROUP_ROW else top.internalId() - 1)

    def current_group(self) -> Group | None:
        return self.session.state.current_group()

    def current_member(self) -> GroupMember | None:
        """The photo under the cursor; on a group row, the group's keeper."""
        return self.session.state.current_member()

    def _open(self) -> None:
        member = self.current_member()
        if member is not None:
            open_in_desktop(member.image.path)

    def _show_folder(self) -> None:
        member = self.current_member()
        if member is not None:
            open_in_desktop(os.path.dirname(member.image.path))

    def _preview(self) -> None:
        member = self.current_member()
        if member is None:
            return
        if self.preview is not None:
            self.preview.close()
        self.preview = PreviewDialog(member.image, self)
        self.preview.show()

    def _delete(self) -> None:
        chosen = [self.model.member_at(i) for i in self.tree.selectionModel().selectedIndexes()]
        images = [m.image for m in chosen if m is not None]
        if images:
            self.session.delete(images)

    def _compare(self) -> None:
        """The two selected photos, or the current one against its group's keeper."""
        chosen = [self.model.member_at(i) for i in self.tree.selectionModel().selectedIndexes()]
        chosen = [m for m in chosen if m is not None]
        if len(chosen) != 2:
            current = self.model.member_at(self.tree.currentIndex())
            group = self.current_group()
            if current is None or group is None or current.keeper:
                return
            chosen = [group.keeper, current]
        self.compare_requested.emit(chosen[0].image, chosen[1].image)

    def _resolve_exact(self) -> None:
        exact = [g for g in self.all_groups if g.kind is Kind.EXACT]
        if not exact:
            QMessageBox.information(self, "simgui", "There are no exact copies.")
            return
        files = [m.image for g in exact for m in g.members if not m.keeper]
        answer = QMessageBox.question(
            self, "Resolve exact copies",
            f"Move {len(files)} identical copies ({size_text(sum(i.size for i in files))}) to the trash, "
            f"keeping one file of each of {len(exact)} groups?\nUndo (Ctrl+Z) puts them back.")
        if answer == QMessageBox.Yes:
            self.session.merge_groups(exact, label=f"resolve {len(exact)} groups of exact copies")
