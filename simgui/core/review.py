"""The review of duplicate groups, without Qt: what is shown, where the cursor is, and what an action
changes on screen the moment it is asked (the engine's answer follows).

The app's Duplicates view draws this state and hands it the user's keys and clicks; the presenter
tests drive a whole review through it. Places are remembered by content, not by row: after a regroup
(a new file, the slider, an undo) the cursor stays on its photo and the view's top on its group.
"""
from __future__ import annotations

import bisect
import os
from dataclasses import dataclass

from simgui.core.matching.grouping import Group, GroupMember
from simgui.core.matching.keep_rules import capture_moment
from simgui.core.matching.rule import GROUP_KINDS, Kind

# what the groups can be sorted by: the key of a group, smallest first
SORTS = {
    "kind": lambda g: GROUP_KINDS.index(g.kind),  # exact copies first: the safest to resolve
    "space": lambda g: -g.freed,  # most space freed first
    "photos": lambda g: -len(g.members),
    "size": lambda g: -sum(m.size for m in g.members),  # the most bytes first
    "date": lambda g: _newest_first(g),
    "folder": lambda g: g.keeper.image.path,
}


def _newest_first(group: Group) -> tuple[bool, int]:
    """Newest capture first, by the keeper's date; undated groups last."""
    moment = capture_moment(group.keeper.image)
    return moment is None, -(moment or 0)


def _could_go(groups: list[Group]) -> int:
    """Files that would go if every group were merged, each counted once: an exact copy is also in the near
    group of its photo. Groups sharing a file keep one photo between them."""
    paths = [g.paths for g in groups]
    every = [path for group in paths for path in group]
    if len(set(every)) == len(every):  # no file in two groups (most libraries): all but one of each go
        return len(every) - len(groups)
    parent: dict[str, str] = {}

    def root(path: str) -> str:
        while parent.setdefault(path, path) != path:
            parent[path] = parent[parent[path]]
            path = parent[path]
        return path
    for group in paths:
        first = root(group[0])
        for path in group[1:]:
            parent[root(path)] = first
    return len(parent) - len({root(path) for path in list(parent)})


@dataclass(frozen=True)
class Place:
    """A row, by content: a group (its kind and contents) and, on a member's row, the member's file."""
    kind: Kind
    contents: frozenset[str]
    path: str | None = None

    @classmethod
    def of(cls, group: Group, member: GroupMember | None = None) -> "Place":
        return cls(group.kind, group.contents,
                   None if member is None else member.image.path)

    def likeness(self, group: Group) -> tuple[bool, int]:
        """How well a group matches this place: the same kind, then the contents it shares."""
        return group.kind == self.kind, len(self.contents & group.contents)


