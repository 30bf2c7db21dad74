"""Moving one photo: a rename on one file system; across two, copy, verify, and only then delete.

A root can hold a mount point (a memory card, a second disk mounted inside the
photo folder), while simgui's trash sits at the root. A rename cannot cross
file systems, so such a file is copied next to its target under a temporary
name, synced, checked against the source (size and SHA-256), renamed into
place, and only then is the source removed. A crash in between leaves the
source untouched; the journal's recovery finishes or undoes the rest.
"""
from __future__ import annotations

import errno
import os
import shutil

from simgui.core.hashes import file_sha256

PARTIAL_SUFFIX = ".simgui-partial"


def move_file(source: str, target: str) -> None:
    try:
        os.rename(source, target)
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    partial = target + PARTIAL_SUFFIX
    try:
        shutil.copy2(source, partial)
        with open(partial, "rb") as f:
            os.fsync(f.fileno())
        if not same_content(partial, source):
            raise OSError(errno.EIO, "the copy does not match the original", source)
        os.rename(partial, target)
    except BaseException:
        remove_partial_copy(target)
        raise
    os.unlink(source)


def remove_partial_copy(target: str) -> None:
    """A copy across file systems cut short: simgui's own half-file beside `target`, never a photo."""
    partial = target + PARTIAL_SUFFIX
    if os.path.lexists(partial):
        os.unlink(partial)


def same_content(a: str, b: str) -> bool:
    return os.path.getsize(a) == os.path.getsize(b) and file_sha256(a) == file_sha256(b)
