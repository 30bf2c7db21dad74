"""Main window (first cut): the library's folders and counts, and indexing in the background."""
from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot
from PySide6.QtWidgets import (QFileDialog, QLabel, QListWidget, QMainWindow, QMessageBox, QProgressBar,
                               QPushButton, QVBoxLayout, QWidget)

from simgui.core.library import Library, LibraryError
from simgui.core.pipeline import Progress


class IndexWorker(QObject):
    """Runs Library.update on its own thread; the GUI only hears signals."""
    progressed = Signal(int, int, float)
    finished = Signal(str)

    def __init__(self, library: Library):
        super().__init__()
        self.library = library
        self.cancel = threading.Event()

    @Slot()
    def run(self) -> None:
        def progress(p: Progress) -> None:
            self.progressed.emit(p.done, p.total, p.rate)
        report = self.library.update(progress, self.cancel)
        self.finished.emit(f"{report.added} new, {report.updated} changed, {report.removed} gone, "
                           f"{report.skipped} skipped" + (" (cancelled)" if report.cancelled else ""))


class MainWindow(QMainWindow):
    def __init__(self, library_dir: Path):
        super().__init__()
        self.setWindowTitle("simgui")
        self.library = Library(library_dir)
        self.folders = QListWidget()
        self.counts = QLabel()
        self.add_button = QPushButton("Add folder…")
        self.add_button.clicked.connect(self.choose_folder)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        layout = QVBoxLayout()
        for widget in (self.folders, self.counts, self.add_button, self.progress, self.cancel_button):
            layout.addWidget(widget)
        central = QWidget()
        central.setLayout(layout)
        self.setCentralWidget(central)
        self.thread: QThread | None = None
        self.worker: IndexWorker | None = None
        self.refresh()
        self.resize(720, 480)

    def refresh(self) -> None:
        self.folders.clear()
        self.folders.addItems(self.library.roots())
        stats = self.library.stats()
        self.counts.setText(f"{stats['images']} photos, {stats['skipped']} skipped")

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a photo folder")
        if folder:
            self.add_folder(folder)

    def add_folder(self, folder: str) -> None:
        try:
            self.library.add_roots([folder])
        except LibraryError as exc:
            QMessageBox.warning(self, "simgui", str(exc))
            return
        self.refresh()
        self.start_indexing()

    def start_indexing(self) -> None:
        if self.thread is not None:
            return
        self.thread = QThread(self)
        self.worker = IndexWorker(self.library)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.progressed.connect(self.on_progress)
        self.worker.finished.connect(self.on_finished)
        self.cancel_button.clicked.connect(self.worker.cancel.set)
        self.cancel_button.setEnabled(True)
        self.progress.setVisible(True)
        self.thread.start()

    @Slot(int, int, float)
    def on_progress(self, done: int, total: int, rate: float) -> None:
        self.progress.setMaximum(total)
        self.progress.setValue(done)
        self.progress.setFormat(f"%v / %m  ({rate:.0f} photos/s)")

    @Slot(str)
    def on_finished(self, summary: str) -> None:
        self.thread.quit()
        self.thread.wait()
        self.thread = self.worker = None
        self.cancel_button.setEnabled(False)
        self.progress.setVisible(False)
        self.statusBar().showMessage(summary)
        self.refresh()

    def closeEvent(self, event) -> None:
        if self.worker is not None:
            self.worker.cancel.set()
            self.thread.quit()
            self.thread.wait()
        self.library.close()
        super().closeEvent(event)
