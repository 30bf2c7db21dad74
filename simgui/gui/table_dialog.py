"""Lists shown to read: rows of text in columns (files and why, keys and what they do)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHeaderView, QLabel, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)


def rows_view(headers: list[str], rows: list[tuple[str, ...]]) -> QTreeWidget:
    """A read-only table whose first column takes the width that is left (paths are long)."""
    view = QTreeWidget()
    view.setHeaderLabels(headers)
    view.setRootIsDecorated(False)
    view.setUniformRowHeights(True)
    view.header().setSectionResizeMode(0, QHeaderView.Stretch)
    view.header().setStretchLastSection(False)
    view.addTopLevelItems([QTreeWidgetItem(list(row)) for row in rows])
    for column in range(1, len(headers)):
        view.resizeColumnToContents(column)
    return view


def shown_rows(view: QTreeWidget) -> list[tuple[str, ...]]:
    """What a rows_view shows, as the user reads it."""
    items = [view.topLevelItem(n) for n in range(view.topLevelItemCount())]
    return [tuple(item.data(c, Qt.DisplayRole) for c in range(view.columnCount())) for item in items]


class TableDialog(QDialog):
    def __init__(self, title: str, said: str, headers: list[str], rows: list[tuple[str, ...]],
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.said = QLabel(said)
        self.said.setWordWrap(True)
        self.rows = rows_view(headers, rows)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.said)
        layout.addWidget(self.rows, 1)
        layout.addWidget(buttons)
        self.resize(820, 480)
