"""The review session: the engine's job queue, the review on screen, and what each action does to it.

Every face of simgui acts through here or through the same JobQueue: the app binds its widgets to a
ReviewSession, which turns a key into a job and the job's answer into a change of the ReviewState,
applied where it happens (a merge takes its group away, a delete its files) rather than by grouping the
whole library again. A regroup (a new file, the slider, an undo) runs in the background and keeps the
cursor and the scroll. Listeners hear what changed, on the face's own thread.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable

from simgui.core.answers import history_answer
from simgui.core.files.actions import ActionOutcome, MergePlan, MergePreview
from simgui.core.files.disposal import TO_TRASH, Disposal
from simgui.core.matching.grouping import Group
from simgui.core.matching.keep_rules import KeepRules
from simgui.core.jobs import JobContext, JobQueue, queued_watcher
from simgui.core.library import FolderSettings
from simgui.core.files.journal import ActionRecord
from simgui.core.review import Place, ReviewState
from simgui.core.matching.rule import Kind, thresholds_at
from simgui.core.indexing.watch import LibraryWatcher

HISTORY_ITEMS = 15
# the groups of this many recent actions are kept to put back at once on their undo; an older undo shows
# its groups when the regroup that follows every undo is done
TAKEN_KEPT = 50

# what listeners hear
GROUPS = "groups"  # the ReviewState changed: redraw the groups, cursor and scroll
KEEPER = "keeper"  # only the current group's keeper changed: redraw that group
OVERVIEW = "overview"  # folders, counts or history changed
DONE = "done"  # an action ended: `last_report` says how


@dataclass
class Overview:
    folders: list[tuple[str, int, int, bool]] = field(default_factory=list)  # (path, files, clips of them, online)
    stats: dict = field(default_factory=dict)
    history: list[ActionRecord] = field(default_factory=list)


@dataclass
class ActionReport:
    """What the user is told when an action ends."""
    action: str  # merge | delete | not duplicates | undo
    files: list[str]  # the files it moved: to the trash, or back from it
    done: str  # "merge: 2 files moved to simgui's trash"
    left_alone: list[str] = field(default_factory=list)  # "photo.jpg: changed since it was indexed"
    notes: list[str] = field(default_factory=list)


@dataclass
class BulkMerge:
    """Many groups merged as one action, as previewed: the plans that will run, where their copies go, and
    what they would move."""
    groups: list[Group]
    plans: list[MergePlan]
    label: str
    preview: MergePreview
    disposal: Disposal = TO_TRASH

    @property
    def size(self) -> int:
        return sum(self.preview.files.values())


def _overview(ctx: JobContext) -> Overview:
    history = [] if ctx.journal_problem else ctx.actions.history(HISTORY_ITEMS)
    return Overview(ctx.library.folders(), ctx.library.stats(), history)


class ReviewSession:
    def __init__(self, jobs: JobQueue, looseness: int = 50):
        self.jobs = jobs
        self.state = ReviewState()
        self.looseness = looseness
        self.overview = Overview()
        self.last_report: ActionReport | None = None
        self.grouped = False  # groups have arrived at least once
        self._taken: dict[int, list[Group]] = {}  # action id -> the groups it took off the screen, for its undo
        # groups taken off the screen by actions not answered yet: a regroup the engine ran before them
        # (queued earlier) still has them, and must not show them again
        self._pending: dict[int, set[Place]] = {}
        self._asked = 0
        self._listeners: list[Callable[[str], None]] = []

    def subscribe(self, listener: Callable[[str], None]) -> None:
        self._listeners.append(listener)

    def _tell(self, what: str) -> None:
        for listener in self._listeners:
            listener(what)

    # the library anew ---------------------------------------------------------------
    def refresh(self) -> None:
        """Groups, folders and counts anew (from stored evidence: no model, no patch work)."""
        thresholds = thresholds_at(self.looseness)
        self.jobs.submit("groups", lambda ctx: (ctx.library.groups(thresholds, ctx.progress), _overview(ctx)),
                         self._regrouped)

    def add_folder(self, folder: str) -> None:
        """A folder into the library; it shows with the other folders at once, before its photos are read."""
        def add(ctx: JobContext) -> Overview:
            ctx.library.add_roots([folder])
            return _overview(ctx)
        self.jobs.submit("add folder", add, self._overview_arrived)

    def refresh_overview(self) -> None:
        self.jobs.submit("overview", _overview, self._overview_arrived)

    def set_looseness(self, looseness: int) -> None:
        self.looseness = looseness
        self.refresh()

    def _regrouped(self, found: tuple[list[Group], Overview]) -> None:
        groups, overview = found
        dealt = set().union(*self._pending.values())
        if dealt:
            groups = [g for g in groups if Place.of(g) not in dealt]
        self.grouped = True
        self.state.set_groups(groups)
        self._tell(GROUPS)
        self._overview_arrived(overview)

    def _overview_arrived(self, overview: Overview) -> None:
        self.overview = overview
        self._tell(OVERVIEW)

    def watcher(self, on_update: Callable[[], None]) -> LibraryWatcher:
        """A watcher of the library's folders whose updates run as jobs here; `on_update()` runs on the face's
        thread after each one (the app regroups then, keeping the cursor and the scroll)."""
        return queued_watcher(self.jobs, lambda report: on_update())

    def ask_keep_rules(self, then: Callable[[KeepRules], None]) -> None:
        """The library's keep rules, handed to `then` on the face's thread (they are read from the library)."""
        self.jobs.submit("keep rules", lambda ctx: ctx.library.keep_rules(), then)

    def set_keep_rules(self, rules: KeepRules) -> None:
        """New keep rules: saved in the library, then every group's keeper picked again by them."""
        self.jobs.submit("keep rules", lambda ctx: ctx.library.set_keep_rules(rules), lambda _: self.refresh())

    def ask_history(self, then: Callable[[list[tuple[ActionRecord, dict]]], None]) -> None:
        """The recent actions, each with every file it moved and where it is now (answers.history_answer), to
        `then`."""
        def look(ctx: JobContext) -> list[tuple[ActionRecord, dict]]:
            return [(a, history_answer(a, ctx.actions.journal.moves(a.id))) for a in ctx.actions.history(HISTORY_ITEMS)]
        self.jobs.submit("history", look, then)

    def ask_folder_settings(self, then: Callable[[FolderSettings], None]) -> None:
        """The protected folders and what is left out of the library, handed to `then` on the face's thread."""
        self.jobs.submit("folders", lambda ctx: ctx.library.folder_settings(), then)

    def set_folder_settings(self, settings: FolderSettings, then: Callable[[None], None]) -> None:
        """Saves them (a bad pattern fails the job, and the queue says why); `then` runs once they are saved:
        the face scans again, so that left-out photos leave the library."""
        self.jobs.submit("folders", lambda ctx: ctx.library.set_folder_settings(settings.protected, settings.excluded),
                         then)

    # the view -------------------------------------------------------------------------
    def move_to(self, row: int, member: int | None = None) -> None:
        self.state.move_to(row, member)

    def scrolled_to(self, top: int, member: int | None = None) -> None:
        self.state.scrolled_to(top, member)

    def set_filter(self, kind: Kind | None, folder: str | None, picture_format: str | None = None) -> None:
        self.state.set_filter(kind, folder, picture_format)
        self._tell(GROUPS)

    def set_sort(self, sort: str) -> None:
        self.state.set_sort(sort)
        self._tell(GROUPS)

    # actions ----------------------------------------------------------------------------
    def keep_current(self) -> None:
        """K: the photo under the cursor is its group's keeper, now and after every regroup and restart."""
        chosen = self.state.choose_keeper()
        if chosen is None:
            return
        group, member = chosen
        self._tell(KEEPER)
        paths = [m.image.path for m in group.members]
        self.jobs.submit("keep", lambda ctx: ctx.library.choose_keeper(member.image.path, paths))

    def merge_current(self) -> None:
        """M: the group under the cursor is merged into its keeper; the cursor moves on to the next group
        at once, so M, M, M merges three groups in a row."""
        group = self.state.current_group()
        if group is None:
            return
        self.state.drop(group)
        self._tell(GROUPS)
        self._act("merge", lambda ctx: ctx.actions.merge_group(group), taken=[group])

    def preview_bulk(self, groups: list[Group], label: str, then: Callable[["BulkMerge"], None],
                     disposal: Disposal = TO_TRASH) -> None:
        """What merging all these groups would move (to the trash, or as `disposal` says), looked at on disk (a
        job); `then` gets it on the face's thread, to be shown before anything moves. Files in protected folders
        are never among them."""
        groups = list(groups)

        def look(ctx: JobContext) -> BulkMerge:
            protected = ctx.library.protected_folders()
            plans = [plan for plan in (MergePlan.of_group(g, protected) for g in groups) if plan.others]
            preview = ctx.actions.preview_merge(plans, disposal) if plans else MergePreview()
            return BulkMerge(groups, plans, label, preview, disposal)
        self.jobs.submit("preview", look, then)

    def merge_bulk(self, bulk: "BulkMerge") -> None:
        """The previewed merge, as one action of the very plans shown: one undo takes it all back."""
        for group in bulk.groups:
            self.state.drop(group)
        self._tell(GROUPS)
        if bulk.plans:  # else every copy is kept whole with its shot (MergePlan.of_group): nothing to do
            self._act("merge", lambda ctx: ctx.actions.merge(bulk.plans, bulk.label, bulk.disposal),
                      taken=bulk.groups, went=bulk.disposal.said())

    def delete(self, images: list) -> None:
        self._act("delete", lambda ctx: ctx.actions.delete(images))

    def not_duplicates_current(self) -> None:
        """N: the group's photos are not one photo; remembered, and undoable like a merge."""
        group = self.state.current_group()
        if group is None:
            return
        members = [m.image.content_hash for m in group.members]
        pairs = [(a, b) for n, a in enumerate(members) for b in members[n + 1:]]
        label = f"not duplicates: {len(group.members)} photos"
        self.state.drop(group)
        self._tell(GROUPS)
        self._act("not duplicates", lambda ctx: ctx.actions.not_duplicates(pairs, label), taken=[group])

    def undo(self, action_id: int | None = None) -> None:
        """The newest action that can still be put back (or the one named): files and teaching come back.
        The groups it took off the screen come back at once; the groups are then found anew."""
        self._act("undo", lambda ctx: ctx.actions.undo(action_id), regroup=True)

    def _act(self, name: str, job: Callable[[JobContext], ActionOutcome], regroup: bool = False,
             taken: list[Group] = (), went: str = TO_TRASH.said()) -> None:
        self._asked += 1
        asked = self._asked
        if taken:
            self._pending[asked] = {Place.of(g) for g in taken}

        def done(outcome: ActionOutcome) -> None:
            self._pending.pop(asked, None)
            self.last_report = _report(name, outcome, went)
            if taken and outcome.action_id is not None:
                self._taken[outcome.action_id] = list(taken)
                while len(self._taken) > TAKEN_KEPT:  # the oldest: its undo's regroup shows them again
                    del self._taken[next(iter(self._taken))]
            if name == "undo":
                changed = self.state.put_back(self._taken.pop(outcome.action_id, []))
            else:
                changed = self.state.take_out(outcome.moved)
            if changed:
                self._tell(GROUPS)
            self._tell(DONE)
            if regroup or outcome.refused:  # files stayed that the view took away: show them again
                self.refresh()
            else:
                self.refresh_overview()
        # a failed action (the queue tells the user why) may have moved nothing the view took away
        def failed(message: str) -> None:
            self._pending.pop(asked, None)
            self.refresh()
        self.jobs.submit(name, job, done, failed)


def _report(name: str, outcome: ActionOutcome, went: str) -> ActionReport:
    verb = "restored" if name == "undo" else f"moved {went}"
    files = f"{len(outcome.moved)} file{'s' * (len(outcome.moved) != 1)}"
    done = f"{name}: {files} {verb}" if name != "not duplicates" else "not duplicates: remembered"
    if name == "undo" and outcome.action_id is None:
        done = "nothing to undo"
    if outcome.enriched:
        done += f"; the keeper gained its {' and '.join(outcome.enriched)}"
    left_alone = [f"{os.path.basename(p)}: {why}" for p, why in outcome.refused.items()]
    return ActionReport(name, list(outcome.moved), done, left_alone, list(outcome.notes))
