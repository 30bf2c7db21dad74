"""The Duplicates view: groups and their photos as rows of one list model (no widget per photo)."""
from __future__ import annotations

import bisect
import functools
import itertools
import os

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPoint, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QFont, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QComboBox, QHBoxLayout, QLabel, QListView,
                               QMessageBox, QPushButton, QSizePolicy, QSlider, QToolBar, QVBoxLayout, QWidget)

from simgui.core.files.actions import MergePlan
from simgui.core.matching.grouping import Group, GroupMember
from simgui.core.matching.keep_rules import KeepRules
from simgui.core.storage.pathtext import readable
from simgui.core.matching.rule import GROUP_KINDS, Kind
from simgui.core.session import GROUPS, KEEPER, OVERVIEW, ReviewSession
from simgui.gui.compare import PreviewDialog
from simgui.gui.keep_rules_dialog import KeepRulesDialog
from simgui.gui.photo_view import open_in_desktop
from simgui.gui.texts import date_text, size_text
from simgui.gui.thumbnails import THUMB_SIZE, ThumbnailCache, image_role_data

ALL_KINDS = "all kinds"
SORT_NAMES = {"by kind": "kind", "by space freed": "space", "by photos": "photos", "by folder": "folder"}
ALL_FOLDERS = "all folders"
LAYOUT_BATCH = 2000  # rows laid out between two looks at the event queue
KEEP_RULES_KEY = "Ctrl+K"  # the Edit menu's
REGROUP_DELAY_MS = 300  # regroup once the slider rests, not at every step of a drag


def member_text(member: GroupMember) -> str:
    image = member.image
    mark = "★ keep" if member.keeper else f"similarity {member.score:.3f}"
    # a shot's RAW+JPEG show as one photo: its files named, their sizes together
    names = " + ".join(readable(os.path.basename(f.path)) for f in member.files)
    return (f"{names}   {mark}\n{image.width}×{image.height} · {size_text(member.size)} · {date_text(image)}\n"
            f"{readable(os.path.dirname(image.path))}")


class GroupsModel(QAbstractListModel):
    """Groups as one flat list of rows: each group's own row, then a row per photo. Flat, because a tree of
    12,000 groups took 250 ms to expand after each reset, and removing one group's rows twice that: Qt walked
    every row through this Python model. A flat list of rows of one height is laid out without asking."""

    def __init__(self, thumbnails: ThumbnailCache):
        super().__init__()
        self.groups: list[Group] = []
        self.group_rows: list[int] = []  # the row of each group's own row; its photos' rows follow it
        self.row_count = 0
        self.thumbnails = thumbnails
        thumbnails.changed.connect(self._thumbnail_arrived)
        self._rows_by_hash: dict[str, list[int]] | None = None

    def set_groups(self, groups: list[Group]) -> None:
        self.beginResetModel()
        self.groups = list(groups)
        # rows are worked out from the groups' first rows, not listed one by one (36,000 rows at 100,000 photos)
        ends = list(itertools.accumulate((1 + len(g.members) for g in self.groups), initial=0))
        self.group_rows, self.row_count = ends[:-1], ends[-1]
        self._rows_by_hash = None  # made when a thumbnail first arrives: 140 ms for 12,000 groups
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else self.row_count

    def place_at(self, index: QModelIndex) -> tuple[int, int | None] | None:
        """(group, member or None) of a row."""
        if not index.isValid() or index.row() >= self.row_count:
            return None
        group = bisect.bisect_right(self.group_rows, index.row()) - 1
        offset = index.row() - self.group_rows[group]
        return group, None if offset == 0 else offset - 1

    def index_of(self, group: int, member: int | None = None) -> QModelIndex:
        return self.index(self.group_rows[group] + (0 if member is None else member + 1))

    def group_at(self, index: QModelIndex) -> Group | None:
        place = self.place_at(index)
        return None if place is None else self.groups[place[0]]

    def member_at(self, index: QModelIndex) -> GroupMember | None:
        place = self.place_at(index)
        return None if place is None or place[1] is None else self.groups[place[0]].members[place[1]]

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole):
        place = self.place_at(index)
        if place is None:
            return None
        group = self.groups[place[0]]
        if place[1] is None:
            if role == Qt.DisplayRole:
                freed = size_text(sum(m.size for m in group.members if not m.keeper))
                return (f"{group.kind} · {len(group.members)} photos · {freed} to free · "
                        f"keep {readable(os.path.basename(group.keeper.image.path))}")
            if role == Qt.FontRole:
                return _bold()
            if role == Qt.BackgroundRole:
                return QApplication.palette().alternateBase()
            return None
        member = group.members[place[1]]
        if role == Qt.DisplayRole:
            return member_text(member)
        return image_role_data(self.thumbnails, member.image, role)

    def group_changed(self, group: int) -> None:
        """A group's own row and its photos' rows, drawn again (its keeper changed)."""
        first = self.group_rows[group]
        self.dataChanged.emit(self.index(first), self.index(first + len(self.groups[group].members)))

    def _thumbnail_arrived(self, content_hash: str) -> None:
        if self._rows_by_hash is None:
            self._rows_by_hash = {}
            for group, first in zip(self.groups, self.group_rows):
                for row, member in enumerate(group.members, first + 1):
                    self._rows_by_hash.setdefault(member.image.content_hash, []).append(row)
        for row in self._rows_by_hash.get(content_hash, []):
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.DecorationRole])


