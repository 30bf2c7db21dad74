"""The groups written out for people and spreadsheets: CSV (answers.group_rows), and one self-contained HTML
report with every photo's thumbnail inside it (no file beside it to lose, opens in any browser offline)."""
from __future__ import annotations

import base64
import csv
import html
import io
import os
import time
from pathlib import Path
from typing import BinaryIO, Callable

from simgui.core.answers import CSV_COLUMNS, group_rows
from simgui.core.indexing.pipeline import Progress
from simgui.core.matching.grouping import Group, GroupMember
from simgui.core.media.thumbnails import thumbnail_file, thumbnail_jpeg
from simgui.core.storage.errors import LibraryError
from simgui.core.storage.pathtext import readable

EXPORT_FORMATS = {".csv": "CSV", ".html": "HTML report"}


def write_csv(groups: list[Group], out: BinaryIO) -> None:
    """RFC 4180 CSV, one row a file; paths byte for byte (a name that is not UTF-8 keeps its bytes)."""
    text = io.TextIOWrapper(out, encoding="utf-8", errors="surrogateescape", newline="")
    writer = csv.writer(text)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(group_rows(groups))
    text.flush()
    text.detach()


_STYLE = """
:root { color-scheme: light dark; --card: #f4f4f6; --keep: #2e7d32; --muted: #666; }
@media (prefers-color-scheme: dark) { :root { --card: #26262b; --keep: #81c784; --muted: #aaa; } }
body { font: 14px system-ui, sans-serif; margin: 24px; }
section { background: var(--card); border-radius: 8px; padding: 12px 16px; margin: 0 0 16px; }
h2 { font-size: 15px; margin: 0 0 8px; } .muted { color: var(--muted); }
.members { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 0; width: 180px; } figure img { max-width: 160px; max-height: 160px; display: block; }
figure.keep img { outline: 3px solid var(--keep); } figcaption { font-size: 12px; overflow-wrap: anywhere; }
.keep figcaption b { color: var(--keep); }
"""


def html_report(groups: list[Group], thumbnail: Callable[[GroupMember], bytes | None], title: str,
                progress: Callable[[Progress], None] | None = None,
                cancelled: Callable[[], bool] = lambda: False) -> str | None:
    """The report's text; `thumbnail(member)` gives a member's JPEG thumbnail (None: shown without). None when
    cancelled."""
    started = time.monotonic()
    freed = sum(g.freed for g in groups)
    parts = [f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title><style>{_STYLE}</style>",
             f"<h1>{html.escape(title)}</h1><p class='muted'>{len(groups)} groups; merging every one would free "
             f"{freed / 1e6:.1f} MB. The marked copy of each group is the one kept.</p>"]
    for number, group in enumerate(groups, 1):
        if cancelled():
            return None
        noun = "clips" if group.keeper.image.is_clip else "photos"
        parts.append(f"<section><h2>{number}. {group.kind.value} · {len(group.members)} {noun} · "
                     f"{group.freed / 1e6:.1f} MB to free</h2><div class='members'>")
        parts += [_member_html(member, thumbnail(member)) for member in group.members]
        parts.append("</div></section>")
        if progress is not None:
            progress(Progress(number, len(groups), 0, time.monotonic() - started, step="exporting groups"))
    return "".join(parts)


def _member_html(member: GroupMember, jpeg: bytes | None) -> str:
    image = member.image
    names = " + ".join(html.escape(readable(os.path.basename(f.path))) for f in member.files)
    picture = (f"<img alt='' src='data:image/jpeg;base64,{base64.b64encode(jpeg).decode()}'>" if jpeg
               else "<p class='muted'>(cannot be read now)</p>")
    mark = "<b>keep</b>" if member.keeper else f"similarity {member.score:.3f}"
    kind = f"{image.duration:.1f} s {html.escape(image.codec or '')}" if image.is_clip else image.format or ""
    return (f"<figure class='{'keep' if member.keeper else ''}'>{picture}<figcaption>{names}<br>{mark}<br>"
            f"{image.width or '?'}×{image.height or '?'} · {member.size / 1e6:.2f} MB · {kind} · "
            f"{html.escape(image.captured_at or 'no date')}<br><span class='muted'>"
            f"{html.escape(readable(os.path.dirname(image.path)))}</span></figcaption></figure>")


def library_thumbnails(library_folder: Path) -> Callable[[GroupMember], bytes | None]:
    """A member's thumbnail as the app shows it (made and kept where missing)."""
    return lambda member: thumbnail_jpeg(member.image.path, thumbnail_file(library_folder, member.image.content_hash))


def write_export(groups: list[Group], target: Path, thumbnail: Callable[[GroupMember], bytes | None],
                 progress: Callable[[Progress], None] | None = None,
                 cancelled: Callable[[], bool] = lambda: False) -> bool:
    """The groups as CSV or an HTML report, by the target's extension, written whole or not at all (a
    temporary file renamed over it); False when cancelled. LibraryError says why it could not be written."""
    target = Path(target)
    if target.suffix.lower() not in EXPORT_FORMATS:
        raise LibraryError(f"cannot export to {target.name}: name it .csv or .html")
    try:
        return _write(groups, target, thumbnail, progress, cancelled)
    except OSError as exc:
        raise LibraryError(f"cannot write {target}: {exc.strerror or exc}") from exc


def _write(groups: list[Group], target: Path, thumbnail: Callable[[GroupMember], bytes | None],
           progress: Callable[[Progress], None] | None, cancelled: Callable[[], bool]) -> bool:
    report = None
    if EXPORT_FORMATS[target.suffix.lower()] != "CSV":  # made whole before any file is opened
        report = html_report(groups, thumbnail, f"simgui: {len(groups)} duplicate groups", progress, cancelled)
        if report is None:
            return False
    partial = target.with_name(f".{target.name}.partial")
    with open(partial, "wb") as out:
        if report is None:
            write_csv(groups, out)
        else:
            out.write(report.encode("utf-8", "surrogateescape"))
    os.replace(partial, target)
    return True
