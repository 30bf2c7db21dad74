"""Sidecars: the files beside a photo that belong to it (edits, ratings, iPhone edit lists, thumbnails, and a
Live Photo's motion part).

`IMG_0001.JPG.xmp` names its photo whole and always belongs to it. `IMG_0001.xmp`,
`IMG_0001.AAE`, `IMG_0001.THM` and `IMG_0001.MOV` (the video half of a Live Photo,
IMG_0001.HEIC) name only the stem: they belong to the photo only while no other
file of that stem stays beside it (a RAW and its JPEG share one XMP, which must
stay with the RAW when the JPEG goes).
"""
from __future__ import annotations

import os
import stat

from simgui.core.media.formats import LIVE_PHOTO_MOTION, LIVE_PHOTO_STILLS

SIDECAR_EXTENSIONS = (".xmp", ".aae", ".thm")


def is_sidecar(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in SIDECAR_EXTENSIONS + (LIVE_PHOTO_MOTION,)


def sidecars_of(path: str, going: set[str]) -> list[str]:
    """The sidecars that go with `path` when it and the files in `going` (same action) leave its folder:
    plain files only, never a link."""
    folder, name = os.path.split(path)
    stem = os.path.splitext(name)[0]
    try:
        names = os.listdir(folder or ".")
    except OSError:
        return []
    staying = {n for n in names if not is_sidecar(n) and os.path.join(folder, n) not in going and n != name}
    stem_shared = any(os.path.splitext(n)[0] == stem for n in staying)
    found = []
    for candidate in sorted(names):
        base, ext = os.path.splitext(candidate)
        whole_name = base == name and ext.lower() in SIDECAR_EXTENSIONS
        if not is_sidecar(candidate) or not (whole_name or (base == stem and not stem_shared)):
            continue
        if ext.lower() == LIVE_PHOTO_MOTION and os.path.splitext(name)[1].lower() not in LIVE_PHOTO_STILLS:
            continue  # a video named like a PNG or a RAW is a video of its own
        full = os.path.join(folder, candidate)
        if stat.S_ISREG(os.lstat(full).st_mode):
            found.append(full)
    return found
