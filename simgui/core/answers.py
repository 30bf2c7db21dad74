"""The engine's answers as plain JSON-ready dicts: one shape for simgui-cli --json and the local HTTP API."""
from __future__ import annotations

from datetime import datetime

from simgui.core.files.actions import ActionOutcome
from simgui.core.files.disposal import FOLDER_KIND
from simgui.core.matching.grouping import Group
from simgui.core.matching.verify import CHANGED, CUT_AWAY
from simgui.core.files.journal import ActionRecord, Move
from simgui.core.library import Comparison, Match


def group_answer(group: Group) -> dict:
    return {
        "kind": group.kind,
        "keeper": group.keeper.image.path,
        "members": [{"path": m.image.path, "score": m.score, "keeper": m.keeper, "size": m.image.size,
                     "width": m.image.width, "height": m.image.height, "captured_at": m.image.captured_at,
                     "format": m.image.format, "duration": m.image.duration, "codec": m.image.codec,
                     # the other files of its shot (a RAW's JPEG): they go and stay with it
                     "stacked": [f.path for f in m.stacked], "protected": m.protected}
                    for m in group.members],
    }


CSV_COLUMNS = ("group", "kind", "keeper", "path", "score", "size", "width", "height", "format", "captured_at",
               "stack_of", "duration", "codec")


def group_rows(groups: list[Group]) -> list[tuple]:
    """The groups as CSV rows (CSV_COLUMNS), one a file: the other files of a member's shot (a RAW's JPEG)
    follow it with its path in `stack_of`, its keeper mark and its group."""
    rows = []
    for number, group in enumerate(groups, 1):
        for member in group.members:
            for image in member.files:
                rows.append((number, group.kind.value, "keep" if member.keeper else "", image.path, member.score,
                             image.size, image.width or "", image.height or "", image.format or "",
                             image.captured_at or "", "" if image is member.image else member.image.path,
                             image.duration or "", image.codec or ""))
    return rows


def query_answer(path: str, result: list[Match] | str) -> dict:
    """One query image's matches, or the reason it could not be read."""
    if isinstance(result, str):
        return {"query": path, "results": [], "error": result}
    return {"query": path, "results": [{"path": m.image.path, "score": m.score, "verdict": m.verdict,
                                        "agreement": m.agreement, "another_moment": m.another_moment}
                                       for m in result]}


def comparison_answer(comparison: Comparison) -> dict:
    """`another_moment`: the patches line up but the pixels show two moments of one scene (a burst, a
    tripod), so not the same photo. `differing_share`: the share of the first photo (inside its bars) not
    found in place in the second: `changed_share` of it holds other content there, `cut_away_share` is
    outside the second photo (cropped away)."""
    grid = comparison.differences
    shares = dict.fromkeys(("differing_share", "changed_share", "cut_away_share"))  # None: not aligned at all
    if grid is not None and grid.any():
        shares = {name: round(float(cells.mean()), 4) for name, cells in (
            ("differing_share", grid < 0), ("changed_share", grid == CHANGED), ("cut_away_share", grid == CUT_AWAY))}
    return {"score": comparison.score, "verdict": comparison.verdict, "agreement": comparison.agreement,
            "another_moment": comparison.another_moment, **shares}


def action_answer(outcome: ActionOutcome) -> dict:
    """A delete, merge, undo or empty-trash: what moved, what was left alone and why."""
    return {"action": outcome.action_id, "moved": outcome.moved,
            "refused": [{"path": path, "reason": why} for path, why in outcome.refused.items()],
            "enriched": outcome.enriched, "notes": outcome.notes}


def history_answer(record: ActionRecord, moves: list[Move]) -> dict:
    """One action of the journal, every file it trashed (`files`) and where each one is now (`moves`)."""
    moved = [m for m in moves if m.state not in ("planned", "cancelled")]
    return {"id": record.id, "kind": record.kind, "label": record.label, "files": [m.source for m in moved],
            "moves": [{"path": m.source, "trash": m.target, "state": where_now(record.kind, m)} for m in moved],
            "undone": record.undone, "undo_problem": record.undo_problem,
            "at": datetime.fromtimestamp(record.created_at).astimezone().isoformat(timespec="seconds")}


# where a file of an action is, in words a script can test for
MOVE_STATES = {"moved": "in simgui's trash", "restoring": "in simgui's trash", "restored": "restored",
               "emptying": "in simgui's trash", "emptied": "in the system trash"}


def where_now(action_kind: str, move: Move) -> str:
    """MOVE_STATES, for a move to a folder of the user's: "in the folder it was moved to" until undone."""
    if action_kind == FOLDER_KIND and move.state in ("moved", "restoring"):
        return "in the folder it was moved to"
    return MOVE_STATES[move.state]
