"""The Duplicates view: the review's actions, filters and counts above a list of groups, a row a group with its
photos side by side (groups_list.py; no widget per photo)."""
from __future__ import annotations

import os

from PySide6.QtCore import QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QLabel, QMenu, QMessageBox, QPushButton,
                               QSizePolicy, QSlider, QSplitter, QToolBar, QToolButton, QVBoxLayout, QWidget)

from simgui.core.matching.grouping import Group, GroupMember
from simgui.core.matching.keep_rules import KeepRules
from simgui.core.matching.rule import GROUP_KINDS, Kind
from simgui.core.files.disposal import TO_TRASH, Disposal
from simgui.core.session import GROUPS, KEEPER, OVERVIEW, BulkMerge, ReviewSession
from simgui.gui.bulk_dialog import BulkMergeDialog
from simgui.gui.compare import PreviewDialog
from simgui.gui.keep_rules_dialog import KeepRulesDialog
from simgui.gui.photo_pane import PhotoPane
from simgui.gui.photo_view import open_in_desktop
from simgui.gui.groups_list import GroupsList, GroupsModel
from simgui.gui.thumbnails import ThumbnailCache

ALL_KINDS = "all kinds"
SORT_NAMES = {"by kind": "kind", "by space freed": "space", "by photos": "photos", "by size": "size",
              "by date, newest": "date", "by folder": "folder"}
ALL_FOLDERS = "all folders"
ALL_FORMATS = "all formats"
KEEP_RULES_KEY = "Ctrl+K"  # the Edit menu's
BULK_KEYS = {Kind.EXACT: "Ctrl+Shift+E", Kind.NEAR: "Ctrl+Shift+M"}  # the Edit menu's "Merge every ... group"
REGROUP_DELAY_MS = 300  # regroup once the slider rests, not at every step of a drag


