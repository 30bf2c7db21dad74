"""Stacks: the files of one shot, which are one item and never duplicates of each other.

A camera set to RAW+JPEG writes IMG_0001.CR2 and IMG_0001.JPG side by side at the same moment: one
photo in two files. A stack is the pictures of one folder that share a stem, exactly one of them a
camera RAW and the others taken at the same time as it (where both say when). It shows as one item,
and it goes or stays whole: trashing either file takes both. A RAW and a JPEG exported elsewhere are
two items, found as `near` like any copy.

A Live Photo's motion part (IMG_0001.MOV beside IMG_0001.HEIC) is not a picture simgui reads: it
travels with its photo as sidecars do (sidecars.py).
"""
from __future__ import annotations

import os
import unicodedata
from collections import defaultdict
from typing import Iterable

from simgui.core.storage.store import ImageRecord, LibraryStore

RAW_FORMAT = "RAW"  # formats.py's name for every camera RAW


def shot_name(path: str) -> tuple[str, str]:
    """(folder, stem): what the files of one shot share. A card's file system ignores case (IMG_0001.CR2 and
    img_0001.jpg are one shot) and macOS writes names decomposed: the stem is compared folded."""
    folder, name = os.path.split(path)
    return folder, unicodedata.normalize("NFC", os.path.splitext(name)[0]).casefold()


def stacks_among(images: Iterable[ImageRecord]) -> dict[str, list[ImageRecord]]:
    """Path -> every file of its stack (the RAW first, then by path), for each of these files in a stack."""
    images = [image for image in images if image.error is None]
    # only folders holding a RAW can hold a stack: most libraries have none, and a regroup of 100,000 photos
    # would spend a third of a second naming every shot
    raw_folders = {image.path.rpartition("/")[0] for image in images if image.format == RAW_FORMAT}
    by_shot: dict[tuple[str, str], list[ImageRecord]] = defaultdict(list)
    for image in images:
        if raw_folders and image.path.rpartition("/")[0] in raw_folders:
            by_shot[shot_name(image.path)].append(image)
    found: dict[str, list[ImageRecord]] = {}
    for files in by_shot.values():
        stack = _stack_of(files)
        found.update((image.path, stack) for image in stack)
    return found


class ShotsByFolder:
    """The stacks of the folders one action touches, as the library holds them now: each folder read once."""

    def __init__(self, store: LibraryStore):
        self.store = store
        self._folders: dict[str, dict[str, list[ImageRecord]]] = {}

    def stack_of(self, path: str) -> list[ImageRecord]:
        """Every file of the stack this file is in (itself included); empty when it is in none."""
        folder = os.path.dirname(path)
        if folder not in self._folders:
            self._folders[folder] = stacks_among(f for f in self.store.images_starting(folder.rstrip("/") + "/")
                                                 if os.path.dirname(f.path) == folder)
        return self._folders[folder].get(path, [])


def _stack_of(files: list[ImageRecord]) -> list[ImageRecord]:
    raws = [image for image in files if image.format == RAW_FORMAT]
    if len(raws) != 1:  # a RAW beside its DNG conversion is a copy, not one shot
        return []
    raw = raws[0]
    others = sorted((image for image in files if image is not raw and _same_moment(raw, image)),
                    key=lambda image: image.path)
    return [raw, *others] if others else []


def _same_moment(a: ImageRecord, b: ImageRecord) -> bool:
    return a.captured_at is None or b.captured_at is None or a.captured_at == b.captured_at
