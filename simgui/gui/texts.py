"""How the app words sizes, dates and counts, the same in every view."""
from __future__ import annotations

from datetime import datetime

from simgui.core.storage.store import ImageRecord


def size_text(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def date_text(image: ImageRecord) -> str:
    """When the photo was taken, as its camera recorded it."""
    return datetime.fromisoformat(image.captured_at).strftime("%Y-%m-%d %H:%M") if image.captured_at else "no date"


def duration_text(seconds: float) -> str:
    """A clip's length as players show it: "0:07", "12:30", "1:02:03"."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def clip_facts(image: ImageRecord) -> str:
    """"h264 · 4.2 Mb/s": what a clip is encoded as."""
    return f"{image.codec or '?'} · {image.bit_rate / 1e6:.1f} Mb/s"


def photos_text(count: int) -> str:
    return count_text(count, "photo")


def count_text(count: int, noun: str, plural: str | None = None) -> str:
    """"1 file", "5 files" ("1 copy", "2 copies" with its plural given)."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
