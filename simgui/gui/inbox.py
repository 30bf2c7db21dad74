"""Calls from worker threads, run on the GUI thread.

The engine and the loaders run on plain Python threads, which own no Qt
objects and no event loop. They only put (function, arguments) on a
thread-safe queue; a timer on the GUI thread runs them. So every Qt object is
touched, and every signal emitted, on the GUI thread alone: nothing to reason
about across threads, and no per-item signal traffic from busy workers.
"""
from __future__ import annotations

import queue
from typing import Any, Callable

from PySide6.QtCore import QObject, QTimer

POLL_MS = 30


class GuiInbox(QObject):
    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.drain)
        self._timer.start()

    def post(self, function: Callable[..., Any], *args: Any) -> None:
        """Safe from any thread: `function(*args)` runs soon on the GUI thread."""
        self._calls.put((function, args))

    def close(self) -> None:
        """Stops delivering and drops what is left: the receivers are going away."""
        self._timer.stop()
        while True:
            try:
                self._calls.get_nowait()
            except queue.Empty:
                return

    def drain(self) -> None:
        while True:
            try:
                function, args = self._calls.get_nowait()
            except queue.Empty:
                return
            function(*args)
