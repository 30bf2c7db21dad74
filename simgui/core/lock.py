"""One indexer per library at a time, across processes (the app and simgui-cli, two terminals...).

Both would otherwise scan the same new files and run the model on each twice.
The second one waits for the first and then finds that work done. An flock on
a file in the library folder: the kernel drops it when its process dies, so a
killed indexer never leaves the library locked.
"""
from __future__ import annotations

import fcntl
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

LOCK_FILE = "index.lock"
POLL_SECONDS = 0.2


@contextmanager
def indexing_lock(folder: Path, cancel: threading.Event, on_wait: Callable[[], None]) -> Iterator[bool]:
    """Holds the library's indexing lock for the `with` block; yields False if cancelled while waiting."""
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        waiting = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not waiting:
                    on_wait()
                    waiting = True
                if cancel.wait(POLL_SECONDS):
                    yield False
                    return
        yield True
    finally:
        os.close(fd)  # closing drops the lock