class ReviewState:
    def __init__(self):
        self.groups: list[Group] = []  # all the engine found (grouping.py), before filters
        self.group_folders: list[str] = []  # the folders of their photos, as found
        self.group_formats: list[str] = []  # ... and their formats ("JPEG", "HEIF", ...)
        self._found_at: dict[int, int] = {}  # id(group) -> its place in the engine's order (ties in a sort)
        self._chosen: dict[str, int] = {}  # path -> when it was chosen with K in this session (a count)
        self._choices = 0
        self.shown: list[Group] = []
        self.kind: Kind | None = None  # None: every kind
        self.folder: str | None = None  # None: every folder
        self.picture_format: str | None = None  # None: every format
        self.sort = "kind"
        self.row = 0  # the cursor: a row of `shown` ...
        self.member: int | None = None  # ... and a member of it, or None on the group's own row
        self.top = 0  # the view's scroll: the group of the first row it shows ...
        self.top_member: int | None = None  # ... and the member on that row, or None on the group's own row

    # what the engine found ----------------------------------------------------
    def set_groups(self, groups: list[Group]) -> None:
        """Groups found anew: the cursor and the top row stay where they were, by content."""
        cursor, top = self.place(), self._place_of_row(self.top, self.top_member)
        self.groups = list(groups)
        # the folders the folder filter offers beside the library's own: every one holding a grouped photo
        self.group_folders = sorted({os.path.dirname(path) for g in self.groups for path in g.paths})
        self.group_formats = sorted({f.format for g in self.groups for m in g.members for f in m.files if f.format})
        for group in self.groups:
            self._keep_chosen(group)
        self._found_at = {id(g): n for n, g in enumerate(self.groups)}
        self._filter()
        self.top = self._row_of(top, self.top)
        self.top_member = self._member_in(self.top, top)
        self.row = self._row_of(cursor, self.row)
        self.member = self._member_of(cursor)

    def take_out(self, paths: list[str]) -> bool:
        """Files that left (moved to the trash): out of every group; a group left with one photo goes.
        The cursor stays on its row, which is then the next group if its own went. False: none was shown."""
        gone = set(paths)
        if not any(path in gone for g in self.groups for path in g.paths):
            return False
        cursor = self.place()
        now: dict[int, Group | None] = {}  # id of a group that lost files -> what is left of it, if a group
        for group in self.groups:
            members = [m for m in group.members if m.image.path not in gone]
            if len(members) == len(group.members):
                continue
            now[id(group)] = None
            if len(members) > 1:
                if not any(m.keeper for m in members):
                    members[0].keeper = True  # members come in keeper order (grouping.keeper_order)
                now[id(group)] = Group(group.kind, members)
                self._found_at[id(now[id(group)])] = self._found_at.get(id(group), len(self._found_at))
        self.groups = [left for g in self.groups if (left := now.get(id(g), g)) is not None]
        # the order stands: no group moves, those that lost files stay where they were or go
        self.shown = [left for g in self.shown if (left := now.get(id(g), g)) is not None and self._shown_here(left)]
        self._follow(cursor)
        return True

    def drop(self, group: Group) -> None:
        """A group the user has dealt with (merged, or "not duplicates"): gone from view at once."""
        cursor = self.place()
        self.groups = [g for g in self.groups if g is not group]
        self.shown = [g for g in self.shown if g is not group]
        self._follow(cursor)

    def put_back(self, groups: list[Group]) -> bool:
        """Groups an undone action had taken away, back in view (the cursor stays on its photo). False: none."""
        here = {Place.of(g) for g in self.groups}  # a regroup may have brought it back already
        back = [g for g in groups if Place.of(g) not in here]
        if not back:
            return False
        cursor = self.place()
        self.groups += back
        for group in back:  # into their sorted places: sorting 12,000 groups again took most of an undo
            if self._shown_here(group):
                bisect.insort(self.shown, group, key=self._sort_key)
        self.row = self._row_of(cursor, self.row)
        self.member = self._member_of(cursor)
        return True

    # what the user asks ---------------------------------------------------------
    def move_to(self, row: int, member: int | None = None) -> None:
        self.row, self.member = row, member

    def scrolled_to(self, top: int, member: int | None = None) -> None:
        self.top, self.top_member = top, member

    def set_filter(self, kind: Kind | None, folder: str | None, picture_format: str | None = None) -> None:
        """Only the groups of this kind, with a photo in this folder (or below), with a photo of this format."""
        self.kind, self.folder, self.picture_format = kind, folder, picture_format
        self._shown_anew()

    def set_sort(self, sort: str) -> None:
        self.sort = sort
        self._shown_anew()

    def _shown_anew(self) -> None:
        """Filtered and sorted again: rows move anywhere, the cursor's group is looked for by content."""
        cursor = self.place()
        self._filter()
        self.row = self._row_of(cursor, self.row)
        self.member = self._member_of(cursor)
        self.top, self.top_member = min(self.top, max(0, len(self.shown) - 1)), None

    def choose_keeper(self) -> tuple[Group, GroupMember] | None:
        """"Keep this one" on the member under the cursor; the group and member, for the engine to store."""
        group, member = self.current_group(), self.current_member(keeper_on_group_row=False)
        if group is None or member is None:
            return None
        self._choices += 1  # a count that only grows: choosing a photo again makes it the newest choice
        self._chosen[member.image.path] = self._choices
        self._keep_chosen(group)
        return group, member

    def _keep_chosen(self, group: Group) -> None:
        """The photo chosen last with K heads its group. The engine stores K and does the same in every
        regroup (grouping.keeper_order), but a regroup asked before a K was stored must not undo it."""
        chosen = [m for m in group.members if m.image.path in self._chosen]
        if chosen:
            newest = max(chosen, key=lambda m: self._chosen[m.image.path])
            for m in group.members:
                m.keeper = m is newest

    # what the view reads ---------------------------------------------------------
    def current_group(self) -> Group | None:
        return self.shown[self.row] if 0 <= self.row < len(self.shown) else None

    def current_member(self, keeper_on_group_row: bool = True) -> GroupMember | None:
        """The photo under the cursor; on a group's row, its keeper (or None, if not `keeper_on_group_row`)."""
        group = self.current_group()
        if group is None:
            return None
        if self.member is None:
            return group.keeper if keeper_on_group_row else None
        return group.members[self.member] if self.member < len(group.members) else None

    def place(self) -> Place | None:
        group = self.current_group()
        if group is None:
            return None
        return Place.of(group, None if self.member is None else self.current_member())

    def summary(self) -> str:
        if not self.shown:
            return "No duplicates found"
        groups = len(self.shown)
        clips = [g.keeper.image.is_clip for g in self.shown]  # clips group only with clips
        going = [(_could_go([g for g, clip in zip(self.shown, clips) if not clip]), "photo"),
                 (_could_go([g for g, clip in zip(self.shown, clips) if clip]), "clip")]
        said = ", ".join(f"{count} {noun}{'s' * (count != 1)}" for count, noun in going if count) or "0 photos"
        return f"{groups} group{'s' * (groups != 1)} · {said} could go"

    # inside -----------------------------------------------------------------------
    def _shown_here(self, group: Group) -> bool:
        if self.kind is not None and group.kind != self.kind:
            return False
        if self.picture_format is not None and not any(f.format == self.picture_format
                                                       for m in group.members for f in m.files):
            return False
        inside = None if self.folder is None else self.folder.rstrip(os.sep) + os.sep
        return inside is None or any(path.startswith(inside) for path in group.paths)

    def _filter(self) -> None:
        self.shown = sorted((g for g in self.groups if self._shown_here(g)), key=self._sort_key)

    def _sort_key(self, group: Group) -> tuple:
        return SORTS[self.sort](group), self._found_at.get(id(group), len(self._found_at))

    def _place_of_row(self, row: int, member: int | None = None) -> Place | None:
        if not 0 <= row < len(self.shown):
            return None
        members = self.shown[row].members
        return Place.of(self.shown[row], members[member] if member is not None and member < len(members) else None)

    def _row_of(self, place: Place | None, fallback: int) -> int:
        """The row of the group most like `place`: with its member's file if it had one, else the same kind
        and most contents in common; none like it: the same row number, within the list."""
        last = max(0, len(self.shown) - 1)
        if place is None:
            return min(fallback, last)
        # most often the very group is where it was, or a few rows off (groups put back or gone above it)
        for r in range(max(0, fallback - 3), min(len(self.shown), fallback + 4)):
            group = self.shown[r]
            if group.kind == place.kind and group.contents == place.contents and \
                    (place.path is None or place.path in group.paths):
                return r
        candidates = range(len(self.shown))
        if place.path is not None:
            with_file = [r for r in candidates if place.path in self.shown[r].paths]
            candidates = with_file or candidates
        best = max(candidates, key=lambda r: (place.likeness(self.shown[r]), -abs(r - fallback)), default=None)
        if best is None or place.likeness(self.shown[best])[1] == 0:
            return min(fallback, last)
        return best

    def _member_of(self, place: Place | None) -> int | None:
        return self._member_in(self.row, place)

    def _member_in(self, row: int, place: Place | None) -> int | None:
        """The member of the group at `row` with the file of `place`, if it has it."""
        if place is None or place.path is None or not 0 <= row < len(self.shown):
            return None
        return next((n for n, m in enumerate(self.shown[row].members) if m.image.path == place.path), None)

    def _follow(self, cursor: Place | None) -> None:
        """After rows went: the cursor's group if it is still shown, else the same row number (the next group)."""
        row = self.row
        # rows only went, in order: its group is on its row, or one up (a group above it went), or gone
        # (a group that lost files is there too, with fewer contents: the likest one, if it shares any).
        # Not _row_of's search of every row: that cost 40 ms of each M at 12,000 groups
        nearby = [r for r in (row, row - 1) if 0 <= r < len(self.shown)]
        likeness = {r: cursor.likeness(self.shown[r]) for r in nearby} if cursor is not None else {}
        best = max(likeness, key=likeness.get, default=None)
        still = best if best is not None and likeness[best][0] and likeness[best][1] > 0 else None
        self.row = still if still is not None else min(row, max(0, len(self.shown) - 1))
        self.member = self._member_of(cursor) if still is not None else None
        self.top, self.top_member = min(self.top, max(0, len(self.shown) - 1)), None
