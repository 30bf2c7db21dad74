"""Opening simgui's SQLite files the same way everywhere: WAL, a busy timeout, safe from two processes.

Switching a new database to WAL needs a moment of exclusive access, and SQLite
answers "database is locked" at once, without waiting, when another process
(the app and simgui-cli started together) is doing the same: that step is retried.
"""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path

BUSY_SECONDS = 30


def open_database(path: Path, synchronous: str, page_size: int = 4096) -> sqlite3.Connection:
    """page_size counts only when the file is new (an existing database keeps its own)."""
    db = sqlite3.connect(str(path), timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False)
    db.execute(f"PRAGMA page_size={int(page_size)}")  # before WAL, which fixes it
    deadline = time.monotonic() + BUSY_SECONDS
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                db.close()
                raise
            time.sleep(0.05)
    db.execute(f"PRAGMA synchronous={synchronous}")
    db.execute(f"PRAGMA busy_timeout={BUSY_SECONDS * 1000}")
    return db
