"""A merge's keeper gains the capture date and GPS position it lacked (metadata.py decides what to copy).

The keeper's original bytes go to the trash through the journal like any other
file of the action, so undo brings them back; the rewritten bytes are written
first under a short dot name (never scanned, and any keeper's name fits beside
it) and then take the keeper's place without replacing anything. A crash
between the two steps is finished at the next start (`finish_interrupted_rewrites`).
"""
from __future__ import annotations

import json
import os
import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from simgui.core.media.hashes import content_hash
from simgui.core.files.journal import MoveJournal
from simgui.core.media.decode import Captured
from simgui.core.media.metadata import enriched_keeper
from simgui.core.files.moves import move_file, rename_no_replace
from simgui.core.storage.store import ImageRecord


@dataclass
class Rewritten:
    new_hash: str
    captured: Captured
    copied: list[str]  # "capture date", "GPS position"


def rewritten_path(keeper_path: str, move_id: int) -> str:
    return os.path.join(os.path.dirname(keeper_path), f".simgui-keeper-{move_id}.tmp")


def rewrite_keeper(journal: MoveJournal, action_id: int, keeper: ImageRecord, donors: list[str],
                   trash_place: Callable[[], Path]) -> Rewritten | None:
    """Rewrites the keeper if a donor has what it lacks; None when there is nothing to add. Raises OSError
    (or whatever odd EXIF makes Pillow raise) with the keeper left as it was, or its original in the trash."""
    enriched = enriched_keeper(keeper.path, donors)
    if enriched is None:
        return None
    new_hash = content_hash(enriched.data)
    target = str(trash_place())
    # with the new file's content, before any file changes: undo then knows the new file is ours
    move_id = journal.plan(action_id, keeper.path, target, json.dumps(asdict(keeper)), replaced_by=new_hash)
    temp = rewritten_path(keeper.path, move_id)
    try:
        _write_new(temp, enriched.data, os.stat(keeper.path).st_mode)
        move_file(keeper.path, target)
    except BaseException:
        journal.set_state(move_id, "cancelled")
        _remove(temp)
        raise
    journal.set_state(move_id, "moved")
    try:
        rename_no_replace(temp, keeper.path)
    except OSError as exc:
        _remove(temp)
        raise OSError(exc.errno, "another file took the keeper's name; its original is in the trash, "
                                 "and undo brings it back") from exc
    return Rewritten(new_hash, enriched.captured, enriched.copied)


def finish_interrupted_rewrites(journal: MoveJournal) -> None:
    """After a crash: a rewritten keeper whose original reached the trash takes its place; any other
    rewritten file (its merge never moved the original) is simgui's own leftover and goes."""
    for move in journal.rewrites():
        temp = rewritten_path(move.source, move.id)
        if not os.path.lexists(temp):
            continue
        if move.state == "moved" and not os.path.lexists(move.source) and _hash_of(temp) == move.replaced_by:
            rename_no_replace(temp, move.source)
        else:
            os.unlink(temp)


def _write_new(path: str, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IMODE(mode))
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _hash_of(path: str) -> str:
    with open(path, "rb") as f:
        return content_hash(f.read())


def _remove(path: str) -> None:
    if os.path.lexists(path):
        os.unlink(path)
