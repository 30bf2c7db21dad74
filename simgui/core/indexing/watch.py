"""Keeps a library live: file-system events on every root become debounced updates.

Events only say "something changed under this root"; the work itself is the
incremental `update()` (a stat walk, then only new or changed files), which
already turns moves and renames into path changes without the model. Bursts
(a phone sync, a camera import, an editor's save-to-temp-then-rename) are
coalesced: an update starts once the roots have been quiet for `quiet`
seconds, or at the latest `max_wait` seconds after the first event.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Callable

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from simgui.core.files.actions import TRASH_FOLDER
from simgui.core.indexing.pipeline import SETTLE_SECONDS, IndexReport

log = logging.getLogger(__name__)
ROOT_CHECK_SECONDS = 10.0  # how often roots that went offline are looked for again


class _Poke(FileSystemEventHandler):
    def __init__(self, watcher: "LibraryWatcher"):
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        paths = [event.src_path, getattr(event, "dest_path", "") or ""]
        if event.event_type in ("opened", "closed_no_write"):
            return  # reading a file changes nothing (our own reads included)
        if all(not p or self.watcher.ignores(os.fsdecode(p)) for p in paths):
            return
        self.watcher.poke()


class LibraryWatcher:
    def __init__(self, library_folder: Path, roots: Callable[[], list[str]],
                 run_update: Callable[[threading.Event], IndexReport],
                 on_update: Callable[[IndexReport], None] | None = None, quiet: float = 1.0, max_wait: float = 10.0):
        """roots() lists the folders to watch and run_update(cancel) brings the library up to date: both
        ask the library's job queue (jobs.py), the one thread that uses it; this thread only waits."""
        self.library_folder = str(library_folder)
        self.roots = roots
        self.run_update = run_update
        self.on_update = on_update or (lambda report: None)
        self.quiet = quiet
        self.max_wait = max_wait
        self.totals = IndexReport()  # everything the watcher's updates did, added up
        self.updates = 0
        self._observer = Observer()
        self._watched: dict[str, object] = {}
        self._first_event: float | None = None
        self._last_event = 0.0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="simgui-watch", daemon=True)
        self.idle = threading.Event()
        self.idle.set()
        self.ready = threading.Event()  # the roots are watched: a change from now on is seen

    def ignores(self, path: str) -> bool:
        library = self.library_folder
        return (path == library or path.startswith(library + os.sep)
                or f"{os.sep}{TRASH_FOLDER}" in path)

    def poke(self) -> None:
        now = time.monotonic()
        if self._first_event is None:
            self._first_event = now
        self._last_event = now
        self.idle.clear()
        self._wake.set()

    def start(self) -> None:
        self._observer.start()
        self._thread.start()

    def stop(self, timeout: float = 4.0) -> None:
        self._stop.set()
        self._cancel.set()  # an update in progress finishes its batch and returns
        self._wake.set()
        self._observer.stop()
        self._observer.join(timeout / 2)
        self._thread.join(timeout / 2)

    def _schedule_roots(self) -> None:
        try:
            roots = self.roots()
        except Exception:  # the library busy or closing: the next check tries again
            if not self._stop.is_set():
                log.exception("cannot list the library's folders; trying again in %.0f s", ROOT_CHECK_SECONDS)
            return
        for root in roots:
            if root in self._watched or not os.path.isdir(root):
                continue
            try:
                self._watched[root] = self._observer.schedule(_Poke(self), root, recursive=True)
            except OSError as exc:  # out of inotify watches, or the drive vanished meanwhile
                log.warning("cannot watch %s: %s", root, exc)
        for root in list(self._watched):
            if not os.path.isdir(root):  # unplugged: its photos stay in the library, marked offline
                self._observer.unschedule(self._watched.pop(root))
                self.poke()

    def _loop(self) -> None:
        self._schedule_roots()  # here, not in start(): asking the job queue may wait for its running job
        self.ready.set()
        self.poke()  # what changed before the folders were watched (the app's first index may still run) is caught
        last_root_check = time.monotonic()
        while not self._stop.is_set():
            self._wake.wait(timeout=ROOT_CHECK_SECONDS)
            if self._stop.is_set():
                return
            if time.monotonic() - last_root_check >= ROOT_CHECK_SECONDS:
                last_root_check = time.monotonic()
                before = set(self._watched)
                self._schedule_roots()
                if set(self._watched) - before:
                    self.poke()  # a root came back: catch up with what changed while it was away
            if self._first_event is None:
                self._wake.clear()
                continue
            now = time.monotonic()
            quiet_for = now - self._last_event
            waited = now - self._first_event
            if quiet_for < self.quiet and waited < self.max_wait:
                self._stop.wait(min(self.quiet - quiet_for, self.max_wait - waited))
                continue
            self._first_event = None
            self._wake.clear()
            self._run_update()

    def _run_update(self) -> None:
        try:
            report = self.run_update(self._cancel)
        except Exception:  # an update that failed is retried at the next event, the watcher goes on
            log.exception("update failed")
            return
        self.updates += 1
        self.totals.absorb(report)
        if report.unsettled:
            # files still being written: look again once they have had time to settle
            threading.Timer(SETTLE_SECONDS, self.poke).start()
        elif self._first_event is None:
            self.idle.set()
        self.on_update(report)

