"""Locks between simgui processes on one machine: flocks on files, which the kernel drops when a process dies.

- One indexer per library at a time (the app and simgui-cli, two terminals...): both would otherwise scan
  the same new files and run the model on each twice. The second waits, then finds that work done.
- One mover of files per library at a time: an action and the journal's start-up recovery of another
  process must never meet (the recovery would settle a move the other process is still making).
- One sender to the system trash per user at a time: send2trash picks a free name there and then
  renames onto it, so two processes sending files of the same name would replace one with the other.
"""
from __future__ import annotations

import fcntl
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

LOCK_FILE = "index.lock"
ACTIONS_LOCK_FILE = "actions.lock"
POLL_SECONDS = 0.2


@contextmanager
def _file_lock(path: Path, stop_waiting: Callable[[], bool], on_wait: Callable[[], None]) -> Iterator[bool]:
    """Holds an flock on `path` for the block; yields False if stop_waiting() said so while it waited."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
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
                if stop_waiting():
                    yield False
                    return
        yield True
    finally:
        os.close(fd)  # closing drops the lock


@contextmanager
def indexing_lock(folder: Path, cancel: threading.Event, on_wait: Callable[[], None]) -> Iterator[bool]:
    """Holds the library's indexing lock for the `with` block; yields False if cancelled while waiting."""
    with _file_lock(folder / LOCK_FILE, lambda: cancel.wait(POLL_SECONDS), on_wait) as held:
        yield held


@contextmanager
def waiting_lock(path: Path, seconds: float) -> Iterator[bool]:
    """Holds the lock on `path` for the block; yields False when another process held it `seconds` long."""
    deadline = time.monotonic() + seconds

    def stop_waiting() -> bool:
        time.sleep(POLL_SECONDS)
        return time.monotonic() > deadline

    with _file_lock(path, stop_waiting, lambda: None) as held:
        yield held