class DuplicatesView(QWidget):
    """Draws the review session's state (core/review.py) and hands it the user's keys; the session runs them."""
    compare_requested = Signal(object, object)  # two ImageRecords

    def __init__(self, session: ReviewSession, thumbnails: ThumbnailCache):
        super().__init__()
        self.session = session
        self.model = GroupsModel(thumbnails)
        self.picked: set[str] = set()  # photos picked with Ctrl+click, for Delete and Compare
        self.rows = GroupsList(self.model, thumbnails, lambda: (session.state.row, session.state.member),
                               self.picked.__contains__)
        self.rows.doubleClicked.connect(lambda index: self._open())
        self.rows.selectionModel().currentChanged.connect(self._cursor_moved)
        self.rows.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.rows.member_clicked.connect(self._member_clicked)
        self.rows.member_step.connect(self._member_step)
        self._drawing = False  # a redraw's own cursor and scroll moves are not the user's
        self.kind_filter = QComboBox()
        self.kind_filter.addItems([ALL_KINDS, *GROUP_KINDS])
        self.kind_filter.currentIndexChanged.connect(self._filter_changed)
        self.folder_filter = QComboBox()
        self.folder_filter.addItem(ALL_FOLDERS)
        self.folder_filter.setToolTip("Only the groups with a photo in this folder (or below it)")
        self.folder_filter.setMaximumWidth(320)  # long paths are cut, not the row of filters
        self.folder_filter.currentIndexChanged.connect(self._filter_changed)
        self.format_filter = QComboBox()
        self.format_filter.addItem(ALL_FORMATS)
        self.format_filter.setToolTip("Only the groups with a photo of this format")
        self.format_filter.currentIndexChanged.connect(self._filter_changed)
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
        self.bulk_dialog: BulkMergeDialog | None = None
        self.pane = PhotoPane(thumbnails)
        split = QSplitter()
        split.addWidget(self.rows)
        split.addWidget(self.pane)
        split.setStretchFactor(0, 7)  # at 1366x768: four photos a line beside a pane half as wide
        split.setStretchFactor(1, 3)
        split.setSizes([700, 300])
        layout = QVBoxLayout(self)
        layout.addWidget(self._toolbar())
        layout.addLayout(self._filters())
        layout.addWidget(split, 1)
        session.subscribe(self._session_changed)

    def _filters(self) -> QHBoxLayout:
        """The counts, the bulk action and the keep rules beside them, the slider, the filters and the sort: a
        row of its own (beside the actions, they pushed actions out of sight)."""
        resolve = QToolButton()
        resolve.setText("Merge all…")
        resolve.setToolTip("Merge every exact (or near) group into its keeper, after a look at every file that "
                           "would go")
        resolve.setPopupMode(QToolButton.InstantPopup)
        menu = QMenu(resolve)
        for kind, key in BULK_KEYS.items():  # the keys belong to the Edit menu's twins: shown here, not bound twice
            menu.addAction(f"Every {kind} group…\t{QKeySequence(key).toString(QKeySequence.NativeText)}",
                           lambda kind=kind: self.merge_every(kind))
        resolve.setMenu(menu)
        rules = QPushButton("Keep rules…")
        rules.setToolTip("Which copy of each group is kept: largest, best format, preferred folders… "
                         f"({QKeySequence(KEEP_RULES_KEY).toString(QKeySequence.NativeText)})")
        rules.clicked.connect(self.edit_keep_rules)
        filters = QHBoxLayout()
        filters.addWidget(self.summary, 1)
        for widget in (rules, resolve, QLabel("strict"), self.looseness, QLabel("loose"), self.kind_filter,
                       self.folder_filter, self.format_filter, self.sort):
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
            self._set_folders()
        elif what == KEEPER:
            self.model.group_changed(self.session.state.row)
            self._show_current()
        elif what == OVERVIEW:
            self._set_folders()

    def draw(self) -> None:
        """The state's groups, with its cursor and its top row (kept by content across regroups)."""
        state = self.session.state
        self._drawing = True
        try:
            self.model.set_groups(state.shown)
            if self.picked:  # a picked photo that left the view is no longer picked (not looked for at each M)
                self.picked.intersection_update({path for g in state.shown for path in g.paths})
            if state.shown:
                current = self.model.index(state.row)
                self.rows.setCurrentIndex(current)
                self.rows.scrollTo(self.model.index(state.top), QAbstractItemView.PositionAtTop)
                self.rows.scrollTo(current)  # the cursor in sight, the scroll kept if it is
        finally:
            self._drawing = False
        self._show_current()
        if not self.session.overview.folders and self.session.grouped and not state.groups:
            self.summary.setText("No folders yet: add one on the left")  # the first start: say what to do
        else:
            self.summary.setText(state.summary())

    def _set_folders(self) -> None:
        """The folder filter offers the library's folders and every folder below them holding a grouped photo;
        the format filter, the formats of the grouped photos."""
        state = self.session.state
        folders = sorted({folder[0] for folder in self.session.overview.folders} | set(state.group_folders))
        gone = _offer(self.folder_filter, ALL_FOLDERS, folders) and state.folder is not None
        if _offer(self.format_filter, ALL_FORMATS, state.group_formats) and state.picture_format is not None or gone:
            self._filter_changed()

    def set_icon_size(self, side: int) -> None:
        self.rows.groups_delegate.icon_side = side
        self.rows.doItemsLayout()  # row heights follow the icon size

    def select(self, row: int, member: int | None = None) -> None:
        """The cursor on a group (member None: the group as a whole, its keeper for K, C and Space) or a photo."""
        self.rows.setCurrentIndex(self.model.index(row))
        self.session.move_to(row, member)
        self.model.group_changed(row)
        self._show_current()

    def _show_current(self) -> None:
        """The photo under the cursor, large, in the pane beside the groups."""
        member = self.session.state.current_member()
        self.pane.show_photo(None if member is None else member.image)

    def _filter_changed(self) -> None:
        kind, folder, shown = self.kind_filter.currentText(), self.folder_filter.currentText(), self.format_filter.currentText()
        self.session.set_filter(None if kind == ALL_KINDS else Kind(kind), None if folder == ALL_FOLDERS else folder,
                                None if shown == ALL_FORMATS else shown)

    def _cursor_moved(self, index: QModelIndex, previous: QModelIndex) -> None:
        if not self._drawing and index.isValid():
            self.session.move_to(index.row(), None)
            self.model.group_changed(previous.row())  # its cursor band goes
            self._show_current()

    def _member_clicked(self, row: int, member: int, pick: bool) -> None:
        if pick:
            self.picked.symmetric_difference_update({self.model.groups[row].members[member].image.path})
        self.select(row, member)

    def _member_step(self, step: int) -> None:
        """Left and Right: the photo beside the one under the cursor (from a group as a whole: its keeper's)."""
        state = self.session.state
        group = state.current_group()
        if group is None:
            return
        here = state.member if state.member is not None else next(n for n, m in enumerate(group.members) if m.keeper)
        self.select(state.row, min(max(here + step, 0), len(group.members) - 1))

    def _scrolled(self) -> None:
        place = self.rows.place_at(QPoint(0, 0))
        if not self._drawing and place is not None:
            self.session.scrolled_to(place[0], None)

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

    def _chosen_photos(self) -> list[GroupMember]:
        """The photos picked with Ctrl+click, or else the one under the cursor (not a group as a whole)."""
        members = [m for g in self.session.state.shown for m in g.members if m.image.path in self.picked] \
            if self.picked else []
        if members:
            return list({m.image.path: m for m in members}.values())  # a photo in two groups: once
        member = self.session.state.current_member(keeper_on_group_row=False)
        return [] if member is None else [member]

    def _delete(self) -> None:
        images = [m.image for m in self._chosen_photos()]
        if images:
            self.session.delete(images)

    def _compare(self) -> None:
        """The two picked photos, or the one under the cursor against its group's keeper."""
        chosen = self._chosen_photos()
        if len(chosen) != 2:
            group, current = self.current_group(), self.session.state.current_member(keeper_on_group_row=False)
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

    def merge_every(self, kind: Kind) -> None:
        """Every group of a kind merged into its keeper, as one action, once the user has seen every file that
        would go (a preview looked at on disk) and said yes."""
        groups = [g for g in self.all_groups if g.kind is kind]
        if not groups:
            QMessageBox.information(self, "simgui", f"There are no {kind} groups.")
            return

        def ask(bulk: BulkMerge) -> None:
            self.bulk_dialog = BulkMergeDialog(bulk, f"Merge every {kind} group ({len(groups)})", self,
                                               links_allowed=kind is Kind.EXACT)
            self.bulk_dialog.accepted.connect(lambda: self.session.merge_bulk(bulk))
            self.bulk_dialog.disposal_wanted.connect(look)
            self.bulk_dialog.open()

        def look(disposal: Disposal) -> None:
            self.session.preview_bulk(groups, f"merge {len(groups)} {kind} groups", ask, disposal)
        look(TO_TRASH)


def _offer(choices: QComboBox, everything: str, items: list[str]) -> bool:
    """A filter's list: `everything`, then the items; the choice kept if still offered. True when the choice
    is no longer offered (the filter then shows everything). Built again only when the items changed:
    thousands of folders."""
    if [choices.itemText(n) for n in range(1, choices.count())] == items:
        return False
    chosen = choices.currentText()
    choices.blockSignals(True)
    choices.clear()
    choices.addItems([everything] + items)
    choices.setCurrentText(chosen if chosen in items else everything)
    choices.blockSignals(False)
    return chosen != everything and chosen not in items
