"""The engine's answers as plain JSON-ready dicts: one shape for simgui-cli --json and the local HTTP API."""
from __future__ import annotations

from simgui.core.grouping import Group
from simgui.core.library import Comparison, Match


def group_answer(group: Group) -> dict:
    return {
        "kind": group.kind,
        "keeper": group.keeper.image.path,
        "members": [{"path": m.image.path, "score": m.score, "keeper": m.keeper, "size": m.image.size,
                     "width": m.image.width, "height": m.image.height, "captured_at": m.image.captured_at}
                    for m in group.members],
    }


def query_answer(path: str, result: list[Match] | str) -> dict:
    """One query image's matches, or the reason it could not be read."""
    if isinstance(result, str):
        return {"query": path, "results": [], "error": result}
    return {"query": path, "results": [{"path": m.image.path, "score": m.score, "verdict": m.verdict,
                                        "agreement": m.agreement} for m in result]}


def comparison_answer(comparison: Comparison) -> dict:
    """`differing_share`: the share of the first photo (inside its bars) not found in place in the second."""
    grid = comparison.differences
    differing = round(float((grid < 0).mean()), 4) if grid is not None and grid.any() else None
    return {"score": comparison.score, "verdict": comparison.verdict, "agreement": comparison.agreement,
            "differing_share": differing}
