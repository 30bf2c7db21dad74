"""simgui's trash inside a root: `<root>/.simgui-trash/<action id>/<path inside the root>`.

On the same file system as the photo, so a move is one atomic rename, and
never scanned (dot folders are skipped). Its folders are made one at a time and
each is checked to be a real folder: a `.simgui-trash` (or any folder in it)
that is a symbolic link would send photos out of the root, and "Empty trash"
would then remove folders there; one that is a plain file cannot hold anything.
"""
from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

TRASH_FOLDER = ".simgui-trash"


class TrashFolderError(OSError):
    """The trash cannot be used as it is; the message says what to do."""


def trash_problem(root: str) -> str | None:
    """Why `<root>/.simgui-trash` cannot take files, or None (it is a real folder, or not made yet)."""
    return _folder_problem(os.path.join(root, TRASH_FOLDER), allow_missing=True)


TRASH_LINK_ADVICE = "simgui's trash must be a real folder inside the library's folder; remove the link"


def _folder_problem(path: str, allow_missing: bool, link_advice: str = TRASH_LINK_ADVICE) -> str | None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None if allow_missing else f"{path} is missing"
    except OSError as exc:
        return f"cannot look at {path}: {exc.strerror}"
    if stat.S_ISLNK(st.st_mode):
        return f"{path} is a symbolic link: {link_advice}"
    if not stat.S_ISDIR(st.st_mode):
        return f"{path} is not a folder: move that file away so simgui can make its trash there"
    return None


def make_trash_place(root: str, action_id: int, path: str) -> Path:
    """A free name for `path` in the action's trash folder, its folders made without following any link."""
    relative = os.path.relpath(path, root)
    folder = make_real_folders(root, [TRASH_FOLDER, str(action_id), *Path(relative).parent.parts])
    return free_path(Path(folder) / os.path.basename(path))


def make_real_folders(base: str, parts: list[str], mode: int = 0o700,
                      link_advice: str = TRASH_LINK_ADVICE) -> str:
    """base/part/part/...: each folder made (or found) and checked to be a real folder, one at a time, so no
    link on the way can lead the files elsewhere. Raises TrashFolderError saying which is not."""
    folder = base
    for part in parts:
        folder = os.path.join(folder, part)
        with contextlib.suppress(FileExistsError):  # made for an earlier file: checked below all the same
            os.mkdir(folder, mode)
        problem = _folder_problem(folder, allow_missing=False, link_advice=link_advice)
        if problem:
            raise TrashFolderError(problem)
    return folder


def inside_trash(root: str, path: str) -> bool:
    """True when `path` really lies in the root's own trash: no link on the way leads elsewhere."""
    if trash_problem(root) is not None:
        return False
    return os.path.realpath(os.path.dirname(path)).startswith(os.path.join(root, TRASH_FOLDER) + os.sep)


def remove_empty_folders(root: str) -> None:
    """The root's trash folders that hold nothing any more, deepest first; never through a link."""
    top = os.path.join(root, TRASH_FOLDER)
    if _folder_problem(top, allow_missing=False):
        return
    for folder, _, _ in sorted(os.walk(top), key=lambda entry: -len(entry[0])):
        if os.listdir(folder):
            continue  # a file the user put there, or one send2trash refused
        os.rmdir(folder)


def free_path(path: Path) -> Path:
    candidate, n = path, 1
    while os.path.lexists(candidate):
        candidate = path.with_name(f"{path.stem} ({n}){path.suffix}")
        n += 1
    return candidate
