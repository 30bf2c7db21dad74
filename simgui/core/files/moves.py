"""Moving one photo: never over another file; on one file system a rename, across two copy, verify, delete.

Every move refuses to replace what is at its target, atomically: the kernel's
no-replace rename (renameat2 RENAME_NOREPLACE on Linux, renamex_np RENAME_EXCL
on macOS) or, where a file system lacks it, a hard link (which fails on an
existing name) and then removing the old name. Checking that the name is free
and then renaming would overwrite a file created in between.

A root can hold a mount point (a memory card, a second disk mounted inside the
photo folder), while simgui's trash sits at the root. A rename cannot cross
file systems, so such a file is copied next to its target under a temporary
name, synced, checked against the source (size and SHA-256), moved into place
without replacing anything, and only then is the source removed. A crash in
between leaves the source untouched; the journal's recovery finishes or undoes the rest.
"""
from __future__ import annotations

import ctypes
import errno
import os
import shutil
import sys

from simgui.core.media.hashes import file_sha256

PARTIAL_SUFFIX = ".simgui-partial"
_AT_FDCWD = -100
_RENAME_NOREPLACE = 1  # linux/fs.h
_RENAME_EXCL = 0x4  # macOS sys/stdio.h
# file systems and kernels that know no atomic no-replace rename: the hard-link way is tried next
_NO_ATOMIC_RENAME = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP}
_NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK}

_libc = ctypes.CDLL(None, use_errno=True)
_renameat2 = getattr(_libc, "renameat2", None)
_renamex_np = getattr(_libc, "renamex_np", None) if sys.platform == "darwin" else None


def rename_no_replace(source: str, target: str) -> None:
    """Renames `source` to `target`, or raises FileExistsError (and changes nothing) if `target` exists.
    Raises OSError(EXDEV) across file systems, like os.rename."""
    if _atomic_rename(source, target):
        return
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError as exc:
        if exc.errno in _NO_HARD_LINKS:
            raise OSError(exc.errno, "this file system can move files only by replacing what is at the target, "
                                     "which simgui never does", target) from exc
        raise
    os.unlink(source)


def _atomic_rename(source: str, target: str) -> bool:
    """True when the kernel did the no-replace rename; False when it cannot here (the caller links instead)."""
    if _renameat2 is not None:
        result = _renameat2(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), _RENAME_NOREPLACE)
    elif _renamex_np is not None:
        result = _renamex_np(os.fsencode(source), os.fsencode(target), _RENAME_EXCL)
    else:
        return False
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in _NO_ATOMIC_RENAME:
        return False
    raise OSError(code, os.strerror(code), target)


def move_file(source: str, target: str) -> None:
    try:
        rename_no_replace(source, target)
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    if os.path.lexists(target):  # checked before the copy's cost; the final move checks again, atomically
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), target)
    partial = target + PARTIAL_SUFFIX
    _copy_new(source, partial)  # refuses a name that is taken, even by a link: simgui's half-file or nothing
    try:
        if not same_content(partial, source):
            raise OSError(errno.EIO, "the copy does not match the original", source)
        rename_no_replace(partial, target)
    except BaseException:
        os.unlink(partial)
        raise
    os.unlink(source)


def _copy_new(source: str, copy: str) -> None:
    """Copies `source` (bytes, times, mode) to a name nothing holds yet, synced; never through a link."""
    fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as original:
            shutil.copyfileobj(original, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        shutil.copystat(source, copy, follow_symlinks=False)
    except BaseException:
        os.unlink(copy)
        raise


def remove_partial_copy(target: str) -> None:
    """A copy across file systems cut short by a crash: simgui's own half-file beside `target` (a plain file;
    a link of that name is no copy of simgui's and stays)."""
    partial = target + PARTIAL_SUFFIX
    if os.path.lexists(partial) and not os.path.islink(partial):
        os.unlink(partial)


def same_content(a: str, b: str) -> bool:
    return os.path.getsize(a) == os.path.getsize(b) and file_sha256(a) == file_sha256(b)
