"""Delete, merge and undo: files go to a trash inside their own root (trash_folder.py), through the journal.

An action checks every file it involves first, the keepers included, and
moves nothing unless all are exactly what the user was shown: still in a root,
not a link, same size, time and content as indexed, and no file to go is the
keeper itself seen through another path (same device and inode: a bind mount,
an alias root). Moves never replace a file (moves.py). The journal records
each move before it happens, and the library row it had, so undo puts rows
back as they were without reading photos or waiting for an indexer.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import platformdirs
from send2trash import send2trash
from send2trash.exceptions import TrashPermissionError

from simgui.core.storage.config import APP_NAME
from simgui.core.media.decode import Captured, DecodeError, file_content_hash
from simgui.core.matching.grouping import Group
from simgui.core.matching.rule import Kind
from simgui.core.files.disposal import (FOLDER_KIND, TO_TRASH, Disposal, destination_problem, folder_place,
                                        hard_link_problem, moved_aside_problem, place_problem)
from simgui.core.files.journal import JOURNAL_FILE, ActionRecord, JournalError, Move, MoveJournal
from simgui.core.files.keeper_rewrite import finish_interrupted_rewrites, rewrite_keeper
from simgui.core.media.metadata import enriched_keeper
from simgui.core.storage.lock import ACTIONS_LOCK_FILE, waiting_lock
from simgui.core.files.moves import move_file
from simgui.core.storage.pathtext import readable, within
from simgui.core.storage.protection import protected_folder_of
from simgui.core.files.sidecars import sidecars_of
from simgui.core.media.formats import LIVE_PHOTO_MOTION, WRITABLE_FORMATS
from simgui.core.matching.stacks import ShotsByFolder
from simgui.core.storage.store import ImageRecord, LibraryStore, NewImage
from simgui.core.files.trash_folder import (TRASH_FOLDER, inside_trash, make_trash_place,
                                      remove_empty_folders, trash_problem)

# how long an action waits for another simgui process's action on the same library (a 10,000-file merge)
ACTION_WAIT_SECONDS = 300
SYSTEM_TRASH_WAIT_SECONDS = 60
__all__ = ["TRASH_FOLDER", "JOURNAL_FILE", "FileActions", "MergePlan", "MergePreview", "ActionOutcome", "JournalError",
           "Disposal", "TO_TRASH"]
log = logging.getLogger(__name__)


@dataclass
class MergePlan:
    """Keep `keeper`, trash `others`."""
    keeper: ImageRecord
    others: list[ImageRecord]

    @classmethod
    def of_group(cls, group: Group, protected: list[str] = ()) -> "MergePlan":
        """Keep the keeper, trash the other members (the other files of their shots go with them). In an
        `exact` group a member that brings other files of its shot stays: only its photo is an identical copy.
        A member in a protected folder is never marked (a bulk merge must not be refused for it)."""
        keeper = group.keeper.image
        others = [m for m in group.members if m.image.path != keeper.path
                  and protected_folder_of(m.image.path, list(protected)) is None]
        return cls(keeper, [m.image for m in others if group.kind is not Kind.EXACT or not m.stacked])


@dataclass
class MergePreview:
    """What a merge would move, looked at just now: every file (photos, the other files of their shots, their
    sidecars) with its size; or why it would move nothing; and what it leaves alone."""
    files: dict[str, int] = field(default_factory=dict)  # path -> bytes, in the order they would move
    refused: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class ActionOutcome:
    action_id: int | None
    moved: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # path -> why it was left alone
    enriched: list[str] = field(default_factory=list)  # what a merge's keeper gained: "capture date", ...
    notes: list[str] = field(default_factory=list)  # what went wrong after the files moved (the action stands)


def _one_mover(method):
    """Runs the method holding the library's actions lock: one process moves its files at a time."""
    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with waiting_lock(self.library.folder / ACTIONS_LOCK_FILE, ACTION_WAIT_SECONDS) as held:
            if not held:
                raise JournalError(f"another simgui process has been moving files in this library for "
                                   f"{ACTION_WAIT_SECONDS} s; nothing was moved: try again when it is done")
            return method(self, *args, **kwargs)
    return locked


class ActingLibrary(Protocol):
    """What file actions use of a library: its rows and roots, and the engine's side of an action (what a
    merge teaches, a keeper's rewritten bytes, vectors nobody holds any more)."""
    folder: Path
    store: LibraryStore

    def roots(self) -> list[str]: ...

    def protected_folders(self) -> list[str]: ...

    def decide(self, kind: str, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]: ...

    def take_back(self, kind: str, pairs: list[tuple[str, str]]) -> None: ...

    def note_metadata_rewrite(self, image: ImageRecord, new_hash: str, captured: Captured) -> None: ...

    def drop_orphan_vectors(self) -> None: ...


