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


def photos_text(count: int) -> str:
    return count_text(count, "photo")


def count_text(count: int, noun: str, plural: str | None = None) -> str:
    """"1 file", "5 files" ("1 copy", "2 copies" with its plural given)."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
