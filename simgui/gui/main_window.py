"""Main window: folders on the left, the Duplicates view, indexing progress in the status bar."""
from __future__ import annotations

import gc
import sys
from pathlib import Path

from datetime import datetime

from PySide6.QtCore import QSettings, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (QFileDialog, QLabel, QListWidget, QListWidgetItem, QMainWindow, QMessageBox,
                               QProgressBar, QPushButton, QSplitter, QTabWidget, QVBoxLayout, QWidget)

from simgui.core.storage.config import DATABASE_FILE
from simgui.core.export import EXPORT_FORMATS, library_thumbnails, write_export
from simgui.core.jobs import JobContext, JobQueue
from simgui.core.matching.library_map import library_map
from simgui.core.library import LibraryError
from simgui.core.storage.pathtext import readable
from simgui.core.library import FolderSettings
from simgui.core.session import DONE, GROUPS, OVERVIEW, ReviewSession
from simgui.core.storage.store import ImageRecord
from simgui.core.indexing.watch import LibraryWatcher
from simgui.gui.compare import CompareDialog
from simgui.gui.keep_rules_dialog import ORDER_KEYS
from simgui.gui.table_dialog import TableDialog
from simgui.gui.duplicates import BULK_KEYS, KEEP_RULES_KEY, DuplicatesView
from simgui.gui.folders_dialog import FolderSettingsDialog
from simgui.gui.history_dialog import HistoryDialog
from simgui.gui.inbox import GuiInbox
from simgui.gui.map_view import MapView
from simgui.gui.search import SearchView
from simgui.gui.texts import count_text, photos_text, size_text
from simgui.gui.thumbnails import THUMB_SIZE, ThumbnailCache

THUMBNAIL_SIDES = {"Small thumbnails": 96, "Medium thumbnails": 128, "Large thumbnails": THUMB_SIZE}
INDEXING_JOBS = ("index", "watch update")
PROGRESS_JOBS = (*INDEXING_JOBS, "export")  # long work: a progress bar and Cancel in the status bar
# a progress bar only once it reports: while a regroup measures pairs (after an upgrade of the check, every pair)
MEASURING_JOBS = ("groups",)
EXPORT_KEY = "Ctrl+E"
FOLDER_SETTINGS_KEY = "Ctrl+Shift+P"
HISTORY_KEY = "Ctrl+H"
ORDERING_KEYS = {"Move a keep rule up / down (Keep rules dialog)": " / ".join(ORDER_KEYS)}
# how long a busy Python thread (a regroup on the engine thread, thumbnail loads) may hold the interpreter
# before the GUI thread gets a turn: Python's 5 ms default let a regroup's start double the time to paint
# an undo's answer (110 -> 333 ms at 100,000 photos)
GUI_SWITCH_INTERVAL = 0.001


