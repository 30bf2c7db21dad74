"""What the user is told when the library itself cannot be used: a bad path, a full disk, a read-only folder."""
from __future__ import annotations

from pathlib import Path


class LibraryError(Exception):
    """A problem the user can fix (a bad path, an unreadable folder); the message says how."""


def storage_problem(folder: Path, exc: BaseException, opening: bool = False) -> str:
    """What to tell the user when the library's own files cannot be written (full disk, read-only folder)."""
    detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    if opening:
        return (f"cannot open the library at {folder}: {detail}. Is the folder read-only, or the disk full? "
                f"Nothing in it was changed.")
    return (f"cannot write to the library at {folder}: {detail}. Nothing was lost: the last complete batch is "
            f"kept. Free some space or make the folder writable, then run it again.")
