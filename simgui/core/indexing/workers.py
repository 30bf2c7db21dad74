"""A pool of daemon threads with a per-task time limit.

Pillow's decoders are C code that cannot be interrupted. When one file takes
too long, the pool gives up waiting for it, reports a timeout, and starts a
fresh thread so the run keeps its pace; the stuck thread is a daemon and
cannot keep the process alive at exit.
"""
from __future__ import annotations

import queue
import threading
import time
from typing import Any, Callable, Iterator

_STOP = object()


class TimeoutResult:
    def __init__(self, item: Any):
        self.item = item


class BoundedWorkerPool:
    def __init__(self, work: Callable[[Any], Any], threads: int, time_limit: float | Callable[[Any], float]):
        """time_limit: seconds an item may take, or the seconds each item may take."""
        self.work = work
        self.time_limit = time_limit if callable(time_limit) else (lambda item: time_limit)
        self.tasks: queue.Queue = queue.Queue()
        self.results: queue.Queue = queue.Queue()
        self.started: dict[int, tuple[float, Any]] = {}  # task id -> (start time, item)
        self.abandoned: set[int] = set()
        self.lock = threading.Lock()
        self.threads = [self._start_thread() for _ in range(threads)]

    def _start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self._loop, daemon=True, name="simgui-decode")
        thread.start()
        return thread

    def _loop(self) -> None:
        while True:
            task = self.tasks.get()
            if task is _STOP:
                return
            task_id, item = task
            with self.lock:
                self.started[task_id] = (time.monotonic(), item)
            try:
                outcome = self.work(item)
            except BaseException as exc:  # a worker must never die silently: report what broke
                outcome = exc
            with self.lock:
                self.started.pop(task_id, None)
                if task_id in self.abandoned:
                    return  # the pool already gave up on this one and replaced this thread
            self.results.put((item, outcome))

    def map_unordered(self, items: list[Any], cancel: threading.Event | None = None,
                      window: int = 64) -> Iterator[tuple[Any, Any]]:
        """Yields (item, result or exception or TimeoutResult) as they finish; at most `window` queued ahead.

        On cancel, queued items are dropped and the ones being decoded are not waited for."""
        pending = 0
        upcoming = iter(items)
        exhausted = False
        while True:
            if cancel is not None and cancel.is_set():
                self._drain()
                return
            while not exhausted and pending < window:
                item = next(upcoming, _STOP)
                if item is _STOP:
                    exhausted = True
                    break
                self.tasks.put((id(item), item))
                pending += 1
            if pending == 0:
                return
            try:
                item, outcome = self.results.get(timeout=0.25)
            except queue.Empty:
                for expired in self._expire():
                    pending -= 1
                    yield expired, TimeoutResult(expired)
                continue
            pending -= 1
            yield item, outcome

    def _expire(self) -> list[Any]:
        now = time.monotonic()
        expired = []
        with self.lock:
            for task_id, (start, item) in list(self.started.items()):
                if now - start > self.time_limit(item):
                    self.abandoned.add(task_id)
                    del self.started[task_id]
                    expired.append(item)
        for _ in expired:
            self.threads.append(self._start_thread())
        return expired

    def _drain(self) -> None:
        while True:
            try:
                self.tasks.get_nowait()
            except queue.Empty:
                return  # nothing left to drop

    def close(self) -> None:
        self._drain()
        for _ in self.threads:
            self.tasks.put(_STOP)
