"""The engine's one thread: every use of a Library (SQLite, the index, the model, file actions) runs
there as a job, one after another, in the order asked. The app's review session, `simgui-cli watch` and
the HTTP API all hand their work to a JobQueue: one serialisation rule, and a caller never waits on
disk or inference unless it chooses to (`submit(...).result()`).

Results come back through `deliver(function, *args)`, the face's own way of running a call on its
thread: the GUI's inbox, or an Inbox that a command-line loop or a test drains.
"""
from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Callable

from simgui.core.files.actions import FileActions, JournalError
from simgui.core.library import Library
from simgui.core.indexing.pipeline import IndexReport, Progress
from simgui.core.indexing.watch import LibraryWatcher

log = logging.getLogger(__name__)
Deliver = Callable[..., None]  # deliver(function, *args): runs function(*args) on the face's thread


class Inbox:
    """Calls posted from the engine thread, run when the owner drains them (on its own thread)."""

    def __init__(self):
        self._calls: queue.SimpleQueue = queue.SimpleQueue()

    def post(self, function: Callable[..., Any], *args: Any) -> None:
        self._calls.put((function, args))

    def drain(self) -> int:
        done = 0
        while True:
            try:
                function, args = self._calls.get_nowait()
            except queue.Empty:
                return done
            call_delivered(function, args)
            done += 1

    def close(self) -> None:
        """Drops what is left: the receivers are going away."""
        while True:
            try:
                self._calls.get_nowait()
            except queue.Empty:
                return


def call_delivered(function: Callable[..., Any], args: tuple) -> None:
    """One delivered call; one that fails is logged and the others still run (a view left stale is worse)."""
    try:
        function(*args)
    except Exception:
        log.exception("a delivered call failed: %r", function)


class JobContext:
    """What a job gets: the library, its file actions, a cancel flag and a way to report progress."""

    def __init__(self, library: Library, jobs: "JobQueue", owns_library: bool):
        self.library = library
        self._owns_library = owns_library
        self.cancel = threading.Event()
        self._jobs = jobs
        self.journal_problem: str | None = None  # a damaged journal: the library opens, no file may move
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
        if self._owns_library:
            self.library.close()

    def progress(self, p: Progress) -> None:
        # a plain assignment the face polls: a message per photo would mean hundreds a second
        self._jobs.latest_progress = p


Job = Callable[[JobContext], Any]


class JobQueue:
    def __init__(self, library: Library | Path, deliver: Deliver,
                 on_busy: Callable[[str], None] | None = None,
                 on_failed: Callable[[str, str], None] | None = None):
        """library: one already open (the command line's: its opener closes it), or the folder of one to open
        on the queue's thread (closed with the queue).
        on_busy(job name, "" when idle) and on_failed(job name, message) run through `deliver`."""
        self.latest_progress: Progress | None = None
        self._deliver = deliver
        self._on_busy = on_busy
        self._on_failed = on_failed
        self._jobs: queue.Queue = queue.Queue()
        self._ready = threading.Event()
        self._context: JobContext | None = None
        self._running = False
        self._closing = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, args=(library,), name="simgui-engine", daemon=True)
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

    def deliver(self, function: Callable[..., Any], *args: Any) -> None:
        """Runs `function(*args)` on the face's thread (safe from any thread)."""
        self._deliver(function, *args)

    def submit(self, name: str, job: Job, done: Callable[[Any], None] | None = None,
               failed: Callable[[str], None] | None = None) -> Future:
        """Runs `job` after those asked before; `done(result)` or `failed(message)` is delivered to the
        face's thread (a failure also to the queue's `on_failed`, which tells the user)."""
        future: Future = Future()
        if self._closing:  # nobody is left to run it
            future.cancel()
            return future
        self._jobs.put((name, job, done, failed, future))
        return future

    def busy(self) -> bool:
        """A job is running or waiting."""
        return self._running or not self._jobs.empty()

    def cancel(self) -> None:
        """Asks the running job (indexing) to stop after its current batch."""
        if self._context is not None:
            self._context.cancel.set()

    def close(self) -> None:
        """Drops the jobs not yet started, stops the running one at its next batch, and waits for it."""
        self._closing = True  # first: a job the thread picks up from here on is skipped, not run
        self.cancel()
        while True:
            try:
                item = self._jobs.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[-1].cancel()
        self._jobs.put(None)
        self._thread.join()

    def _tell(self, listener: Callable | None, *args) -> None:
        if listener is not None:
            self._deliver(listener, *args)

    def _loop(self, library: Library | Path) -> None:
        try:
            given = isinstance(library, Library)
            self._context = JobContext(library if given else Library(library), self, owns_library=not given)
        except BaseException as exc:  # reported to the constructor, which raises it on the caller's thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        while True:
            item = self._jobs.get()
            if item is None:
                break
            self._run(*item)
        self._context.close()

    def _run(self, name: str, job: Job, done: Callable[[Any], None] | None, failed: Callable[[str], None] | None,
             future: Future) -> None:
        if self._closing:
            future.cancel()
        if not future.set_running_or_notify_cancel():
            return
        self._running = True
        self._context.cancel.clear()
        self.latest_progress = None
        self._tell(self._on_busy, name)
        try:
            result = job(self._context)
        except Exception as exc:  # one failed job must not take the engine down; the caller hears of it
            log.debug("job %r failed", name, exc_info=True)
            future.set_exception(exc)
            self._tell(self._on_failed, name, str(exc))
            self._tell(failed, str(exc))
        else:
            future.set_result(result)
            self._tell(done, result)
        self._running = False
        self._tell(self._on_busy, "")


def queued_watcher(jobs: JobQueue, on_update: Callable[[IndexReport], None] | None = None,
                   quiet: float = 1.0) -> LibraryWatcher:
    """A watcher whose root list and updates are jobs of `jobs`, the one thread that uses the library;
    on_update(report) is delivered to the face's thread."""
    return LibraryWatcher(
        jobs.library.folder, roots=lambda: jobs.submit("roots", lambda ctx: ctx.library.roots()).result(),
        run_update=lambda cancel: jobs.submit("watch update", lambda ctx: ctx.library.update(
            cancel=cancel, wait_for_writers=True)).result(),
        on_update=None if on_update is None else lambda report: jobs.deliver(on_update, report), quiet=quiet)
