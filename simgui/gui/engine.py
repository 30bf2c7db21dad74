"""The engine thread: the one thread that owns the Library.

Every engine call the app makes (index, groups, merge, undo, query) is a job
run here, one after another, so SQLite, the index and the model are never used
from two threads at once, and the GUI thread never waits on disk or inference.
Results come back as Qt signals, emitted on the GUI thread (through GuiInbox).
"""
from __future__ import annotations

import queue
import threading
import traceback
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from simgui.core.actions import FileActions, JournalError
from simgui.core.library import Library
from simgui.core.pipeline import Progress
from simgui.gui.inbox import GuiInbox

Job = Callable[["EngineContext"], Any]


class EngineContext:
    """What a job gets: the library, its file actions, and a way to report progress."""

    def __init__(self, library: Library, engine: "Engine"):
        self.library = library
        self.cancel = threading.Event()
        self._engine = engine
        self.journal_problem: str | None = None  # a damaged journal: the app opens, no file may move
        try:
            self._actions: FileActions | None = FileActions(library)
        except JournalError as exc:
            self._actions = None
            self.journal_problem = str(exc)

    @property
    def actions(self) -> FileActions:
        if self._actions is None:
            raise JournalError(self.journal_problem)
        return self._actions

    def close(self) -> None:
        if self._actions is not None:
            self._actions.close()
        self.library.close()

    def progress(self, p: Progress) -> None:
        # a plain assignment the GUI polls four times a second: a message per photo would mean
        # hundreds of repaints a second, which help nobody
        self._engine.latest_progress = p


class Engine(QObject):
    finished = Signal(str, object)  # job name, result
    failed = Signal(str, str)  # job name, message for the user
    busy = Signal(str)  # job name now running ("" when idle)

    def __init__(self, library_dir: Path):
        super().__init__()
        self.latest_progress: Progress | None = None  # read by the GUI's timer
        self.inbox = GuiInbox(self)
        self._jobs: queue.Queue = queue.Queue()
        self._ready = threading.Event()
        self._context: EngineContext | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, args=(library_dir,), name="simgui-engine", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    @property
    def journal_problem(self) -> str | None:
        return self._context.journal_problem

    @property
    def library(self) -> Library:
        """For reading the root list and folder only: all other use goes through submit()."""
        return self._context.library

    def submit(self, name: str, job: Job) -> Future:
        future: Future = Future()
        self._jobs.put((name, job, future))
        return future

    def cancel(self) -> None:
        """Asks the running job (indexing) to stop after its current batch."""
        if self._context is not None:
            self._context.cancel.set()

    def close(self) -> None:
        """Drops the jobs not yet started, stops the running one at its next batch, and waits for it."""
        self.cancel()
        while True:
            try:
                item = self._jobs.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[2].cancel()
        self._jobs.put(None)
        self._thread.join()
        self.inbox.close()

    def _loop(self, library_dir: Path) -> None:
        try:
            library = Library(library_dir)
            self._context = EngineContext(library, self)
        except BaseException as exc:  # reported to the constructor, which raises it on the GUI thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        while True:
            item = self._jobs.get()
            if item is None:
                break
            name, job, future = item
            self._context.cancel.clear()
            self.latest_progress = None
            self.inbox.post(self.busy.emit, name)
            try:
                result = job(self._context)
            except Exception as exc:  # one failed job must not take the engine down
                traceback.print_exc()
                future.set_exception(exc)
                self.inbox.post(self.failed.emit, name, str(exc))
            else:
                future.set_result(result)
                self.inbox.post(self.finished.emit, name, result)
            self.inbox.post(self.busy.emit, "")
        self._context.close()
