"""Opening simgui's SQLite files the same way everywhere: WAL, a busy timeout, safe from two processes.

Switching a new database to WAL needs a moment of exclusive access, and SQLite
answers "database is locked" at once, without waiting, when another process
(the app and simgui-cli started together) is doing the same: that step is retried.

The files say which photos a person has and where: they are for their owner only (0600), like the API
token. SQLite gives a database's -wal, -shm and -journal files the database file's own mode, so the
database file is made 0600 before SQLite opens it, and one made by an earlier version is made so.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path

BUSY_SECONDS = 30
PRIVATE = 0o600

log = logging.getLogger(__name__)


def open_database(path: Path, synchronous: str, page_size: int = 4096) -> sqlite3.Connection:
    """page_size counts only when the file is new (an existing database keeps its own)."""
    _make_private(Path(path))
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


def _make_private(path: Path) -> None:
    """Creates the database file 0600 (when missing), and takes others' access away from an existing one and
    its companions. Where that is refused (a read-only disk, another owner's file), SQLite's own open says
    what is wrong, or the files stay as they were: that is logged."""
    try:
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE))
        for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
            if name.exists() and name.stat().st_mode & 0o077:
                os.chmod(name, PRIVATE)
    except OSError as exc:
        log.warning("cannot make %s readable by its owner only: %s", path, exc)
