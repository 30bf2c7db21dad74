"""Paths in SQLite, including file names that are not valid UTF-8.

Linux file names are bytes. Python hands the undecodable ones over with
surrogate escapes, which SQLite's TEXT cannot hold; those few paths are stored
as their raw bytes (a BLOB in the same column), every other path as text.
Each value converts back to the very str os.scandir gave, so lookups match.
"""
from __future__ import annotations

import os


def to_db(path: str) -> str | bytes:
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return os.fsencode(path)


def from_db(value: str | bytes) -> str:
    return os.fsdecode(value) if isinstance(value, bytes) else value


def within(path: str, folder: str) -> bool:
    """`path` is `folder` or lies below it (both absolute and normalised, as the library stores them)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def readable(path: str) -> str:
    """For showing a path (or a text naming one) to a person: undecodable bytes as U+FFFD (Qt would silently
    drop them, SQLite cannot store them as text)."""
    return os.fsencode(path).decode("utf-8", "replace")
