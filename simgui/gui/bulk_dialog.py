"""The bulk merge's preview: every file that would go, before anything moves (the session's BulkMerge)."""
from __future__ import annotations

import os

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from simgui.core.session import BulkMerge
from simgui.core.storage.pathtext import readable
from simgui.gui.table_dialog import rows_view, shown_rows
from simgui.gui.texts import size_text


class BulkMergeDialog(QDialog):
    def __init__(self, bulk: BulkMerge, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.bulk = bulk
        self.setWindowTitle(title)
        preview = bulk.preview
        buttons = QDialogButtonBox(QDialogButtonBox.Cancel)
        if preview.refused:
            said = (f"Nothing will move: {len(preview.refused)} file(s) cannot go just now (below). "
                    "Look at them, then try again.")
            self.files = rows_view(["File", "Why it cannot go"], [(readable(p), why) for p, why in preview.refused.items()])
        else:
            said = (f"{len(preview.files)} file(s), {size_text(bulk.size)}, go to simgui's trash from "
                    f"{len(bulk.plans)} group(s); each group keeps its marked copy (your keep rules, or K). "
                    f"Undo (Ctrl+Z) puts them all back at once.") if preview.files else \
                "Nothing to move: every copy is kept whole with the other files of its shot."
            # each photo beside the copy kept in its place; a RAW's JPEG or a sidecar that goes along, beside nothing
            kept = {other.path: plan.keeper.path for plan in bulk.plans for other in plan.others}
            self.files = rows_view(["File", "Size", "Kept copy"], [
                (readable(p), size_text(n), readable(os.path.basename(kept[p])) if p in kept else "")
                for p, n in preview.files.items()])
        go = None
        if preview.files and not preview.refused:
            go = buttons.addButton(f"Move {len(preview.files)} file(s) to the trash", QDialogButtonBox.AcceptRole)
        self.summary = QLabel(said)
        self.summary.setWordWrap(True)
        notes = QLabel("\n".join(preview.notes))
        notes.setWordWrap(True)
        notes.setVisible(bool(preview.notes))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.files, 1)
        layout.addWidget(notes)
        layout.addWidget(buttons)
        self.resize(820, 520)
        if go is not None:  # Enter moves them (the default is only taken once the button is in the dialog)
            go.setDefault(True)
            go.setFocus()

    def listed(self) -> list[str]:
        """The paths the dialog shows, as the user reads them."""
        return [row[0] for row in shown_rows(self.files)]
