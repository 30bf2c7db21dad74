"""Run by test_fault_injection.py in a subprocess: a merge (or an undo) that SIGKILLs itself at a chosen point.

    python crash_child.py LIBRARY merge|undo before|after|store N

before/after N: right before, or right after, the N-th file move (no-replace rename) (after: the file has moved, the journal
does not know yet); store: when the library's database is told which files went to the trash.
"""
import os
import signal
import sys

from simgui.core.files import moves
from simgui.core.files.actions import FileActions
from simgui.core.matching.grouping import Group, GroupMember
from simgui.core.library import Library
from simgui.core.storage.store import LibraryStore

library_dir, phase, point, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


real_rename, renames = moves.rename_no_replace, 0


def rename(source, target, *args, **kwargs):
    global renames
    renames += 1
    if point == "before" and renames == n:
        die()
    real_rename(source, target, *args, **kwargs)
    if point == "after" and renames == n:
        die()


moves.rename_no_replace = rename
if point == "store":
    for method in ("delete_images", "save_images"):  # library.db following the journal
        setattr(LibraryStore, method, lambda *args: die())

library = Library(library_dir)
actions = FileActions(library)
if phase == "merge":
    images = library.store.images("error IS NULL")
    actions.merge_group(Group("near", [GroupMember(image, 1.0, keeper=(i == 0)) for i, image in enumerate(images)]))
else:
    actions.undo()
actions.close()
library.close()
