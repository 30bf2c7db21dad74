"""Sidecars: the small files beside a photo that belong to it (edits, ratings, iPhone edit lists, thumbnails).

`IMG_0001.JPG.xmp` names its photo whole and always belongs to it. `IMG_0001.xmp`,
`IMG_0001.AAE` and `IMG_0001.THM` name only the stem: they belong to the photo only
while no other file of that stem stays beside it (a RAW and its JPEG share one XMP,
which must stay with the RAW when the JPEG goes).
"""
from __future__ import annotations

import os
import stat

SIDECAR_EXTENSIONS = (".xmp", ".aae", ".thm")


def is_sidecar(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in SIDECAR_EXTENSIONS


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
        if ext.lower() not in SIDECAR_EXTENSIONS or not (base == name or (base == stem and not stem_shared)):
            continue
        full = os.path.join(folder, candidate)
        if stat.S_ISREG(os.lstat(full).st_mode):
            found.append(full)
    return found
