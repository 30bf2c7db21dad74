"""How fast the desktop app shows an indexed library's duplicate groups, and answers a dropped photo.

    python benchmarks/app_start.py LIBRARY [QUERY_IMAGE]

Run under Xvfb (or with QT_QPA_PLATFORM=offscreen). Prints the seconds from
interpreter start to an interactive window (the event loop running), to the
first duplicate groups on screen and, with a query
image, from the drop to its results on screen (the GUI's whole path: engine
queue, decode, model, index, patch re-ranking, item model, paint): once after a
drag that is over the window for HOVER_SECONDS (the engine reads the photo
while it is dragged over), once for a photo not read before (Open…, paste).
"""
from __future__ import annotations

import time

STARTED = time.perf_counter()  # before the imports: they are part of what a user waits for

import os  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from simgui.core.files.actions import FileActions  # noqa: E402
from simgui.core.library import Library  # noqa: E402
from simgui.gui.main_window import MainWindow  # noqa: E402

ENGINE: dict[str, float] = {}  # seconds the engine thread took for the last query and undo


def _timed(name: str, method):
    def timed(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return method(self, *args, **kwargs)
        finally:
            ENGINE[name] = time.perf_counter() - started
    return timed


# to tell the engine's share of a drop or an undo from the GUI's
Library.query = _timed("query", Library.query)
FileActions.undo = _timed("undo", FileActions.undo)


IDLE_SECONDS = 3.0
# how long the benchmark's drag is over the window before the drop: the window reads a photo from the moment it
# crosses its edge (any tab takes the drop), and a tenth of a second from the edge to a release is a quick hand
HOVER_SECONDS = 0.1
SCRATCH = tempfile.TemporaryDirectory(prefix="simgui-bench-")  # removed at exit


def merge_first_group(window: MainWindow, marks: dict[str, float]) -> None:
    """M on the first group, as a user presses it: the time until it is off the screen."""
    window.tabs.setCurrentWidget(window.duplicates)
    view = window.duplicates
    groups = len(view.model.groups)
    view.rows.setCurrentIndex(view.model.index(0, 0))
    marks["merged"] = time.perf_counter()
    window.session.merge_current()
    view.rows.viewport().repaint()
    assert len(view.model.groups) == groups - 1
    print(f"M to the group off the screen: {(time.perf_counter() - marks['merged']) * 1000:.0f} ms", flush=True)


def unread_copy(path: str) -> str:
    """The photo under a new name: a file the engine has not read ahead."""
    copy = os.path.join(SCRATCH.name, "unread-" + os.path.basename(path))
    shutil.copyfile(path, copy)
    return copy


def main() -> None:
    library, query = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else None)
    app = QApplication(sys.argv[:1])
    window = MainWindow(library, watch=False)
    window.show()
    marks: dict[str, float] = {}

    def poll() -> None:
        now = time.perf_counter()
        if "interactive" not in marks:  # the event loop runs: the window answers clicks from here on
            marks["interactive"] = now - STARTED
            print(f"start to an interactive window: {marks['interactive']:.2f} s", flush=True)
        if "groups" not in marks and window.duplicates.model.groups:
            marks["groups"] = now - STARTED
            print(f"start to duplicate groups on screen: {marks['groups']:.2f} s "
                  f"({len(window.duplicates.model.groups)} groups)", flush=True)
            if query:
                window.jobs.submit("wait", lambda ctx: None).result()  # let the start-up catch-up finish
                marks["idle from"] = time.perf_counter()
        if "idle from" in marks and "hovered" not in marks and now - marks["idle from"] > IDLE_SECONDS:
            window.tabs.setCurrentWidget(window.search)  # the app idle: the groups' rows all laid out
            marks["hovered"] = time.perf_counter()
            window.search.drop_zone.hovered.emit(query)  # the drag enters the window
        if "hovered" in marks and "dropped" not in marks and now - marks["hovered"] > HOVER_SECONDS:
            marks["dropped"] = time.perf_counter()
            window.search.drop_zone.dropped.emit(query)
        def arrived(started: str, name: str, shown: bool, what: str) -> bool:
            """Marks and prints the time from `started` until `shown` first holds (on screen: repainted)."""
            if started not in marks or name in marks or not shown:
                return False
            window.repaint()
            marks[name] = time.perf_counter() - marks[started]
            engine = next((f" (the engine's {job}: {ENGINE[job] * 1000:.0f} ms)" for job in ENGINE if job in what
                           or "results" in what and job == "query"), "")
            print(f"{what}: {marks[name] * 1000:.0f} ms{engine}", flush=True)
            return True

        arrived("dropped", "results", bool(window.search.model.found),
                f"drag ({HOVER_SECONDS * 1000:.0f} ms over the window) and drop to results on screen")
        # then, the app idle again (the photo searched for shown beside its results), a photo not read before:
        # as Open… or a paste asks, with no drag to read it ahead
        if "results" in marks and "dropped again" not in marks and not window.search.query_photo.isHidden() and \
                now - marks["dropped"] > 1.0:
            window.search.model.set_matches([])
            marks["dropped again"] = time.perf_counter()
            window.search.drop_zone.dropped.emit(unread_copy(query))
        if arrived("dropped again", "results again", bool(window.search.model.found),
                   "photo not read ahead (Open…, paste) to results on screen"):
            merge_first_group(window, marks)
        if arrived("merged", "merge answered", window.session.last_report is not None,
                   "M to the engine's answer on screen"):
            window.session.last_report = None
            window.jobs.submit("wait", lambda ctx: None).result()  # the merge's follow-up (counts) done: idle
            window.inbox.drain()
            marks["undone"] = time.perf_counter()
            window.session.undo()  # the library as it was, for the next run
        arrived("undone", "undo answered", window.session.last_report is not None, "undo to the engine's answer on screen")
        if "groups" in marks and (not query or "undo answered" in marks):
            window.jobs.submit("wait", lambda ctx: None).result()  # the undo's regroup, before closing
            window.close()
            app.quit()

    timer = QTimer()
    timer.timeout.connect(poll)
    timer.start(5)
    app.exec()


if __name__ == "__main__":
    main()
