"""Main window: folders on the left, the Duplicates view, indexing progress in the status bar."""
from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer, Slot
from PySide6.QtWidgets import (QFileDialog, QLabel, QListWidget, QMainWindow, QMessageBox, QProgressBar,
                               QPushButton, QSplitter, QTabWidget, QVBoxLayout, QWidget)

from simgui.core.config import DATABASE_FILE
from simgui.core.grouping import Group
from simgui.core.watch import LibraryWatcher
from simgui.gui.compare import CompareDialog
from simgui.gui.duplicates import DuplicatesView
from simgui.gui.engine import Engine, EngineContext
from simgui.gui.search import SearchView
from simgui.gui.thumbnails import ThumbnailCache


def _index(ctx: EngineContext):
    return ctx.library.update(ctx.progress, ctx.cancel)


def _overview(ctx: EngineContext):
    return ctx.library.roots(), ctx.library.stats(), ctx.library.groups()


class MainWindow(QMainWindow):
    def __init__(self, library_dir: Path, watch: bool = True):
        super().__init__()
        self.setWindowTitle("simgui — duplicate photos")
        self.library_dir = Path(library_dir).expanduser().resolve()
        self.engine = Engine(self.library_dir)
        self.engine.finished.connect(self._job_finished)
        self.engine.failed.connect(self._job_failed)
        self.engine.busy.connect(self._busy)
        self.thumbnails = ThumbnailCache(self.library_dir / "thumbnails")
        self.groups: list[Group] = []

        self.folders = QListWidget()
        add = QPushButton("Add folder…")
        add.clicked.connect(self.choose_folder)
        self.counts = QLabel()
        sidebar = QWidget()
        side = QVBoxLayout(sidebar)
        side.addWidget(QLabel("Folders"))
        side.addWidget(self.folders)
        side.addWidget(add)
        side.addWidget(self.counts)

        self.duplicates = DuplicatesView(self.thumbnails)
        self.duplicates.merge_requested.connect(self.merge)
        self.duplicates.delete_requested.connect(self.delete)
        self.duplicates.not_duplicates_requested.connect(self.not_duplicates)
        self.duplicates.undo_requested.connect(self.undo)
        self.duplicates.resolve_exact_requested.connect(self.resolve_exact)
        self.duplicates.compare_requested.connect(self.compare)
        self.compare_dialog: CompareDialog | None = None
        self.search = SearchView(self.thumbnails)
        self.search.query_requested.connect(self.query)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.duplicates, "Duplicates")
        self.tabs.addTab(self.search, "Search")
        splitter = QSplitter()
        splitter.addWidget(sidebar)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(1, 3)
        self.setCentralWidget(splitter)

        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.engine.cancel)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.cancel_button)
        self.progress_timer = QTimer(self)
        self.progress_timer.setInterval(250)
        self.progress_timer.timeout.connect(self._show_progress)

        self.settings = QSettings("simgui", "simgui")
        self.setMinimumSize(800, 500)
        geometry = self.settings.value("geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1100, 750)

        self.watcher: LibraryWatcher | None = None
        if watch:
            self.start_watching()
        # what is already known shows at once; the catch-up with the disk follows in the background
        self.refresh()
        if (self.library_dir / DATABASE_FILE).exists():
            self.engine.submit("index", _index)
            self.refresh()

    # engine jobs -------------------------------------------------------------
    def refresh(self) -> None:
        self.engine.submit("overview", _overview)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a photo folder")
        if folder:
            self.add_folder(folder)

    def add_folder(self, folder: str) -> None:
        self.engine.submit("add folder", lambda ctx: ctx.library.add_roots([folder]))
        self.engine.submit("index", _index)
        self.refresh()

    def merge(self, group: Group) -> None:
        self.engine.submit("merge", lambda ctx: ctx.actions.merge(group))
        self.refresh()

    def compare(self, left, right) -> None:
        self.compare_dialog = CompareDialog(left, right, self)
        self.compare_dialog.show()
        self.engine.submit("compare", lambda ctx: ctx.library.compare(left.path, right.path))

    def resolve_exact(self, groups: list[Group]) -> None:
        losers = [m.image for g in groups for m in g.members if not m.keeper]
        self.engine.submit("merge", lambda ctx: ctx.actions.trash(
            losers, kind="merge", label=f"resolve {len(groups)} groups of exact copies"))
        self.refresh()

    def delete(self, images: list) -> None:
        self.engine.submit("delete", lambda ctx: ctx.actions.trash(images))
        self.refresh()

    def not_duplicates(self, group: Group) -> None:
        def remember(ctx: EngineContext) -> None:
            members = [m.image.content_hash for m in group.members]
            for n, a in enumerate(members):
                for b in members[n + 1:]:
                    if a != b:
                        ctx.library.store.add_decision("not_duplicate", a, b)
        self.engine.submit("not duplicates", remember)
        self.refresh()

    def query(self, path: str, top: int) -> None:
        self.engine.submit("query", lambda ctx: ctx.library.query([path], top)[0])

    def undo(self) -> None:
        self.engine.submit("undo", lambda ctx: ctx.actions.undo())
        self.refresh()

    def start_watching(self) -> None:
        def run_update(cancel: threading.Event):
            return self.engine.submit("watch update", lambda ctx: ctx.library.update(
                cancel=cancel, wait_for_writers=True)).result()
        # the watcher reads only the root list and the library folder from its own thread
        self.watcher = LibraryWatcher(self.engine.library, on_update=lambda report: self.refresh(),
                                      run_update=run_update)
        self.watcher.start()

    # results -----------------------------------------------------------------
    @Slot(str, object)
    def _job_finished(self, name: str, result) -> None:
        if name == "overview":
            roots, stats, groups = result
            self.folders.clear()
            self.folders.addItems(roots)
            self.counts.setText(f"{stats['images']} photos · {stats['skipped']} skipped")
            self.groups = groups
            self.duplicates.set_groups(groups)
        elif name in ("merge", "delete", "undo") and result is not None:
            done = f"{name}: {len(result.moved)} file(s) " + ("restored" if name == "undo" else "moved to the trash")
            refused = "; ".join(f"{Path(p).name}: {why}" for p, why in result.refused.items())
            self.statusBar().showMessage(done + (f" — left alone: {refused}" if refused else ""), 10000)
            if refused:
                QMessageBox.information(self, "simgui", "Some files were left alone:\n" + refused)
        elif name == "compare" and self.compare_dialog is not None:
            self.compare_dialog.show_comparison(result)
        elif name == "query":
            self.search.show_results(*result)
        elif name == "index":
            self.statusBar().showMessage(f"library up to date: {result.added} new, {result.updated} changed, "
                                         f"{result.removed} gone, {result.skipped} skipped", 10000)

    @Slot(str, str)
    def _job_failed(self, name: str, message: str) -> None:
        QMessageBox.warning(self, "simgui", f"{name} failed: {message}")

    @Slot()
    def _show_progress(self) -> None:
        p = self.engine.latest_progress
        if p is None:
            return
        self.progress.setMaximum(p.total)
        self.progress.setValue(p.done)
        left = f", {p.seconds_left:.0f} s left" if p.seconds_left is not None else ""
        self.progress.setFormat(f"indexing %v / %m ({p.rate:.0f} photos/s{left})")

    @Slot(str)
    def _busy(self, name: str) -> None:
        indexing = name in ("index", "watch update")
        self.progress.setVisible(indexing)
        self.cancel_button.setVisible(indexing)
        if indexing:
            self.progress.setMaximum(0)  # busy until the first figures arrive
            self.progress_timer.start()
        else:
            self.progress_timer.stop()

    def closeEvent(self, event) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        if self.watcher is not None:
            self.watcher.stop()
        self.engine.close()
        self.thumbnails.shutdown()
        super().closeEvent(event)