class MainWindow(QMainWindow):
    def __init__(self, library_dir: Path, watch: bool = True):
        super().__init__()
        sys.setswitchinterval(GUI_SWITCH_INTERVAL)
        self.setWindowTitle("simgui — duplicate photos")
        self.library_dir = Path(library_dir).expanduser().resolve()
        self.inbox = GuiInbox(self)
        try:
            self.jobs = JobQueue(self.library_dir, self.inbox.post, on_busy=self._busy, on_failed=self._job_failed)
        except LibraryError:
            self.deleteLater()  # a window without its engine must never be shown or closed
            raise
        self.thumbnails = ThumbnailCache(self.library_dir)
        self.settings = QSettings("simgui", "simgui")
        self.session = ReviewSession(self.jobs, int(self.settings.value("looseness", 50)))
        self.session.subscribe(self._session_changed)
        self.paused = False
        self._watch_after_pause = False

        sidebar = self._sidebar()

        self.duplicates = DuplicatesView(self.session, self.thumbnails)
        self.duplicates.compare_requested.connect(self.compare)
        self.duplicates.looseness.valueChanged.connect(lambda value: self.settings.setValue("looseness", value))
        self.compare_dialog: CompareDialog | None = None
        self.table_dialog: TableDialog | None = None  # the skipped files, the keys
        self.folder_settings_dialog: FolderSettingsDialog | None = None
        self.history_dialog: HistoryDialog | None = None
        self.search = self._search_view()
        self.map = MapView(self.thumbnails)
        self.map.refresh_requested.connect(self.draw_map)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.duplicates, "Duplicates")
        self.tabs.addTab(self.search, "Search")
        self.tabs.addTab(self.map, "Map")
        splitter = QSplitter()
        splitter.addWidget(sidebar)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(1, 3)
        self.setCentralWidget(splitter)

        self._build_status_bar()

        self._build_menus()
        self.setMinimumSize(800, 500)
        geometry = self.settings.value("geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1100, 750)

        self.watcher: LibraryWatcher | None = None
        if watch:
            self.start_watching()
        if self.jobs.journal_problem:  # the app still shows the library; only file actions wait for a fix
            QTimer.singleShot(0, lambda: QMessageBox.warning(self, "simgui", self.jobs.journal_problem))
        # what is already known shows at once; the catch-up with the disk follows in the background
        self.refresh()
        if (self.library_dir / DATABASE_FILE).exists():
            self.index_now()
        # the model and the index load while the user looks, not when the first photo is dropped
        self.jobs.submit("warm up", lambda ctx: ctx.library.warm_up())

    def _search_view(self) -> SearchView:
        search = SearchView(self.thumbnails)
        search.query_requested.connect(self.query)
        search.drop_zone.hovered.connect(
            lambda path: self.jobs.submit("read ahead", lambda ctx: ctx.library.read_ahead(path)))
        search.compare_requested.connect(self.compare)
        # a photo dropped anywhere on the window is searched for, whatever the tab; and it is read from the moment
        # it crosses the window's edge, which leaves the engine more time before the drop than the zone's edge
        self.setAcceptDrops(True)
        return search

    def _sidebar(self) -> QWidget:
        """The library's folders, their buttons and the counts."""
        self.folders = QListWidget()
        add = QPushButton("Add folder…")
        add.clicked.connect(self.choose_folder)
        self.remove_button = QPushButton("Remove folder")
        self.remove_button.setToolTip("Stop looking at this folder: its photos leave the library, the files stay")
        self.remove_button.clicked.connect(self.remove_folder)
        self.counts = QLabel()
        self.counts.linkActivated.connect(lambda _: self.show_skipped())
        self.counts.setToolTip("Photos in the library, and files that could not be read (click to see why)")
        sidebar = QWidget()
        sidebar.setMinimumWidth(220)
        side = QVBoxLayout(sidebar)
        side.addWidget(QLabel("Folders"))
        side.addWidget(self.folders)
        side.addWidget(add)
        side.addWidget(self.remove_button)
        side.addWidget(self.counts)
        return sidebar

    def _build_status_bar(self) -> None:
        """Indexing progress, with Pause and Cancel, polled from the job queue four times a second."""
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.jobs.cancel)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setVisible(False)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.pause_button)
        self.statusBar().addPermanentWidget(self.cancel_button)
        self.progress_timer = QTimer(self)
        self.progress_timer.setInterval(250)
        self.progress_timer.timeout.connect(self._show_progress)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._add_action(file_menu, "Add folder…", self.choose_folder, QKeySequence.Open)
        self._add_action(file_menu, "Remove folder", self.remove_folder)
        self._add_action(file_menu, "Protected and left-out folders…", self.edit_folder_settings, FOLDER_SETTINGS_KEY)
        self._add_action(file_menu, "Empty simgui's trash…", self.empty_trash)
        self._add_action(file_menu, "Export groups…", self.export_groups, EXPORT_KEY)
        self._add_action(file_menu, "Skipped files…", self.show_skipped)
        file_menu.addSeparator()
        self._add_action(file_menu, "Quit", self.close, QKeySequence.Quit)
        edit_menu = self.menuBar().addMenu("&Edit")
        self._add_action(edit_menu, "Undo last action", self.session.undo)
        self.history_menu = edit_menu.addMenu("History")
        self.history_menu.setToolTipsVisible(True)  # why an undo got stuck is said in the tooltip
        self.history_action = self._add_action(edit_menu, "History: every file…", self.show_history, HISTORY_KEY)
        edit_menu.removeAction(self.history_action)  # it lives at the end of the History menu ...
        self.addAction(self.history_action)  # ... and its key works before that menu was ever opened
        edit_menu.addSeparator()
        self._add_action(edit_menu, "Keep rules…", self.duplicates.edit_keep_rules, KEEP_RULES_KEY)
        for kind, key in BULK_KEYS.items():
            self._add_action(edit_menu, f"Merge every {kind} group…",
                             lambda checked=False, kind=kind: self._merge_every(kind), key)
        self._add_action(edit_menu, "Forget what simgui learnt from my decisions", self.forget_learning)
        self.history_menu.aboutToShow.connect(self._fill_history_menu)
        view_menu = self.menuBar().addMenu("&View")
        sizes = QActionGroup(self)
        chosen = int(self.settings.value("thumbnail_side", THUMBNAIL_SIDES["Medium thumbnails"]))
        for text, side in THUMBNAIL_SIDES.items():
            action = self._add_action(view_menu, text, lambda checked=False, side=side: self.set_thumbnail_side(side))
            action.setCheckable(True)
            action.setChecked(side == chosen)
            sizes.addAction(action)
        self.set_thumbnail_side(chosen)
        index_menu = self.menuBar().addMenu("&Indexing")
        self.pause_action = self._add_action(index_menu, "Pause indexing", self.toggle_pause)
        self._add_action(index_menu, "Check folders now", self.index_now)
        help_menu = self.menuBar().addMenu("&Help")
        self._add_action(help_menu, "Keyboard shortcuts", self.show_keys, QKeySequence.HelpContents)

    def _merge_every(self, kind) -> None:
        self.tabs.setCurrentWidget(self.duplicates)
        self.duplicates.merge_every(kind)

    def _add_action(self, menu, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _fill_history_menu(self) -> None:
        """Recent file actions, newest first; the newest one not yet undone can be undone from here."""
        self.history_menu.clear()
        history = self.session.overview.history
        if not history:
            self.history_menu.addAction("No actions yet").setEnabled(False)
        for record in history:
            when = datetime.fromtimestamp(record.created_at).strftime("%d %b %H:%M")
            state = " (undone)" if record.undone else " (sent to the system trash)" if record.emptied else ""
            state = " (could not all be put back)" if record.undo_problem else state
            action = self.history_menu.addAction(f"{when} — {record.label}, {count_text(record.moved, 'file')}{state}")
            action.setToolTip(record.undo_problem or "")
            if record.undoable:  # not only the newest
                action.setText(action.text() + " — undo")
                action.triggered.connect(lambda _=False, action_id=record.id: self.session.undo(action_id))
            else:
                action.setEnabled(False)
        self.history_menu.addSeparator()
        self.history_menu.addAction(self.history_action)

    def show_history(self) -> None:
        """Every recent action with each file it moved and where that file is now (read from the journal)."""
        def show(actions: list[dict]) -> None:
            self.history_dialog = HistoryDialog(actions, self)
            self.history_dialog.undo_wanted.connect(self.session.undo)
            self.history_dialog.open()
        self.session.ask_history(show)

    def set_thumbnail_side(self, side: int) -> None:
        self.settings.setValue("thumbnail_side", side)
        self.duplicates.set_icon_size(side)

    # engine jobs -------------------------------------------------------------
    def refresh(self) -> None:
        """Groups, folders and counts anew; a search on screen is run again, so no view shows a gone file."""
        self.session.refresh()
        if self.search.last_query is not None:
            self.search.search(self.search.last_query)

    def forget_learning(self) -> None:
        self.jobs.submit("forget learning", lambda ctx: ctx.library.forget_learning())
        self.refresh()
        self.statusBar().showMessage("groups use the default scoring again", 5000)

    def draw_map(self) -> None:
        self.map.status.setText("drawing the map (t-SNE): a few seconds per thousand photos…")
        groups = list(self.session.state.groups)  # to frame copies alike; read here, on the GUI thread that owns it
        self.jobs.submit("map", lambda ctx: library_map(ctx.library), lambda points: self.map.show_map(points, groups))

    def remove_folder(self) -> None:
        item = self.folders.currentItem()
        if item is None:
            QMessageBox.information(self, "simgui", "Choose a folder in the list first.")
            return
        folder = item.data(Qt.UserRole)
        answer = QMessageBox.question(self, "Remove folder",
                                      f"Stop looking at {folder}?\nIts photos leave the library; no file is touched.")
        if answer == QMessageBox.Yes:
            self.jobs.submit("remove folder", lambda ctx: ctx.library.remove_root(folder))
            self.refresh()

    def edit_folder_settings(self) -> None:
        """Protected folders and what is left out, once read from the library; Save scans again (left-out
        photos leave the library) and regroups."""
        def show(settings: FolderSettings) -> None:
            self.folder_settings_dialog = FolderSettingsDialog(settings, self)
            self.folder_settings_dialog.accepted.connect(lambda: self.session.set_folder_settings(
                self.folder_settings_dialog.settings(), lambda _: self.index_now()))
            self.folder_settings_dialog.open()
        self.session.ask_folder_settings(show)

    def show_skipped(self) -> None:
        """The files that could not be read, each with why (read from the library: a job)."""
        def show(skipped: list[ImageRecord]) -> None:
            said = (f"{count_text(len(skipped), 'file')} could not be read, so they are in no group. A file fixed "
                    "or replaced is read again at the next check of its folder.") if skipped else "No file was skipped."
            self.table_dialog = TableDialog("Skipped files", said, ["File", "Why"],
                                            [(readable(r.path), r.error or "") for r in skipped], self)
            self.table_dialog.open()
        self.jobs.submit("skipped", lambda ctx: ctx.library.store.skipped(), show)

    def show_keys(self) -> None:
        """Every key the window answers, from the actions themselves (so the list cannot go stale)."""
        rows = {}
        for action in [*self.findChildren(QAction), *self.duplicates.actions()]:
            key = action.shortcut().toString(QKeySequence.NativeText)
            if key:
                rows.setdefault(action.text().split("\t")[0].replace("&", ""), key)
        rows.update(ORDERING_KEYS)
        self.table_dialog = TableDialog("Keyboard shortcuts", "Keys of the review (Duplicates) work where its list "
                                        "has the focus; the others anywhere in the window.", ["What", "Key"],
                                        sorted(rows.items()), self)
        self.table_dialog.open()

    def export_groups(self) -> None:
        """The groups on screen (filters applied) as an HTML report with thumbnails, or CSV for a spreadsheet."""
        groups = list(self.session.state.shown)
        if not groups:
            QMessageBox.information(self, "simgui", "There are no groups to export.")
            return
        chosen, kind = QFileDialog.getSaveFileName(self, f"Export {len(groups)} groups", "simgui-groups.html",
                                                   "HTML report with thumbnails (*.html);;CSV for spreadsheets (*.csv)")
        if not chosen:
            return
        target = Path(chosen)
        if target.suffix.lower() not in EXPORT_FORMATS:  # a name typed without its extension
            target = target.with_name(target.name + (".csv" if "csv" in kind else ".html"))

        def written(done: bool) -> None:
            self.statusBar().showMessage(f"{len(groups)} groups exported to {target}" if done else "export cancelled",
                                         10000)
        self.jobs.submit("export", lambda ctx: write_export(groups, target, library_thumbnails(ctx.library.folder),
                                                            ctx.progress, ctx.cancel.is_set), written)

    def empty_trash(self) -> None:
        """Asks the engine what the trash holds; the confirmation follows when it answers."""
        self.jobs.submit("trash size", lambda ctx: ctx.actions.trash_size(), lambda found: self._confirm_empty_trash(*found))

    def _confirm_empty_trash(self, files: int, size: int) -> None:
        if not files:
            QMessageBox.information(self, "simgui", "simgui's trash is empty.")
            return
        answer = QMessageBox.question(
            self, "Empty simgui's trash",
            f"Send {photos_text(files)} ({size_text(size)}) from simgui's trash to the system trash?\n"
            "You can still restore them from your file manager's trash, but not with Undo here.")
        if answer == QMessageBox.Yes:
            self.jobs.submit("empty trash", lambda ctx: ctx.actions.empty_trash(), lambda outcome: self.statusBar().showMessage(
                f"{photos_text(len(outcome.moved))} sent to the system trash", 10000))
            self.refresh()

    def toggle_pause(self) -> None:
        """Pause stops indexing at the next batch (nothing is lost: it is incremental); resume picks it up."""
        self.paused = not self.paused
        self.pause_button.setText("Resume" if self.paused else "Pause")
        self.pause_action.setText("Resume indexing" if self.paused else "Pause indexing")
        if self.paused:
            if self.watcher is not None:
                self.watcher.stop()
                self.watcher = None
                self._watch_after_pause = True
            self.jobs.cancel()
            self.statusBar().showMessage("indexing paused", 5000)
        else:
            if self._watch_after_pause:
                self.start_watching()
            self.index_now()  # a stat-only walk finds whatever changed while paused

    def index_now(self) -> None:
        """Brings the library up to date with the disk, unless indexing is paused (queued runs then skip)."""
        def job(ctx: JobContext):
            return None if self.paused else ctx.library.update(ctx.progress, ctx.cancel)
        self.jobs.submit("index", job, self._indexed)
        self.refresh()

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a photo folder")
        if folder:
            self.add_folder(folder)

    def add_folder(self, folder: str) -> None:
        self.session.add_folder(folder)
        self.index_now()

    def compare(self, left, right) -> None:
        """Two photos of the library (ImageRecords) or two files dropped on the Search view (paths)."""
        records = tuple(x if isinstance(x, ImageRecord) else None for x in (left, right))
        paths = [x.path if isinstance(x, ImageRecord) else x for x in (left, right)]
        self.compare_dialog = CompareDialog(paths[0], paths[1], records, self)
        self.compare_dialog.show()
        dialog = self.compare_dialog
        self.jobs.submit("compare", lambda ctx: ctx.library.compare(*paths), dialog.show_comparison)

    def query(self, path: str, top: int) -> None:
        self.jobs.submit("query", lambda ctx: ctx.library.query([path], top)[0],
                         lambda answer: self.search.show_results(*answer))

    def start_watching(self) -> None:
        self.watcher = self.session.watcher(on_update=self.refresh)
        self.watcher.start()

    # results -----------------------------------------------------------------
    def _session_changed(self, what: str) -> None:
        if what == GROUPS:
            # the groups and their photos (a million objects at 100,000 photos) live until the next regroup and
            # hold no cycles: out of the cyclic collector's sight, whose full passes over them took 110-190 ms
            # of a keypress's answer, at random (freeze is a splice of lists, not a walk)
            gc.freeze()
        elif what == OVERVIEW:
            overview = self.session.overview
            self._show_folders(overview.folders)
            skipped = overview.stats["skipped"]
            # the skipped count opens their list, with why each one was skipped
            self.counts.setText(f"{photos_text(overview.stats['images'], overview.stats.get('clips', 0))} · " +
                                (f"<a href='skipped'>{skipped} skipped</a>" if skipped else "0 skipped"))
        elif what == DONE:
            report = self.session.last_report
            said = "\n".join([f"Left alone: {'; '.join(report.left_alone)}"] * bool(report.left_alone) + report.notes)
            self.statusBar().showMessage(report.done + (f" — {said}" if said else ""), 10000)
            if said:
                QMessageBox.information(self, "simgui", said)
            shown = {match.image.path for match in self.search.model.matches}
            if self.search.last_query is not None and (report.action == "undo" or shown & set(report.files)):
                self.search.search(self.search.last_query)  # no view shows a file that went, or misses one back

    def _indexed(self, report) -> None:
        if report is None or not report.scanned:
            return
        unreadable = (f"; could not read {', '.join(map(readable, report.unreadable_folders))} (photos kept)"
                      if report.unreadable_folders else "")
        self.statusBar().showMessage(f"library up to date: {report.changes_text()}{unreadable}", 10000)

    def _show_folders(self, folders: list[tuple[str, int, int, bool]]) -> None:
        chosen = self.folders.currentItem().data(Qt.UserRole) if self.folders.currentItem() else None
        self.folders.clear()
        for path, files, clips, online in folders:
            item = QListWidgetItem(f"{readable(path)}\n{photos_text(files, clips)}" +
                                   ("" if online else " · offline (kept until it returns)"))
            item.setData(Qt.UserRole, path)
            item.setToolTip(readable(path))
            self.folders.addItem(item)
            if path == chosen:
                self.folders.setCurrentItem(item)

    def _job_failed(self, name: str, message: str) -> None:
        QMessageBox.warning(self, "simgui", f"{name} failed: {message}")

    @Slot()
    def _show_progress(self) -> None:
        p = self.jobs.latest_progress
        if p is None:
            return
        self.progress.setVisible(True)
        if p.total == 0:  # not counting yet: waiting for another process, say
            self.progress.setMaximum(0)
            self.progress.setFormat(p.current)
            return
        self.progress.setMaximum(p.total)
        self.progress.setValue(p.done)
        left = f", {p.seconds_left:.0f} s left" if p.seconds_left is not None else ""
        if p.step:
            self.progress.setFormat(f"{p.step} %v / %m{left}")
        elif p.checking:
            self.progress.setFormat(f"checking look-alikes %v / %m pairs ({p.rate:.0f}/s{left})")
        else:
            self.progress.setFormat(f"indexing %v / %m ({p.rate:.0f} photos/s{left})")

    def _busy(self, name: str) -> None:
        long_work = name in PROGRESS_JOBS
        self.progress.setVisible(long_work)
        self.cancel_button.setVisible(long_work)
        self.pause_button.setVisible(name in INDEXING_JOBS or self.paused)
        if long_work:
            self.progress.setMaximum(0)  # busy until the first figures arrive
            self.progress_timer.start()
        elif name in MEASURING_JOBS:
            self.progress_timer.start()
        else:
            self.progress_timer.stop()

    def dragEnterEvent(self, event) -> None:
        self.search.drop_zone.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        self.tabs.setCurrentWidget(self.search)
        self.search.drop_zone.dropEvent(event)

    def closeEvent(self, event) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        if self.watcher is not None:
            self.watcher.stop()
        self.jobs.close()
        self.inbox.close()
        self.duplicates.pane.shutdown()
        self.thumbnails.shutdown()
        super().closeEvent(event)
