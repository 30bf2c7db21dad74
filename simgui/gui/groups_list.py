"""The Duplicates view's list: a row a group, its photos side by side (group_cards.py draws them).

Up and Down move between groups (the list's own keys), Left and Right between the photos of the current
group, a click puts the cursor on a photo and Ctrl+click picks it (for Delete and Compare). The cursor is
the review's (core/review.py): this list only reads it and tells it where the user went.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPoint, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QListView, QToolTip

from simgui.core.matching.grouping import Group, GroupMember
from simgui.core.storage.pathtext import readable
from simgui.gui.group_cards import GROUP_ROLE, GroupDelegate, header_text
from simgui.gui.texts import clip_facts
from simgui.gui.thumbnails import ThumbnailCache

LAYOUT_BATCH = 500  # rows laid out between two looks at the event queue


class GroupsModel(QAbstractListModel):
    """A row a group. Flat and plain: 12,000 groups are laid out in batches while the user looks."""

    def __init__(self, thumbnails: ThumbnailCache):
        super().__init__()
        self.groups: list[Group] = []
        thumbnails.changed.connect(self._thumbnail_arrived)
        self._rows_by_hash: dict[str, list[int]] | None = None

    def set_groups(self, groups: list[Group]) -> None:
        self.beginResetModel()
        self.groups = list(groups)
        self._rows_by_hash = None  # made when a thumbnail first arrives
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.groups)

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole):
        if not index.isValid() or index.row() >= len(self.groups):
            return None
        group = self.groups[index.row()]
        if role == GROUP_ROLE:
            return group
        if role in (Qt.DisplayRole, Qt.AccessibleTextRole):
            return header_text(group)
        return None

    def group_changed(self, row: int) -> None:
        """A group's row drawn again (its keeper or the cursor on it changed)."""
        if 0 <= row < len(self.groups):
            self.dataChanged.emit(self.index(row), self.index(row))

    def _thumbnail_arrived(self, content_hash: str) -> None:
        if self._rows_by_hash is None:
            self._rows_by_hash = {}
            for row, group in enumerate(self.groups):
                for member in group.members:
                    self._rows_by_hash.setdefault(member.image.content_hash, []).append(row)
        for row in self._rows_by_hash.get(content_hash, []):
            self.group_changed(row)


class GroupsList(QListView):
    member_clicked = Signal(int, int, bool)  # row, member, picked (Ctrl held)
    member_step = Signal(int)  # -1: the photo to the left, +1: to the right

    def __init__(self, model: GroupsModel, thumbnails: ThumbnailCache, cursor: Callable[[], tuple[int, int | None]],
                 picked: Callable[[str], bool]):
        """cursor() and picked(path): the review's cursor and the photos picked, as group_cards draws them."""
        super().__init__()
        self.setModel(model)
        self.groups_delegate = GroupDelegate(self, thumbnails, cursor, picked)
        self.setItemDelegate(self.groups_delegate)
        self.setUniformItemSizes(False)  # a group of 9 photos wraps onto more lines than a pair
        self.setResizeMode(QListView.Adjust)  # cards re-flow when the window is resized
        self.setLayoutMode(QListView.Batched)
        self.setBatchSize(LAYOUT_BATCH)
        self.setVerticalScrollMode(QAbstractItemView.ScrollPerPixel)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setMouseTracking(True)

    def place_at(self, point: QPoint) -> tuple[int, int | None] | None:
        """(row, member or None) under a point of the viewport."""
        index = self.indexAt(point)
        if not index.isValid():
            return None
        group = self.model().groups[index.row()]
        return index.row(), self.groups_delegate.card_at(self.visualRect(index), group, point.x(), point.y())

    def member_under(self, point: QPoint) -> GroupMember | None:
        place = self.place_at(point)
        if place is None or place[1] is None:
            return None
        return self.model().groups[place[0]].members[place[1]]

    def mousePressEvent(self, event) -> None:
        super().mousePressEvent(event)  # the row becomes current first
        place = self.place_at(event.position().toPoint())
        if place is not None and place[1] is not None:
            self.member_clicked.emit(place[0], place[1], bool(event.modifiers() & Qt.ControlModifier))

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key_Left, Qt.Key_Right) and not event.modifiers():
            self.member_step.emit(-1 if event.key() == Qt.Key_Left else 1)
            return
        super().keyPressEvent(event)

    def viewportEvent(self, event) -> bool:
        if event.type() == event.Type.ToolTip:  # a photo's whole path: the card shows its end
            member = self.member_under(event.pos())
            if member is not None:
                clip = f"\n{clip_facts(member.image)}" if member.image.is_clip else ""
                QToolTip.showText(event.globalPos(), readable(member.image.path) + clip, self)
                return True
        return super().viewportEvent(event)
