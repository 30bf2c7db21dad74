"""Memory for decoded pixels, shared by every decode thread of the process.

A file's size says nothing about what its pixels take: a 38-byte WebP holds
16383x10000 pixels, 2.5 GB once decoded. So each decode first asks for the
bytes its pixels will take at their peak, and waits until the decodes of
other threads leave room for them. Requests are served in the order they
came, so a large picture is never starved by a stream of small ones; one
larger than the whole budget is refused at once, never waited for.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from contextlib import contextmanager
from typing import Iterator


class MemoryBudget:
    def __init__(self, limit: int, wait_seconds: float):
        self.limit = limit
        self.wait_seconds = wait_seconds
        self.in_use = 0  # bytes held by decodes running now
        self.high_water = 0  # the most ever held at once
        self._queue: deque[object] = deque()  # waiting requests, first come first served
        self._changed = threading.Condition()

    @contextmanager
    def hold(self, nbytes: int) -> Iterator[None]:
        """Holds nbytes of the budget for the block's duration.

        ValueError when nbytes can never fit; TimeoutError when the room did not come in
        wait_seconds (a decode stuck in C code keeps what it holds until it ends)."""
        self.acquire(nbytes)
        try:
            yield
        finally:
            self.release(nbytes)

    def release(self, nbytes: int) -> None:
        with self._changed:
            self.in_use -= nbytes
            self._changed.notify_all()

    def acquire(self, nbytes: int) -> None:
        """Takes nbytes (release them with release()): ValueError, TimeoutError as for hold()."""
        if not 0 <= nbytes <= self.limit:
            raise ValueError(f"{nbytes} bytes can never fit a budget of {self.limit}")
        turn = object()
        deadline = time.monotonic() + self.wait_seconds
        with self._changed:
            self._queue.append(turn)
            try:
                while self._queue[0] is not turn or self.in_use + nbytes > self.limit:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError(f"no room for {nbytes} bytes in {self.wait_seconds:g} s")
                    self._changed.wait(left)
            finally:
                self._queue.remove(turn)
                self._changed.notify_all()  # the next in line may fit now, or be first in line
            self.in_use += nbytes
            self.high_water = max(self.high_water, self.in_use)
