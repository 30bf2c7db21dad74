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
    """"0:12 · h264 · 4.2 Mb/s": a clip's length and what it is encoded as."""
    return f"{duration_text(image.duration or 0)} · {image.codec or '?'} · {image.bit_rate / 1e6:.1f} Mb/s"


def photos_text(count: int, clips: int = 0) -> str:
    """"15 photos", "12 photos, 3 clips" or "3 clips", where `clips` of the `count` files are video clips."""
    if clips and clips == count:
        return count_text(clips, "clip")
    return count_text(count - clips, "photo") + (f", {count_text(clips, 'clip')}" if clips else "")


def count_text(count: int, noun: str, plural: str | None = None) -> str:
    """"1 file", "5 files" ("1 copy", "2 copies" with its plural given)."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
