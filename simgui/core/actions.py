"""Delete, merge and undo: files go to a trash inside their own root, through the journal.

The trash is `<root>/.simgui-trash/<action id>/<path inside the root>`: on the
same file system as the photo, so a move is one atomic rename, and the scan
never sees it (dot folders are skipped). Nothing outside the library's roots
is touched, symbolic links are never moved, and a file that changed since the
user saw it (size, mtime or content) is left alone with a message.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from send2trash import send2trash
from send2trash.exceptions import TrashPermissionError

from simgui.core.decode import DecodeError, read_image_bytes
from simgui.core.grouping import Group
from simgui.core.hashes import content_hash
from simgui.core.journal import ActionRecord, MoveJournal
from simgui.core.metadata import enriched_keeper
from simgui.core.moves import move_file
from simgui.core.store import ImageRecord

TRASH_FOLDER = ".simgui-trash"
JOURNAL_FILE = "journal.db"


@dataclass
class ActionOutcome:
    action_id: int | None
    moved: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # path -> why it was left alone
    enriched: list[str] = field(default_factory=list)  # what a merge's keeper gained: "capture date", ...


class FileActions:
    def __init__(self, library):
        self.library = library
        self.journal = MoveJournal(library.folder / JOURNAL_FILE)
        self.journal.recover()  # a crash mid-action is settled before anything else happens

    def close(self) -> None:
        self.journal.close()

    def history(self, limit: int = 50) -> list[ActionRecord]:
        return self.journal.actions(limit)

    def trash(self, images: list[ImageRecord], kind: str = "delete", label: str | None = None) -> ActionOutcome:
        label = label or f"{kind} {len(images)} photo{'s' * (len(images) != 1)}"
        action_id = self.journal.start_action(kind, label)
        outcome = ActionOutcome(action_id)
        for image in images:
            problem = self._check(image)
            if problem:
                outcome.refused[image.path] = problem
                continue
            target = self._trash_place(action_id, image.path)
            move_id = self.journal.plan(action_id, image.path, str(target))
            try:
                move_file(image.path, str(target))
            except OSError as exc:
                self.journal.set_state(move_id, "cancelled")
                outcome.refused[image.path] = f"could not move: {exc.strerror}"
                continue
            self.journal.set_state(move_id, "moved")
            outcome.moved.append(image.path)
        self.library.forget_trashed(outcome.moved)
        return outcome

    def merge(self, group: Group) -> ActionOutcome:
        """Keeps the group's keeper and trashes the rest (identical copies of the keeper included)."""
        keeper = group.keeper.image
        others = [m.image for m in group.members if m.image.path != keeper.path]
        outcome = self.trash(others, kind="merge", label=f"merge into {os.path.basename(keeper.path)}")
        merged = [i.content_hash for i in others if i.path in outcome.moved]
        if outcome.moved and self._check(keeper) is None:
            self._enrich_keeper(outcome, keeper)
        if merged:  # the user's word that these are one photo: simgui learns from it
            self.library.decide("same_photo", [(keeper.content_hash, h) for h in merged])
        return outcome

    def _enrich_keeper(self, outcome: ActionOutcome, keeper: ImageRecord) -> None:
        """Gives the keeper the capture date and GPS position it lacks, from the photos merged into it.

        The keeper's original bytes go to the trash like any other file of the action (so undo brings
        them back), and the rewritten file replaces it in one atomic rename."""
        donors = [m.target for m in self.journal.moves(outcome.action_id, states=("moved",))]
        enriched = enriched_keeper(keeper.path, donors)
        if enriched is None:
            return
        new_hash = content_hash(enriched.data)
        rewritten = Path(keeper.path).with_name(f".simgui-{os.path.basename(keeper.path)}.tmp")  # dot: never scanned
        with open(rewritten, "wb") as f:
            f.write(enriched.data)
            f.flush()
            os.fsync(f.fileno())
        target = self._trash_place(outcome.action_id, keeper.path)
        move_id = self.journal.plan(outcome.action_id, keeper.path, str(target))
        self.journal.set_replaced_by(move_id, new_hash)  # before the rename: undo then knows the new file is ours
        try:
            move_file(keeper.path, str(target))
        except OSError:
            self.journal.set_state(move_id, "cancelled")
            os.unlink(rewritten)
            return
        self.journal.set_state(move_id, "moved")
        os.replace(rewritten, keeper.path)
        with self.library.store.transaction():
            self.library.store.mark_trashed([keeper])  # its vector stays for an undo, like the others'
        self.library.note_metadata_rewrite(keeper, new_hash, enriched.captured_at)
        outcome.enriched = enriched.copied

    def undo(self, action_id: int | None = None) -> ActionOutcome:
        """Puts the files of an action (the latest not yet undone, by default) back where they were."""
        if action_id is None:
            pending = [a for a in self.journal.actions() if not a.undone and a.moved]
            if not pending:
                return ActionOutcome(None)
            action_id = pending[0].id
        outcome = ActionOutcome(action_id)
        for move in reversed(self.journal.moves(action_id, states=("moved",))):
            if move.replaced_by and os.path.lexists(move.source):
                problem = self._set_aside_rewrite(move)
                if problem:
                    outcome.refused[move.source] = problem
                    continue
            if os.path.lexists(move.source):
                outcome.refused[move.source] = "another file now has this name; the photo stays in the trash"
                continue
            self.journal.set_state(move.id, "restoring")
            try:
                os.makedirs(os.path.dirname(move.source), exist_ok=True)
                move_file(move.target, move.source)
            except OSError as exc:
                self.journal.set_state(move.id, "moved")
                outcome.refused[move.source] = f"could not restore: {exc.strerror}"
                continue
            self.journal.set_state(move.id, "restored")
            outcome.moved.append(move.source)
        if not outcome.refused:
            self.journal.mark_undone(action_id)
        with self.library.store.transaction():
            self.library.store.unmark_trashed(outcome.moved)
        self.library.update()  # restored files come back through the index; their vectors were kept
        return outcome

    def trash_size(self) -> tuple[int, int]:
        """(files, bytes) in simgui's trash, all roots together."""
        sizes = [os.lstat(m.target).st_size for m in self.journal.moves(states=("moved",)) if os.path.lexists(m.target)]
        return len(sizes), sum(sizes)

    def empty_trash(self) -> ActionOutcome:
        """Sends every file in simgui's trash on to the system trash (send2trash): out of the library's way,
        still recoverable from the file manager. Those actions can no longer be undone here."""
        outcome = ActionOutcome(None)
        for move in self.journal.moves(states=("moved",)):
            if not os.path.lexists(move.target):
                continue
            try:
                send2trash(move.target)  # one at a time: a failure leaves the rest as they were
            except (OSError, TrashPermissionError) as exc:
                outcome.refused[move.target] = f"could not send to the system trash: {exc}"
                continue
            self.journal.set_state(move.id, "emptied")
            outcome.moved.append(move.source)
        for root in self.library.roots():
            _remove_empty_folders(Path(root) / TRASH_FOLDER)
        with self.library.store.transaction():
            self.library.store.unmark_trashed(outcome.moved)
        self.library.drop_orphan_vectors()
        return outcome

    def _set_aside_rewrite(self, move) -> str | None:
        """Before a keeper's original comes back: its rewritten version (simgui's own file) goes to the trash."""
        try:
            if content_hash(read_image_bytes(move.source)) != move.replaced_by:
                return "the keeper was edited after the merge; its original stays in the trash"
        except DecodeError as exc:
            return str(exc)
        move_file(move.source, str(_free_path(Path(move.target).with_name(f"rewritten {Path(move.target).name}"))))
        return None

    def _trash_place(self, action_id: int, path: str) -> Path:
        """Where a file of this action goes: `<root>/.simgui-trash/<action>/<its path inside the root>`."""
        root = self._root_of(path)
        target = _free_path(Path(root) / TRASH_FOLDER / str(action_id) / os.path.relpath(path, root))
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def _root_of(self, path: str) -> str | None:
        real_parent = os.path.realpath(os.path.dirname(path))
        for root in self.library.roots():
            if real_parent == root or real_parent.startswith(root.rstrip(os.sep) + os.sep):
                return root
        return None

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
            if content_hash(read_image_bytes(image.path)) != image.content_hash:
                return "the file's content changed since it was indexed"
        except DecodeError as exc:
            return str(exc)
        return None


def _remove_empty_folders(top: Path) -> None:
    """Empty folders only, deepest first: rmdir cannot remove anything that still holds a file."""
    if not top.is_dir():
        return
    for folder, _, _ in sorted(os.walk(top), key=lambda entry: -len(entry[0])):
        try:
            os.rmdir(folder)
        except OSError:
            pass  # not empty (a file the user put there, or one send2trash refused)


def _free_path(path: Path) -> Path:
    candidate, n = path, 1
    while os.path.lexists(candidate):
        candidate = path.with_name(f"{path.stem} ({n}){path.suffix}")
        n += 1
    return candidate
