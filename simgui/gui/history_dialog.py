"""Every recent file action with each file it moved and where that file is now; undo any of them from here."""
from __future__ import annotations

from collections import Counter
from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from simgui.core.files.journal import ActionRecord
from simgui.core.storage.pathtext import readable
from simgui.gui.texts import count_text


class HistoryDialog(QDialog):
    undo_wanted = Signal(int)  # an action id

    def __init__(self, actions: list[tuple[ActionRecord, dict]], parent: QWidget | None = None):
        """`actions`: each journal record with its answers.history_answer, newest first."""
        super().__init__(parent)
        self.setWindowTitle("History")
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Action / file", "Where it is now"])
        self.tree.setColumnWidth(0, 620)
        for record, action in actions:
            when = datetime.fromisoformat(action["at"]).strftime("%d %b %H:%M")
            state = "undone" if action["undone"] else f"undo stuck: {action['undo_problem']}" \
                if action["undo_problem"] else _where_its_files_are(action["moves"])
            item = QTreeWidgetItem([f"{when} — {action['label']}, {count_text(len(action['files']), 'file')}", state])
            item.setData(0, Qt.UserRole, action["id"])
            item.setData(0, Qt.UserRole + 1, record.undoable)  # the History menu's rule
            item.addChildren([QTreeWidgetItem([readable(m["path"]), m["state"]]) for m in action["moves"]])
            self.tree.addTopLevelItem(item)
        self.tree.currentItemChanged.connect(self._selected)
        said = QLabel("Each action and every file it moved. Select an action and press Undo to put its files back "
                      "(older actions too)." if actions else "No file actions yet.")
        said.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        self.undo = buttons.addButton("Undo this action", QDialogButtonBox.ActionRole)
        self.undo.setEnabled(False)
        self.undo.clicked.connect(self._undo)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(said)
        layout.addWidget(self.tree, 1)
        layout.addWidget(buttons)
        self.resize(900, 520)

    def _action_item(self) -> QTreeWidgetItem | None:
        item = self.tree.currentItem()
        while item is not None and item.parent() is not None:
            item = item.parent()
        return item

    def _selected(self, *_) -> None:
        item = self._action_item()
        self.undo.setEnabled(item is not None and bool(item.data(0, Qt.UserRole + 1)))

    def _undo(self) -> None:
        item = self._action_item()
        if item is not None:
            self.undo_wanted.emit(int(item.data(0, Qt.UserRole)))
            self.accept()


def _where_its_files_are(moves: list[dict]) -> str:
    """"5 in simgui's trash", "3 in the folder it was moved to, 1 restored": the action's line, at a glance."""
    counts = Counter(move["state"] for move in moves)
    return ", ".join(f"{n} {state}" for state, n in counts.most_common())
