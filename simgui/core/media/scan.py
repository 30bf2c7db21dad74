"""Walks library roots with stat calls only: what is there, how big, when changed.

The extension decides only which files are worth a look (photos and video clips, not sidecar files, nor a
Live Photo's motion part, which is its photo's sidecar); what a file really is gets decided by its content later.
Symbolic links are never followed, so a walk cannot leave its root or loop.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from typing import Callable, Iterator

from simgui.core.media.formats import is_library_name, is_live_photo_motion, is_video_name

# Folders that hold caches and thumbnails of other tools, not the user's photos.
IGNORED_FOLDERS = {"@eaDir", "#recycle", "$RECYCLE.BIN", "System Volume Information", "__MACOSX"}


@dataclass
class FoundFile:
    path: str
    size: int
    mtime_ns: int
    problem: str | None = None  # set when the entry can be named but not read as a file


@dataclass
class ScanResult:
    files: list[FoundFile] = field(default_factory=list)
    unreadable_folders: list[str] = field(default_factory=list)


def scan_root(root: str, exclude: set[str] | None = None,
              left_out: Callable[[str], bool] = lambda path: False) -> ScanResult:
    """`exclude`: folders that are not this root's (the library's own, nested roots); `left_out(path)`: whether
    the user left this file or folder out of the library (storage/exclusions.py)."""
    result = ScanResult()
    exclude = {os.path.abspath(p) for p in (exclude or set())}
    names_in: dict[str, set[str]] = {}  # folder -> its names, listed once for all its clips
    for entry_path, entry in _walk(root, exclude, left_out, result):
        if not is_library_name(entry.name) or left_out(entry_path):
            continue
        if is_video_name(entry.name):
            folder = os.path.dirname(entry_path)
            if folder not in names_in:
                names_in[folder] = set(_names(folder))
            if is_live_photo_motion(entry.name, names_in[folder]):
                continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError as exc:
            result.files.append(FoundFile(entry_path, 0, 0, f"cannot stat: {exc.strerror}"))
            continue
        if stat.S_ISLNK(st.st_mode):
            result.files.append(FoundFile(entry_path, 0, st.st_mtime_ns, "symbolic link (not followed)"))
        elif not stat.S_ISREG(st.st_mode):
            result.files.append(FoundFile(entry_path, 0, st.st_mtime_ns, "not a regular file"))
        else:
            result.files.append(FoundFile(entry_path, st.st_size, st.st_mtime_ns))
    return result


def _names(folder: str) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []


def _walk(folder: str, exclude: set[str], left_out: Callable[[str], bool], result: ScanResult
          ) -> Iterator[tuple[str, os.DirEntry]]:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        result.unreadable_folders.append(folder)
        return
    for entry in sorted(entries, key=lambda e: e.name):
        path = os.path.join(folder, entry.name)
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            is_dir = False
        if is_dir:
            if entry.name.startswith(".") or entry.name in IGNORED_FOLDERS or path in exclude \
                    or left_out(path):
                continue
            yield from _walk(path, exclude, left_out, result)
        else:
            yield path, entry
