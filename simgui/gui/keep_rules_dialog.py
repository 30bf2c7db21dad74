"""The keep rules dialog: which copy of each group is kept, in the order the user puts the rules in.

It edits a KeepRules (core/matching/keep_rules.py) and gives one back; saving and regrouping is the
session's work. Every list is ordered by keyboard (Alt+Up, Alt+Down) as well as by dragging.
"""
from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QFileDialog, QGridLayout, QLabel,
                               QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget)

from simgui.core.matching.keep_rules import DEFAULT_RULES, KeepRule, KeepRules
from simgui.core.media.formats import BY_NAME, FORMATS

ORDER_KEYS = {"Alt+Up": -1, "Alt+Down": 1}  # move the item under the cursor up or down its list
FORMAT_NAMES = list(dict.fromkeys(f.name for f in FORMATS if f.name != "MPO"))  # an MPO counts as a JPEG


class OrderedList(QListWidget):
    """Items in an order the user sets by dragging or Alt+Up/Alt+Down; checkable ones say which are used."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setDragDropMode(QAbstractItemView.InternalMove)
        self.setDefaultDropAction(Qt.MoveAction)
        for keys, step in ORDER_KEYS.items():
            shortcut = QShortcut(QKeySequence(keys), self, context=Qt.WidgetShortcut)
            shortcut.activated.connect(lambda step=step: self.move_current(step))

    def add(self, text: str, value: str, checked: bool | None = None) -> None:
        item = QListWidgetItem(text)
        item.setData(Qt.UserRole, value)
        item.setFlags((item.flags() | Qt.ItemIsDragEnabled) & ~Qt.ItemIsDropEnabled)
        if checked is not None:
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Checked if checked else Qt.Unchecked)
        self.addItem(item)

    def move_current(self, step: int) -> None:
        row = self.currentRow()
        if row < 0 or not 0 <= row + step < self.count():
            return
        item = self.takeItem(row)
        self.insertItem(row + step, item)
        self.setCurrentRow(row + step)

    def values(self, checked_only: bool = False) -> list[str]:
        items = [self.item(n) for n in range(self.count())]
        return [item.data(Qt.UserRole) for item in items
                if not checked_only or item.checkState() == Qt.Checked]


class KeepRulesDialog(QDialog):
    def __init__(self, rules: KeepRules, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Keep rules")
        self.rule_list = OrderedList()
        self.format_list = OrderedList()
        self.folder_list = OrderedList()
        self.show_rules(rules)

        add_folder = QPushButton("Add folder…")
        add_folder.clicked.connect(self._add_folder)
        remove_folder = QPushButton("Remove folder")
        remove_folder.clicked.connect(lambda: self.folder_list.takeItem(self.folder_list.currentRow()))
        buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel | QDialogButtonBox.RestoreDefaults)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.RestoreDefaults).clicked.connect(lambda: self.show_rules(DEFAULT_RULES))

        explained = QLabel("Each group keeps its first copy by these rules, the top rule first; a rule only "
                           "decides between copies the rules above it find equal.\n"
                           "Before every rule: the copy you chose with K, then a copy in a protected folder.")
        explained.setWordWrap(True)
        grid = QGridLayout()
        grid.addWidget(QLabel("Rules (tick to use; drag or Alt+↑/↓ to order)"), 0, 0)
        grid.addWidget(self.rule_list, 1, 0, 3, 1)
        grid.addWidget(QLabel("Preferred formats, best first"), 0, 1, 1, 2)
        grid.addWidget(self.format_list, 1, 1, 1, 2)
        grid.addWidget(QLabel("Preferred folders, best first"), 2, 1, 1, 2)
        grid.addWidget(self.folder_list, 3, 1, 1, 2)
        grid.addWidget(add_folder, 4, 1)
        grid.addWidget(remove_folder, 4, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(explained)
        layout.addLayout(grid)
        layout.addWidget(buttons)
        self.resize(760, 520)

    def show_rules(self, rules: KeepRules) -> None:
        self.rule_list.clear()
        for rule in [*rules.order, *[r for r in KeepRule if r not in rules.order]]:
            self.rule_list.add(rule.label, rule.value, checked=rule in rules.order)
        self.format_list.clear()
        for name in [*rules.formats, *[n for n in FORMAT_NAMES if n not in rules.formats]]:
            self.format_list.add(BY_NAME[name].label, name, checked=name in rules.formats)
        self.folder_list.clear()
        for folder in rules.folders:
            self.folder_list.add(folder, folder)
        self.rule_list.setCurrentRow(0)

    def add_folder(self, folder: str) -> None:
        folder = os.path.realpath(folder)
        if folder not in self.folder_list.values():
            self.folder_list.add(folder, folder)

    def _add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "A folder whose copies are kept first")
        if folder:
            self.add_folder(folder)

    def rules(self) -> KeepRules:
        """The rules as the dialog shows them."""
        return KeepRules(tuple(KeepRule(v) for v in self.rule_list.values(checked_only=True)),
                         tuple(self.format_list.values(checked_only=True)), tuple(self.folder_list.values()))
