"""Where the copies a merge lets go end up: simgui's trash, a folder of the user's, or nowhere at all.

- the trash (trash_folder.py): the default;
- a folder the user picks, outside the library (inside it, the copies would be found again), each file under
  `<folder>/<its root's name>/<its path inside the root>`, so two roots' "2019/a.jpg" never meet;
- a hard link: an identical copy's original goes to the trash and a second name of the keeper's file takes its
  place, so every path a program or an album knows still opens the same photo while its bytes are stored once
  (the space is freed when the trash is emptied). Undo removes the link and brings the original back.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from simgui.core.files.trash_folder import free_path, make_real_folders
from simgui.core.storage.pathtext import within

TRASH_KIND, FOLDER_KIND, LINK_KIND = "merge", "move", "link"  # the journal's action kinds


@dataclass(frozen=True)
class Disposal:
    folder: str | None = None  # an absolute folder outside the library's roots
    hard_links: bool = False

    def __post_init__(self):
        if self.folder is not None and self.hard_links:
            raise ValueError("copies go to a folder or become hard links, not both")

    @property
    def action_kind(self) -> str:
        return FOLDER_KIND if self.folder else LINK_KIND if self.hard_links else TRASH_KIND

    def in_label(self) -> str:
        """What an action's label adds, so that its history line says where the copies went."""
        return f" to {self.folder}" if self.folder else " as hard links" if self.hard_links else ""

    def said(self) -> str:
        """Where the files go, as the user is told: "to simgui's trash", "to /backup/doubles"..."""
        if self.folder:
            return f"to {self.folder}"
        return "to simgui's trash, a hard link to the kept copy in each one's place" if self.hard_links \
            else "to simgui's trash"


TO_TRASH = Disposal()


def destination_problem(folder: str, roots: list[str], library_folder: str) -> str | None:
    """Why copies cannot be moved to this folder, or None. `library_folder`: simgui's own (library.db's)."""
    if not os.path.isabs(folder):
        return f"{folder} is not a full path"
    real = os.path.realpath(folder)
    if os.path.exists(real) and not os.path.isdir(real):
        return f"{folder} is a file, not a folder"
    if within(real, os.path.realpath(library_folder)):  # what a reset of simgui deletes
        return (f"{folder} is inside simgui's own library folder {library_folder}; choose a folder of your own "
                f"outside the library")
    for root in roots:
        if within(real, root):
            return (f"{folder} is inside the library's folder {root}: its files would be found again as "
                    f"duplicates; choose a folder outside the library")
        if within(os.path.join(real, os.path.basename(root)), root):
            return f"{folder} holds the library's folder {root}; choose a folder outside the library"
    return None


def _parts(root: str, path: str) -> list[str]:
    """The folders below the chosen one where `path` goes: its root's name, then its folders inside the root."""
    return [os.path.basename(root), *Path(os.path.relpath(os.path.dirname(path), root)).parts]


def place_problem(folder: str, root: str, path: str, roots: list[str]) -> str | None:
    """Why `path` must not go under the folder: where it would land is inside a root (another root named
    like a subfolder there, a link on the way), or None."""
    landing = os.path.realpath(os.path.join(os.path.realpath(folder), *_parts(root, path)))
    inside = next((r for r in roots if within(landing, r)), None)
    if inside is not None:
        return (f"it would land in {landing}, inside the library's folder {inside}, and be found again: "
                f"choose another folder")
    return None


def folder_place(folder: str, root: str, path: str) -> Path:
    """A free name for `path` under the folder, its path inside its root kept: the folders made one at a
    time, each a real folder (a link below the chosen folder could lead anywhere, the library included)."""
    real = os.path.realpath(folder)
    os.makedirs(real, exist_ok=True)
    place = make_real_folders(real, _parts(root, path), mode=0o777,
                              link_advice="simgui moves files only through real folders; nothing was moved there")
    return free_path(Path(place) / os.path.basename(path))


def moved_aside_problem(target: str) -> str | None:
    """Why the file a move to a folder put at `target` may not be the one to bring back: a folder on its
    way was swapped for a link since (the target's folders were real when the move was made)."""
    folder = os.path.dirname(target)
    if os.path.realpath(folder) != folder:
        return f"a folder on the way to {target} is now a link: left where it is"
    return None


def hard_link_problem(copy: os.stat_result, keeper: os.stat_result) -> str | None:
    if copy.st_dev != keeper.st_dev:
        return "on another disk than the file to keep: a hard link cannot join two disks"
    return None