@functools.cache
def _bold() -> QFont:
    font = QFont(QApplication.font())
    font.setBold(True)
    return font


class DuplicatesView(QWidget):
    """Draws the review session's state (core/review.py) and hands it the user's keys; the session runs them."""
    compare_requested = Signal(object, object)  # two ImageRecords

    def __init__(self, session: ReviewSession, thumbnails: ThumbnailCache):
        super().__init__()
        self.session = session
        self.model = GroupsModel(thumbnails)
        self.rows = QListView()
        self.rows.setModel(self.model)
        self.rows.setUniformItemSizes(True)  # one height, a thumbnail's: no row is measured
        self.rows.setLayoutMode(QListView.Batched)  # rows off the screen are laid out while the user looks
        self.rows.setBatchSize(LAYOUT_BATCH)
        self.rows.setIconSize(QSize(THUMB_SIZE, THUMB_SIZE))
        self.rows.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.rows.doubleClicked.connect(lambda index: self._open())
        self.rows.selectionModel().currentChanged.connect(self._cursor_moved)
        self.rows.verticalScrollBar().valueChanged.connect(self._scrolled)
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
        self.looseness.setFixedWidth(110)
        self.looseness.setToolTip("How alike photos must be to be grouped: strict (left) to loose (right)")
        self._regroup_timer = QTimer(self)
        self._regroup_timer.setSingleShot(True)
        self._regroup_timer.setInterval(REGROUP_DELAY_MS)
        self._regroup_timer.timeout.connect(lambda: session.set_looseness(self.looseness.value()))
        self.looseness.valueChanged.connect(lambda _: self._regroup_timer.start())
        self.summary = QLabel("No duplicates found yet")
        self.summary.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)  # long text is cut, not the sidebar
        self.preview: PreviewDialog | None = None
        self.keep_rules_dialog: KeepRulesDialog | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(self._toolbar())
        layout.addLayout(self._filters())
        layout.addWidget(self.rows)
        session.subscribe(self._session_changed)

    def _filters(self) -> QHBoxLayout:
        """The counts, the bulk action and the keep rules beside them, the slider, the filters and the sort: a
        row of its own (beside the actions, they pushed actions out of sight)."""
        resolve = QPushButton("Resolve exact copies…")
        resolve.clicked.connect(self._resolve_exact)
        rules = QPushButton("Keep rules…")
        rules.setToolTip("Which copy of each group is kept: largest, best format, preferred folders… "
                         f"({QKeySequence(KEEP_RULES_KEY).toString(QKeySequence.NativeText)})")
        rules.clicked.connect(self.edit_keep_rules)
        filters = QHBoxLayout()
        filters.addWidget(self.summary, 1)
        for widget in (rules, resolve, QLabel("strict"), self.looseness, QLabel("loose"), self.kind_filter,
                       self.folder_filter, self.sort):
            filters.addWidget(widget)
        return filters

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
            action.setToolTip(f"{text} ({QKeySequence(shortcut).toString(QKeySequence.NativeText)})")
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
        elif what == KEEPER:
            self.model.group_changed(self.session.state.row)
        elif what == OVERVIEW:
            self._set_folders([path for path, _, _ in self.session.overview.folders])

    def draw(self) -> None:
        """The state's groups, with its cursor and its top row (kept by content across regroups)."""
        state = self.session.state
        self._drawing = True
        try:
            self.model.set_groups(state.shown)
            if state.shown:
                current = self.model.index_of(state.row, state.member)
                self.rows.setCurrentIndex(current)
                self.rows.scrollTo(self.model.index_of(state.top, state.top_member), QAbstractItemView.PositionAtTop)
                self.rows.scrollTo(current)  # the cursor in sight, the scroll kept if it is
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
        self.rows.setIconSize(QSize(side, side))
        self.rows.doItemsLayout()  # row heights follow the icon size

    def _filter_changed(self) -> None:
        kind, folder = self.kind_filter.currentText(), self.folder_filter.currentText()
        self.session.set_filter(None if kind == ALL_KINDS else Kind(kind), None if folder == ALL_FOLDERS else folder)

    def _cursor_moved(self, index: QModelIndex) -> None:
        place = self.model.place_at(index)
        if not self._drawing and place is not None:
            self.session.move_to(*place)

    def _scrolled(self) -> None:
        place = self.model.place_at(self.rows.indexAt(QPoint(0, 0)))
        if not self._drawing and place is not None:
            self.session.scrolled_to(*place)

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
        chosen = [self.model.member_at(i) for i in self.rows.selectionModel().selectedIndexes()]
        images = [m.image for m in chosen if m is not None]
        if images:
            self.session.delete(images)

    def _compare(self) -> None:
        """The two selected photos, or the current one against its group's keeper."""
        chosen = [self.model.member_at(i) for i in self.rows.selectionModel().selectedIndexes()]
        chosen = [m for m in chosen if m is not None]
        if len(chosen) != 2:
            current = self.model.member_at(self.rows.currentIndex())
            group = self.current_group()
            if current is None or group is None or current.keeper:
                return
            chosen = [group.keeper, current]
        self.compare_requested.emit(chosen[0].image, chosen[1].image)

    def edit_keep_rules(self) -> None:
        """The keep rules dialog, once the library's rules are read; Save picks every keeper again by them."""
        def show(rules: KeepRules) -> None:
            self.keep_rules_dialog = KeepRulesDialog(rules, self)
            self.keep_rules_dialog.accepted.connect(lambda: self.session.set_keep_rules(self.keep_rules_dialog.rules()))
            self.keep_rules_dialog.open()
        self.session.ask_keep_rules(show)

    def _resolve_exact(self) -> None:
        exact = [g for g in self.all_groups if g.kind is Kind.EXACT]
        if not exact:
            QMessageBox.information(self, "simgui", "There are no exact copies.")
            return
        files = [image for g in exact for image in MergePlan.of_group(g).others]
        answer = QMessageBox.question(
            self, "Resolve exact copies",
            f"Move {len(files)} identical copies ({size_text(sum(i.size for i in files))}) to the trash, "
            f"keeping one file of each of {len(exact)} groups?\nUndo (Ctrl+Z) puts them back.")
        if answer == QMessageBox.Yes:
            self.session.merge_groups(exact, label=f"resolve {len(exact)} groups of exact copies")
