"""Protected folders and what is left out of the library, edited in one place (the library's FolderSettings)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                               QListWidget, QPushButton, QVBoxLayout, QWidget)

from simgui.core.library import FolderSettings


class FolderSettingsDialog(QDialog):
    def __init__(self, settings: FolderSettings, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Protected and left-out folders")
        self.protected = QListWidget()
        self.protected.addItems(settings.protected)
        self.excluded = QListWidget()
        self.excluded.addItems(settings.excluded)
        self.pattern = QLineEdit()
        self.pattern.setPlaceholderText("a name pattern: *.png, Screenshots, */cache/*")
        self.pattern.returnPressed.connect(self._add_pattern)
        add_pattern = QPushButton("Add pattern")
        add_pattern.clicked.connect(self._add_pattern)
        patterns = QHBoxLayout()
        patterns.addWidget(self.pattern, 1)
        patterns.addWidget(add_pattern)
        buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        protected, self.add_protected = self._section(
            "Protected folders", "Their photos are never marked or moved, by any action; in a group, a copy here "
            "is the one kept.", self.protected)
        excluded, self.add_excluded = self._section(
            "Left out of the library", "Not indexed and never shown; photos already indexed there leave the "
            "library (never the disk) at the next scan.", self.excluded)
        layout.addWidget(protected)
        excluded.layout().addLayout(patterns)
        layout.addWidget(excluded)
        layout.addWidget(buttons)
        self.resize(640, 520)

    def _section(self, title: str, said: str, entries: QListWidget) -> tuple[QGroupBox, QPushButton]:
        """A titled list with its Add folder… and Remove buttons; the box and its Add button."""
        box = QGroupBox(title)
        text = QLabel(said)
        text.setWordWrap(True)
        add, remove = QPushButton("Add folder…"), QPushButton("Remove")
        add.clicked.connect(lambda: self._add_folder(entries, title))
        remove_selected = QAction("Remove", entries)
        remove_selected.setShortcut(QKeySequence.Delete)
        remove_selected.setShortcutContext(Qt.WidgetShortcut)
        remove_selected.triggered.connect(
            lambda: [entries.takeItem(entries.row(item)) for item in entries.selectedItems()])
        entries.addAction(remove_selected)
        remove.clicked.connect(remove_selected.trigger)
        remove.setToolTip("Remove the selected entry (Delete)")
        row = QHBoxLayout()
        row.addWidget(add)
        row.addWidget(remove)
        row.addStretch(1)
        layout = QVBoxLayout(box)
        layout.addWidget(text)
        layout.addWidget(entries, 1)
        layout.addLayout(row)
        return box, add

    def _add_folder(self, entries: QListWidget, title: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, f"{title}: add a folder")
        if folder and not entries.findItems(folder, Qt.MatchExactly):
            entries.addItem(folder)

    def _add_pattern(self) -> None:
        text = self.pattern.text().strip()
        if text and not self.excluded.findItems(text, Qt.MatchExactly):
            self.excluded.addItem(text)
        self.pattern.clear()

    def settings(self) -> FolderSettings:
        def entries(view: QListWidget) -> list[str]:
            return [view.item(n).text() for n in range(view.count())]
        return FolderSettings(entries(self.protected), entries(self.excluded))
