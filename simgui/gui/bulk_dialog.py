"""The bulk merge's preview: every file that would go, and where, before anything moves (the session's BulkMerge).

Where the copies go is chosen here: simgui's trash, a folder of the user's, or (identical copies only) hard links
to the kept copy. A new choice asks for a new preview (`disposal_wanted`): what is shown is always what moves.
"""
from __future__ import annotations

import os

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QHBoxLayout, QLabel, QVBoxLayout,
                               QWidget)

from simgui.core.files.disposal import TO_TRASH, Disposal
from simgui.core.session import BulkMerge
from simgui.core.storage.pathtext import readable
from simgui.gui.table_dialog import rows_view, shown_rows
from simgui.gui.texts import count_text, size_text

TRASH_CHOICE, FOLDER_CHOICE, LINK_CHOICE = "simgui's trash", "a folder…", "hard links to the kept copy"


class BulkMergeDialog(QDialog):
    disposal_wanted = Signal(object)  # a Disposal the user chose: the owner previews again with it

    def __init__(self, bulk: BulkMerge, title: str, parent: QWidget | None = None, links_allowed: bool = False):
        super().__init__(parent)
        self.bulk = bulk
        self.setWindowTitle(title)
        preview = bulk.preview
        buttons = QDialogButtonBox(QDialogButtonBox.Cancel)
        if bulk.disposal.folder in preview.refused:  # the folder chosen, not any file: said plainly, no list
            said = f"Nothing will move: {preview.refused[bulk.disposal.folder]}."
            self.files = rows_view(["File", "Size", "Kept copy"], [])
        elif preview.refused:
            said = (f"Nothing will move: {count_text(len(preview.refused), 'file')} cannot go just now (below). "
                    "Look at them, then try again.")
            self.files = rows_view(["File", "Why it cannot go"], [(readable(p), why) for p, why in preview.refused.items()])
        else:
            said = _summary(bulk)
            # each photo beside the copy kept in its place; a RAW's JPEG or a sidecar that goes along, beside nothing
            kept = {other.path: plan.keeper.path for plan in bulk.plans for other in plan.others}
            self.files = rows_view(["File", "Size", "Kept copy"], [
                (readable(p), size_text(n), readable(kept[p]) if p in kept else "") for p, n in preview.files.items()])
        go = None
        if preview.files and not preview.refused:
            verb = "Link" if bulk.disposal.hard_links else "Move"
            go = buttons.addButton(f"{verb} {count_text(len(preview.files), 'file')}", QDialogButtonBox.AcceptRole)
        self.summary = QLabel(said)
        self.summary.setWordWrap(True)
        notes = QLabel("\n".join(preview.notes))
        notes.setWordWrap(True)
        notes.setVisible(bool(preview.notes))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self._destination_row(bulk.disposal, links_allowed))
        layout.addWidget(self.summary)
        layout.addWidget(self.files, 1)
        layout.addWidget(notes)
        layout.addWidget(buttons)
        self.resize(820, 520)
        if go is not None:  # Enter moves them (the default is only taken once the button is in the dialog)
            go.setDefault(True)
            go.setFocus()

    def _destination_row(self, disposal: Disposal, links_allowed: bool) -> QHBoxLayout:
        self.destination = QComboBox()
        self.destination.addItems([TRASH_CHOICE, FOLDER_CHOICE] + [LINK_CHOICE] * links_allowed)
        self.destination.setToolTip("simgui's trash: undo or Empty trash later. A folder: moved out of the library, "
                                    "their folders kept. Hard links: each identical copy keeps its name but shares "
                                    "the kept copy's bytes")
        self.destination.setCurrentText(_choice_of(disposal))
        self.destination.textActivated.connect(self._choose)
        row = QHBoxLayout()
        label = QLabel("Send the copies to:")
        label.setBuddy(self.destination)
        row.addWidget(label)
        row.addWidget(self.destination)
        row.addStretch(1)
        return row

    def _choose(self, choice: str) -> None:
        if choice == FOLDER_CHOICE:
            folder = QFileDialog.getExistingDirectory(self, "Move the copies to which folder? (outside the library)")
            if not folder:
                self.destination.setCurrentText(_choice_of(self.bulk.disposal))  # the file dialog cancelled
                return
            self.choose(Disposal(folder=os.path.abspath(folder)))
        else:
            self.choose(Disposal(hard_links=True) if choice == LINK_CHOICE else TO_TRASH)

    def choose(self, disposal: Disposal) -> None:
        """Another destination: this preview no longer says what would move, so it closes and a new one comes."""
        if disposal != self.bulk.disposal:
            self.reject()
            self.disposal_wanted.emit(disposal)

    def listed(self) -> list[str]:
        """The paths the dialog shows, as the user reads them."""
        return [row[0] for row in shown_rows(self.files)]


def _choice_of(disposal: Disposal) -> str:
    return FOLDER_CHOICE if disposal.folder else LINK_CHOICE if disposal.hard_links else TRASH_CHOICE


def _summary(bulk: BulkMerge) -> str:
    files, plans = bulk.preview.files, bulk.plans
    if not files:
        return "Nothing to move: every copy is kept whole with the other files of its shot."
    undo = "Undo (Ctrl+Z) puts them all back at once."
    if bulk.disposal.hard_links:
        return (f"{count_text(len(files), 'identical copy', 'identical copies')}, {size_text(bulk.size)}, from "
                f"{count_text(len(plans), 'group')} become hard links "
                f"to each group's kept copy: every name still opens the photo, stored once (so an edit under "
                f"either name changes both). The originals go to simgui's trash; the space comes free when it is "
                f"emptied. {undo}")
    return (f"{count_text(len(files), 'file')}, {size_text(bulk.size)}, go {bulk.disposal.said()} from "
            f"{count_text(len(plans), 'group')}; "
            f"each group keeps its marked copy (your keep rules, or K). {undo}")
