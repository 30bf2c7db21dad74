"""Thumbnails on disk: one small JPEG per content, made once, shared by the app's views and the HTML report."""
from __future__ import annotations

import io
import logging
import os
from pathlib import Path

from simgui.core.media.decode import DecodeError
from simgui.core.media.pictures import picture_to_show

log = logging.getLogger(__name__)
THUMBNAIL_FOLDER = "thumbnails"  # in the library folder
THUMB_SIZE = 160


def thumbnail_file(library_folder: Path, content_hash: str) -> Path:
    return library_folder / THUMBNAIL_FOLDER / content_hash[:2] / f"{content_hash}.jpg"


def thumbnail_jpeg(path: str, cache_file: Path) -> bytes | None:
    """The cached thumbnail's bytes, or a new one decoded from `path` and saved; None when it cannot be read."""
    if cache_file.exists():
        try:
            return cache_file.read_bytes()
        except OSError as exc:  # made again below
            log.info("thumbnail %s unreadable: %s", cache_file, exc)
    made = make_thumbnail(path)
    if made is None:
        return None
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(".tmp")
        tmp.write_bytes(made)
        os.replace(tmp, cache_file)
    except OSError as exc:  # a read-only library: the thumbnail is still shown, made again next time
        log.info("thumbnail %s not saved: %s", cache_file, exc)
    return made


def make_thumbnail(path: str) -> bytes | None:
    """A JPEG thumbnail of any photo or clip simgui reads, upright (a query's, which the library need not hold)."""
    try:
        picture = picture_to_show(path)
    except DecodeError:
        return None
    picture.thumbnail((THUMB_SIZE, THUMB_SIZE))
    made = io.BytesIO()
    picture.convert("RGB").save(made, "JPEG", quality=85)
    return made.getvalue()