class FileActions:
    def __init__(self, library: ActingLibrary):
        self.library = library
        self.journal = MoveJournal(library.folder / JOURNAL_FILE)
        self._recover()

    @_one_mover
    def _recover(self) -> None:
        """A crash mid-action is settled before anything else happens: the files, then library.db. Under the
        lock: another process's action in flight is not a crash."""
        self.journal.recover()
        finish_interrupted_rewrites(self.journal)
        self._finish_interrupted_links()
        self._sync_store(self.journal.unsynced_actions())

    def _finish_interrupted_links(self) -> None:
        """A crash between a copy's move to the trash and its hard link: the link is made now, if the keeper
        still holds the copy's very bytes and nothing took the copy's name; else the copy waits in the trash
        for an undo, as a trashed one does."""
        for move in self.journal.unfinished_links():
            if not os.path.lexists(move.source) and self._root_of(move.source) is not None:
                try:
                    if file_content_hash(move.link_to) == move.replaced_by:
                        os.link(move.link_to, move.source, follow_symlinks=False)
                except (DecodeError, OSError) as exc:  # the keeper went or changed, the name was taken: no link
                    log.info("no hard link made for %s after the crash: %s", move.source, exc)
            self.journal.link_settled(move.action_id, move.source)

    def close(self) -> None:
        self.journal.close()

    def history(self, limit: int | None = 50) -> list[ActionRecord]:
        return self.journal.actions(limit)

    # delete and merge ----------------------------------------------------------
    @_one_mover
    def delete(self, images: list[ImageRecord], label: str | None = None) -> ActionOutcome:
        label = label or f"delete {len(images)} photo{'s' * (len(images) != 1)}"
        return self._send_all("delete", label, images, [], ShotsByFolder(self.library.store))

    @_one_mover
    def merge(self, plans: list[MergePlan], label: str | None = None, disposal: Disposal = TO_TRASH) -> ActionOutcome:
        """Keeps each plan's keeper and lets its others go where `disposal` says (the trash by default), as one
        action: one undo takes it all back."""
        if label is None:
            label = (f"merge into {os.path.basename(plans[0].keeper.path)}" if len(plans) == 1
                     else f"merge {len(plans)} groups")
        shots = ShotsByFolder(self.library.store)
        outcome = self._send_all(disposal.action_kind, label + disposal.in_label(), [i for p in plans for i in p.others],
                                 [p.keeper for p in plans], shots, disposal, _keepers_of(plans))
        moved = set(outcome.moved)
        for plan in plans:
            # identical copies have nothing to add; copies moved to a folder keep their date and GPS there (and a
            # keeper's original must not go to a trash that an action of that kind does not empty)
            if any(i.path in moved for i in plan.others) and disposal == TO_TRASH:
                self._enrich_keeper(outcome, plan.keeper, {i.path for i in plan.others}, shots)
        pairs = [(p.keeper.content_hash, i.content_hash) for p in plans for i in p.others if i.path in moved]
        if pairs:  # the user's word that these are one photo: simgui learns from it, until an undo
            self.journal.set_taught(outcome.action_id, "same_photo", self.library.decide("same_photo", pairs))
        return outcome

    @_one_mover
    def not_duplicates(self, pairs: list[tuple[str, str]], label: str) -> ActionOutcome:
        """The user's word that these contents are not one photo: remembered (grouping honours it, the learner
        learns from it) as an action of the journal, so that an undo takes it back like a merge."""
        action_id = self.journal.start_action("not duplicates", label)
        self.journal.set_taught(action_id, "not_duplicate", self.library.decide("not_duplicate", pairs))
        self._sync_store([action_id])  # no file moved: library.db is in step already
        return ActionOutcome(action_id)

    def merge_group(self, group: Group) -> ActionOutcome:
        return self.merge([MergePlan.of_group(group)])

    # the same, for files named by path (simgui-cli, the HTTP API) ---------------------------------
    def delete_paths(self, paths: list[str]) -> ActionOutcome:
        rows, refused = self._photos_named(paths)
        return ActionOutcome(None, refused=refused) if refused else self.delete(rows)

    def merge_paths(self, keeper: str, paths: list[str], disposal: Disposal = TO_TRASH) -> ActionOutcome:
        rows, refused = self._photos_named([keeper, *paths])
        if not refused and rows[0].path in {r.path for r in rows[1:]}:
            refused[rows[0].path] = "named as the file to keep and as a file to let go"
        if not refused:
            refused = {row.path: problem for row in rows[1:] if (problem := self._no_copy_of(rows[0], row))}
        if refused:
            return ActionOutcome(None, refused=refused)
        return self.merge([MergePlan(rows[0], rows[1:])], disposal=disposal)

    def _no_copy_of(self, keeper: ImageRecord, other: ImageRecord) -> str | None:
        """Why `other`, named by path, may not go as a copy of the keeper: compare calls them different photos
        (a wrong path in a script must not send a photo to the trash with the copies); None if it may."""
        if other.content_hash == keeper.content_hash:
            return None
        try:
            found = self.library.compare(keeper.path, other.path)
        except DecodeError as exc:
            return f"could not be compared with the file to keep: {exc}"
        if found.verdict is not Kind.DIFFERENT:
            return None
        return (f"a different photo from {readable(os.path.basename(keeper.path))} (compare: similarity "
                f"{found.score:.2f}); a merge lets only copies go: delete it if it should go")

    def _photos_named(self, paths: list[str]) -> tuple[list[ImageRecord], dict[str, str]]:
        """The library's rows for these paths, and why any path has none."""
        rows, refused = [], {}
        store = self.library.store
        for given in paths:
            path = os.path.abspath(given)
            # roots are stored with their links resolved: so are the folders of the photos in them
            record = store.image_by_path(path) or store.image_by_path(
                os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path)))
            if record is None or record.error:
                refused[path] = "not a photo of this library (index its folder first)"
            else:
                rows.append(record)
        return rows, refused

    def preview_merge(self, plans: list[MergePlan], disposal: Disposal = TO_TRASH) -> MergePreview:
        """What merge(plans, disposal=...) would move if asked now, moving nothing: the bulk merge's confirmation
        shows it. merge() checks every file again when it runs (a file changed since is refused, nothing moves)."""
        images, refused, kept = self._vetted([i for p in plans for i in p.others], [p.keeper for p in plans],
                                             ShotsByFolder(self.library.store), disposal, _keepers_of(plans))
        if refused:
            return MergePreview(refused=refused, notes=kept)
        going = {i.path for i in images}
        files = {}
        for image in images:
            for path in [image.path, *self._sidecars_going(image, going, disposal)]:
                try:
                    files[path] = os.lstat(path).st_size
                except OSError as exc:  # gone this very moment: merge() will say so too
                    refused[path] = f"cannot be looked at: {exc.strerror}"
        return MergePreview(files, refused, kept)

    def _vetted(self, images: list[ImageRecord], keepers: list[ImageRecord], shots: ShotsByFolder,
                disposal: Disposal = TO_TRASH, keeper_of: dict[str, ImageRecord] | None = None,
                checked: dict[str, tuple[int, int, int, int]] | None = None
                ) -> tuple[list[ImageRecord], dict[str, str], list[str]]:
        """The files an action would move (the other files of their shots added), why any must not, and what it
        leaves alone: the checks every action and its preview make. A copy that becomes a hard link keeps its
        name, so its shot and sidecars stay whole where they are. `checked` gets each file as its check saw it."""
        if disposal.folder:
            problem = destination_problem(disposal.folder, self.library.roots(), str(self.library.folder))
            if problem:
                return [], {disposal.folder: problem}, []
        if disposal.hard_links:
            return images, self._refusals(images, keepers, disposal, keeper_of or {}, checked), []
        images, refused, kept = self._with_their_shots(images, keepers, shots)
        return images, refused or self._refusals(images, keepers, disposal, checked=checked), kept

    def _send_all(self, kind: str, label: str, images: list[ImageRecord], keepers: list[ImageRecord],
                  shots: ShotsByFolder, disposal: Disposal = TO_TRASH,
                  keeper_of: dict[str, ImageRecord] | None = None) -> ActionOutcome:
        checked: dict[str, tuple[int, int, int, int]] = {}
        images, refused, kept = self._vetted(images, keepers, shots, disposal, keeper_of, checked)
        if refused:  # all or nothing: a half-done merge is worse than none
            return ActionOutcome(None, refused=refused)
        if not images:
            return ActionOutcome(None, notes=kept)
        action_id = self.journal.start_action(kind, label)
        outcome = ActionOutcome(action_id, notes=kept)
        going = {i.path for i in images}
        for n, image in enumerate(images):
            try:
                problem = self._send(action_id, image, going, outcome, disposal, (keeper_of or {}).get(image.path),
                                     checked.get(image.path))
            except JournalError as exc:  # a full disk: no move without its journal record
                for rest in images[n:]:
                    outcome.refused[rest.path] = f"not moved: {exc} What moved before it is in the trash, and undo brings it back."
                break
            if problem:
                outcome.refused[image.path] = problem
        self._sync_store([action_id], outcome)
        return outcome

    @staticmethod
    def _with_their_shots(images: list[ImageRecord], keepers: list[ImageRecord], shots: ShotsByFolder
                          ) -> tuple[list[ImageRecord], dict[str, str], list[str]]:
        """The images and the other files of their shots (stacks.py: a RAW and its JPEG go together); why any
        cannot go (the other file of its shot is one to keep); and what is left alone, said as notes: an
        identical copy of a file kept (a merge of exact copies) that brings more than its bytes (its shot's
        RAW, a Live Photo's motion) is no copy whole."""
        kept_paths, kept_contents = {k.path for k in keepers}, {k.content_hash for k in keepers}
        going = {image.path for image in images}
        found, refused, left = [], {}, []
        for image in images:
            partners = [f for f in shots.stack_of(image.path) if f.path != image.path]
            more = [] if image.content_hash not in kept_contents else [os.path.basename(f.path) for f in partners] + [
                os.path.basename(p) for p in sidecars_of(image.path, going) if p.lower().endswith(LIVE_PHOTO_MOTION)]
            if more:
                left.append(f"{os.path.basename(image.path)} kept: an identical copy is kept, but "
                            f"{', '.join(more)} beside it {'is' if len(more) == 1 else 'are'} no copy")
                continue
            found.append(image)
            for partner in partners:
                if partner.path in kept_paths:
                    refused[image.path] = (f"one shot with {os.path.basename(partner.path)}, the file to keep "
                                           f"(RAW+JPEG): the two go or stay together; nothing was moved")
                elif partner.path not in going:
                    going.add(partner.path)
                    found.append(partner)
        return found, refused, left

    def _send(self, action_id: int, image: ImageRecord, going: set[str], outcome: ActionOutcome,
              disposal: Disposal, keeper: ImageRecord | None, checked: tuple[int, int, int, int] | None) -> str | None:
        """Moves a photo, then its sidecars (sidecars.py), each through the journal: undo brings all back. A
        hard link to the keeper then takes the photo's name (its sidecars stay: the name still holds the photo).
        `checked`: the photo's file as its check saw it (device, inode, size, mtime)."""
        sidecars = self._sidecars_going(image, going, disposal)  # before the photo leaves: whether its stem stays
        if disposal.folder:
            def place(path: str) -> Path:
                return folder_place(disposal.folder, self._root_of(path), path)
        else:
            def place(path: str) -> Path:
                return make_trash_place(self._root_of(path), action_id, path)
        if disposal.hard_links:
            return self._swap_for_link(action_id, image, keeper, place, outcome, checked)
        problem = self._journaled_move(action_id, image.path, json.dumps(asdict(image)), place, checked=checked)
        if problem:
            return problem
        outcome.moved.append(image.path)
        for sidecar in sidecars:
            problem = self._journaled_move(action_id, sidecar, None, place)
            if problem:  # the photo went: an undo brings it back to its sidecar
                outcome.notes.append(f"{os.path.basename(sidecar)} stays beside where its photo was: {problem}")
            else:
                outcome.moved.append(sidecar)  # every file that moves is said
        return None

    def _swap_for_link(self, action_id: int, image: ImageRecord, keeper: ImageRecord, place: Callable[[str], Path],
                       outcome: ActionOutcome, checked: tuple[int, int, int, int] | None) -> str | None:
        try:
            folder = os.open(os.path.realpath(os.path.dirname(image.path)), os.O_RDONLY | os.O_DIRECTORY)
        except OSError as exc:
            return f"cannot open its folder: {exc.strerror}"
        try:
            problem = self._journaled_move(action_id, image.path, json.dumps(asdict(image)), place, image.content_hash,
                                           keeper.path, checked)
            if problem:
                return problem
            outcome.moved.append(image.path)
            self._link_in_place(image, keeper, folder, outcome)
            self.journal.link_settled(action_id, image.path)
        finally:
            os.close(folder)
        return None

    @staticmethod
    def _sidecars_going(image: ImageRecord, going: set[str], disposal: Disposal) -> list[str]:
        return [] if disposal.hard_links else sidecars_of(image.path, going)

    def _journaled_move(self, action_id: int, path: str, record: str | None, place: Callable[[str], Path],
                        replaced_by: str | None = None, link_to: str | None = None,
                        checked: tuple[int, int, int, int] | None = None) -> str | None:
        """`replaced_by`: the content of the file simgui puts at `path` once it has moved (a hard link to the
        keeper, `link_to`), journaled first, so that an undo knows that file for its own and takes it away, and
        a start after a crash makes the link that the crash kept from being made. `checked`: the file as its
        check saw it: the checks of a whole action come first, and hashing a few clips takes seconds, in which
        another file could take this one's name."""
        if checked is not None and _identity(path) != checked:
            return "the file changed while the action ran (another file took its name?): left where it is"
        try:
            target = place(path)
        except OSError as exc:
            return f"could not make its place: {exc.strerror or exc}"
        move_id = self.journal.plan(action_id, path, str(target), record, replaced_by, link_to)
        try:
            move_file(path, str(target))
        except OSError as exc:
            self.journal.set_state(move_id, "cancelled")
            return f"could not move: {exc.strerror or exc}"
        self.journal.set_state(move_id, "moved")
        return None

    def _link_in_place(self, image: ImageRecord, keeper: ImageRecord, folder: int, outcome: ActionOutcome) -> None:
        """A second name of the keeper's file where the copy was (which is in the trash now). os.link never
        replaces a file; the link is checked to show the copy's very bytes (the keeper could have been swapped
        since its check), else it goes again, and the copy waits in the trash for an undo. `folder`: the copy's
        folder, opened before the copy moved, so a folder swapped for a link since cannot lead the link elsewhere."""
        name = os.path.basename(image.path)
        try:
            os.link(keeper.path, name, dst_dir_fd=folder, follow_symlinks=False)
        except OSError as exc:
            outcome.notes.append(f"{name} is in simgui's trash: no hard link could take its place "
                                 f"({exc.strerror or exc}); undo brings it back")
            return
        try:
            same = file_content_hash(image.path) == image.content_hash
        except DecodeError:
            same = False
        if not same:
            os.unlink(name, dir_fd=folder)  # the name simgui just made, never the user's file
            outcome.notes.append(f"{name} is in simgui's trash: the file to keep changed just now, so no hard link "
                                 f"took its place; undo brings it back")

    def _enrich_keeper(self, outcome: ActionOutcome, keeper: ImageRecord, its_copies: set[str],
                       shots: ShotsByFolder) -> None:
        """Gives the keeper the capture date and GPS it lacks from the photos merged into it. The copies have
        moved already: whatever goes wrong here is said as a note, and the merge stands."""
        if keeper.format not in WRITABLE_FORMATS:
            return  # nothing to write into (a clip, a PNG): not even read again
        if self._check(keeper):
            return  # changed since the check: leave it as it is
        if shots.stack_of(keeper.path):
            return  # one shot with a RAW: a date of its own would part it from its RAW (stacks.py)
        # its own copies only: a bulk merge moves many groups' copies in one action
        donors = [m.target for m in self.journal.moves(outcome.action_id, states=("moved",)) if m.source in its_copies]
        folder = protected_folder_of(keeper.path, self.library.protected_folders())
        try:
            if folder is not None:  # rewriting it would send its original bytes to the trash
                if enriched_keeper(keeper.path, donors) is not None:  # said only where a date or place was left out
                    outcome.notes.append(f"{os.path.basename(keeper.path)} kept as it was: it is in the protected "
                                         f"folder {folder}, whose files simgui never changes")
                return
            rewritten = rewrite_keeper(self.journal, outcome.action_id, keeper, donors, lambda: make_trash_place(
                self._root_of(keeper.path), outcome.action_id, keeper.path))
        except Exception as exc:  # odd EXIF (struct.error, TypeError...), a long name, a full disk: said, not lost
            log.info("keeper %s not enriched: %r", keeper.path, exc)  # the user reads it in the outcome's notes
            outcome.notes.append(f"{os.path.basename(keeper.path)} kept as it was: its date/GPS could not be added "
                                 f"({exc.strerror if isinstance(exc, OSError) and exc.strerror else exc})")
            return
        if rewritten is None:
            return
        with self.library.store.transaction():
            self.library.store.delete_images([keeper.id])  # its vector stays for an undo, like the others'
        self.library.note_metadata_rewrite(keeper, rewritten.new_hash, rewritten.captured)
        outcome.enriched += [what for what in rewritten.copied if what not in outcome.enriched]

    def _refusals(self, images: list[ImageRecord], keepers: list[ImageRecord], disposal: Disposal = TO_TRASH,
                  keeper_of: dict[str, ImageRecord] | None = None,
                  checked: dict[str, tuple[int, int, int, int]] | None = None) -> dict[str, str]:
        """Why each file of an action must not go ahead (keepers included); empty when all may. `checked` gets
        each file that may go as its check saw it (device, inode, size, mtime)."""
        refused: dict[str, str] = {}
        seen: dict[tuple[int, int], str] = {}
        for keeper in keepers:
            problem, st = self._inspect(keeper)
            if problem:
                refused[keeper.path] = f"the file to keep: {problem}; nothing was moved"
            else:
                seen[(st.st_dev, st.st_ino)] = f"the file to keep, {keeper.path}"
        protected, roots = self.library.protected_folders(), self.library.roots()
        for image in images:
            folder = protected_folder_of(image.path, protected)
            if folder is not None:
                refused[image.path] = f"in the protected folder {folder}: simgui never moves its files"
                continue
            problem, st = self._inspect(image)
            if problem is None and (st.st_dev, st.st_ino) in seen:
                problem = f"the same file as {seen[(st.st_dev, st.st_ino)]}, seen through another path"
            if problem is None and disposal.hard_links:
                problem = self._link_refusal(image, st, keeper_of[image.path], protected)
            if problem is None and disposal.folder:
                problem = place_problem(disposal.folder, self._root_of(image.path), image.path, roots)
            elif problem is None:
                problem = trash_problem(self._root_of(image.path))
            if problem:
                refused[image.path] = problem
            else:
                seen[(st.st_dev, st.st_ino)] = image.path
                if checked is not None:
                    checked[image.path] = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        return refused

    def _link_refusal(self, image: ImageRecord, st: os.stat_result, keeper: ImageRecord,
                      protected: list[str]) -> str | None:
        if image.content_hash != keeper.content_hash:
            return "not an identical copy of the file to keep: only identical copies become hard links"
        try:
            keeper_st = os.stat(keeper.path)
        except OSError as exc:
            return f"the file to keep cannot be looked at: {exc.strerror}"
        folder = self._protected_name_of(keeper, keeper_st, protected)
        if folder is not None:  # one file under two names: an edit through the copy's name would change it
            return (f"the file to keep is in the protected folder {folder}: a hard link would let an edit of this "
                    f"copy change it; move the copy to the trash or a folder instead")
        return hard_link_problem(st, keeper_st)

    def _protected_name_of(self, keeper: ImageRecord, keeper_st: os.stat_result, protected: list[str]) -> str | None:
        """The protected folder that holds the keeper's file, under its own path or (a hard link) under another
        path of the library with its bytes; None if none does."""
        folder = protected_folder_of(keeper.path, protected)
        if folder is not None or keeper_st.st_nlink < 2:
            return folder
        for other in self.library.store.images_by_hash([keeper.content_hash]).get(keeper.content_hash, []):
            folder = protected_folder_of(other.path, protected)
            if folder is None:
                continue
            try:
                if os.path.samestat(os.stat(other.path), keeper_st):
                    return folder
            except OSError:  # gone or unreadable: it names no file the link would reach
                continue
        return None

    def _inspect(self, image: ImageRecord) -> tuple[str | None, os.stat_result | None]:
        problem = self._check(image)
        return problem, None if problem else os.stat(image.path)

    # undo -----------------------------------------------------------------------
    @_one_mover
    def undo(self, action_id: int | None = None) -> ActionOutcome:
        """Puts the files of an action back where they were: the newest one whose undo did not get stuck, by
        default. A file that cannot go back (its name taken, its folder gone out of the library) stays in the
        trash; the action says why, and the next undo goes on to older actions."""
        if action_id is None:
            action_id = self.journal.newest_undoable()
            if action_id is None:
                return ActionOutcome(None)
        record = self.journal.actions(action_id=action_id)[0]
        if record.undone:  # said: an undo that did nothing must not pass for one that put files back
            return ActionOutcome(action_id, notes=[f"action {action_id} was undone already: nothing of it is left "
                                                   f"to put back"])
        outcome = ActionOutcome(action_id)
        kind = record.kind
        self.journal.set_synced([action_id], False)
        for move in reversed(self.journal.moves(action_id, states=("moved",))):
            problem = self._restore(move, kind)
            if problem:
                outcome.refused[move.source] = problem
            else:
                outcome.moved.append(move.source)
        for move in self.journal.moves(action_id, states=("emptied",)):  # said, lest the undo pass for done
            outcome.refused[move.source] = "sent on to the system trash by Empty trash: restore it from there"
        self._sync_store([action_id], outcome)
        problem = "; ".join(f"{os.path.basename(p)}: {why}" for p, why in outcome.refused.items()) or None
        self.journal.finish_undo(action_id, problem)
        taught = self.journal.taught(action_id)
        if problem is None and taught:  # the action is taken back whole: so is what it taught
            self.library.take_back(*taught)
            self.journal.set_taught(action_id, taught[0], [])
        return outcome

    def _restore(self, move: Move, kind: str) -> str | None:
        root = self._root_of(move.source)
        if root is None:
            return ("its folder is no longer one of the library's folders (moved, removed from the library, or "
                    "replaced by a link): add the folder again, then undo this action by its number")
        if not os.path.lexists(move.target):
            return f"it is no longer at {move.target}"
        problem = self._trashed_file_problem(root, move, kind)
        if problem:
            return problem
        if move.replaced_by and os.path.lexists(move.source):
            problem = self._set_aside_rewrite(move)
            if problem:
                return problem
        if os.path.lexists(move.source):
            return "another file now has this name; the photo stays in the trash"
        self.journal.set_state(move.id, "restoring")
        try:
            os.makedirs(os.path.dirname(move.source), exist_ok=True)
            move_file(move.target, move.source)
        except OSError as exc:
            self.journal.set_state(move.id, "moved")
            if isinstance(exc, FileExistsError):
                return "another file took this name just now; the photo stays in the trash"
            return f"could not restore: {exc.strerror or exc}"
        self.journal.set_state(move.id, "restored")
        return None

    @staticmethod
    def _trashed_file_problem(root: str, move: Move, kind: str) -> str | None:
        """Why the file at a move's target is not the photo the action put there (a link swapped in, other
        bytes), or None. Only what simgui moved may come back into the library."""
        if os.path.islink(move.target) or not os.path.isfile(move.target):
            return f"{move.target} is no longer the file simgui moved there (a link, or no plain file): left where it is"
        if kind == FOLDER_KIND:
            problem = moved_aside_problem(move.target)
            if problem:
                return problem
        elif not inside_trash(root, move.target):
            return f"{move.target} is no longer inside simgui's own trash folder (a link?): left where it is"
        if not move.record:
            return None  # a journal of an earlier version: it kept no row to compare with
        try:
            if file_content_hash(move.target) != json.loads(move.record)["content_hash"]:
                return f"the file at {move.target} is not the photo that was trashed: left where it is"
        except DecodeError as exc:
            return f"cannot read {move.target}: {exc}"
        return None

    def _set_aside_rewrite(self, move: Move) -> str | None:
        """Before an original comes back: the file simgui put in its place goes. It is simgui's own, byte for
        byte what the merge wrote (a keeper's pixels with the date/GPS added, or a hard link to the keeper: a
        second name, whose removal leaves the keeper), so nothing of the user's goes with it; kept in a trash
        it piled up there, and a long name could not get in at all."""
        try:
            if file_content_hash(move.source) != move.replaced_by:
                return "the file simgui put in its place was edited since; the original stays in the trash"
        except DecodeError as exc:
            return str(exc)
        os.unlink(move.source)
        return None

    # keeping library.db in step with the journal ------------------------------------------------
    def _sync_store(self, action_ids: list[int], outcome: ActionOutcome | None = None) -> None:
        """library.db after the actions' moves: rows of files in the trash go (their vectors stay for an undo),
        rows of restored files come back as the journal recorded them. Idempotent: a start after a crash
        runs it again for every action it did not finish."""
        if not action_ids:
            return
        store = self.library.store
        moves = [m for a in action_ids for m in self.journal.moves(a)]
        going = [row.id for row in (self._trashed_row(m) for m in moves if m.state == "moved" and m.record) if row.id]
        back = [row for row in (self._restored_row(m) for m in moves if m.state == "restored") if row]
        try:
            with store.transaction():  # the vectors stay: the journal lists the contents in the trash
                store.delete_images(going)
                store.save_images(back)
        except sqlite3.Error as exc:  # the files are where the journal says; the next start tries again
            if outcome is None:
                raise
            outcome.notes.append(f"the library's list of photos lags behind ({exc}); simgui catches up at its "
                                 f"next start")
            return
        self.journal.set_synced(action_ids, True)

    def _trashed_row(self, move: Move) -> ImageRecord:
        recorded = ImageRecord(**json.loads(move.record))
        current = self.library.store.image_by_path(move.source)
        # the row goes only if it is still this file's: ids are reused, and the indexer may have seen a new one
        same = current is not None and current.content_hash == recorded.content_hash
        return ImageRecord(**{**asdict(recorded), "id": current.id if same else None})

    def _restored_row(self, move: Move) -> NewImage | None:
        """The row a restored file had, if the file is still the one the journal recorded (else the indexer
        looks at it: its vector is kept, so no model run is needed either way)."""
        if not move.record:
            return None
        row = json.loads(move.record)
        root_id = self._root_id(move.source)
        try:
            st = os.lstat(move.source)
        except OSError:
            return None
        if root_id is None or st.st_size != row["size"] or st.st_mtime_ns != row["mtime_ns"]:
            return None
        del row["id"]
        return NewImage(**{**row, "root_id": root_id})

    # emptying -----------------------------------------------------------------------------------
    def trash_size(self) -> tuple[int, int]:
        """(files, bytes) in simgui's trash, all roots together."""
        sizes = [os.lstat(m.target).st_size for m in self.journal.trash_moves() if os.path.lexists(m.target)]
        return len(sizes), sum(sizes)

    @_one_mover
    def empty_trash(self) -> ActionOutcome:
        """Sends every file in simgui's trash on to the system trash (send2trash): out of the library's way,
        still recoverable from the file manager. Those actions can no longer be undone here."""
        outcome = ActionOutcome(None)
        moves = [m for m in self.journal.trash_moves() if os.path.lexists(m.target)]
        self.journal.set_synced(sorted({m.action_id for m in moves}), False)
        for move in moves:
            root = self._root_of(move.source)
            if root is None or not inside_trash(root, move.target):
                outcome.refused[move.target] = "not inside simgui's own trash folder any more (a link?): left alone"
                continue
            self.journal.set_state(move.id, "emptying")  # a kill in send2trash is settled by recover()
            problem = _to_system_trash(move.target)  # one at a time: a failure leaves the rest as they were
            if problem:
                self.journal.set_state(move.id, "moved")
                outcome.refused[move.target] = problem
                continue
            self.journal.set_state(move.id, "emptied")
            outcome.moved.append(move.source)
        for root in self.library.roots():
            try:
                remove_empty_folders(root)
            except OSError as exc:  # a read-only card: the empty folders stay, nothing else is amiss
                outcome.notes.append(f"the empty trash folders in {root} stay: {exc.strerror or exc}")
        self._sync_store(sorted({m.action_id for m in moves}), outcome)
        self.library.drop_orphan_vectors()
        return outcome

    # where files are ----------------------------------------------------------------------------
    def _root_of(self, path: str) -> str | None:
        real_parent = os.path.realpath(os.path.dirname(path))
        return next((root for root in self.library.roots() if within(real_parent, root)), None)

    def _root_id(self, path: str) -> int | None:
        root = self._root_of(path)
        return next((root_id for root_id, p in self.library.store.roots() if p == root), None)

    def _check(self, image: ImageRecord) -> str | None:
        """Why this file must not be moved, or None when it is exactly what the user was shown."""
        if self._root_of(image.path) is None:
            return "outside the library's folders"
        try:
            st = os.lstat(image.path)
        except OSError:
            return "the file is gone"
        if os.path.islink(image.path):
            return "a symbolic link: simgui never moves links"
        if st.st_size != image.size or st.st_mtime_ns != image.mtime_ns:
            return "the file changed since it was indexed"
        try:
            if file_content_hash(image.path) != image.content_hash:
                return "the file's content changed since it was indexed"
        except DecodeError as exc:
            return str(exc)
        return None


def _identity(path: str) -> tuple[int, int, int, int] | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _keepers_of(plans: list[MergePlan]) -> dict[str, ImageRecord]:
    return {image.path: plan.keeper for plan in plans for image in plan.others}


def _to_system_trash(path: str) -> str | None:
    """Sends one file to the system trash; why not, or None. simgui processes take turns: send2trash picks a
    free name there and then renames onto it, so two of them sending a "photo.jpg" at once would keep one."""
    lock = Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)) / "system-trash.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with waiting_lock(lock, SYSTEM_TRASH_WAIT_SECONDS) as held:
        if not held:
            return "another simgui process kept the system trash busy; try again"
        try:
            send2trash(path)
        except (OSError, TrashPermissionError) as exc:
            return f"could not send to the system trash: {exc}"
    return None
