"""How many keys a whole review takes in the app, with the keep rules and the bulk merges.

    python benchmarks/review_keystrokes.py PHOTO_FOLDER [--phone-backup]

Copies PHOTO_FOLDER to a scratch folder (nothing of it is touched), indexes the copy, opens the app
(offscreen) and reviews it from the keyboard as a user with keep rules would: Ctrl+Shift+E, Enter
(every exact group merged, after its list of files), Ctrl+Shift+M, Enter (every near group); then
Ctrl+Z twice, one a bulk merge, to see the whole review come back. Prints the keys pressed, the
groups before and after (similar groups are look-alikes: they are left to the user's eye, not
merged), and whether the undos brought every file back byte for byte.

--phone-backup adds what a real library holds beside its edited copies: a "Phone backup" folder with a
byte-identical copy of every original and an "Exports backup" one of every resized, converted or cropped
export (`*_original.*`, `*_downscale.*`, `*_webp.*`, `*_crop.*`: the accuracy benchmark's names), so most
photos have exact groups beside their near group. On the accuracy benchmark's library (`benchmarks/accuracy.py`
builds it under .bench/accuracy-seedN/library) that makes over 200 groups.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication


def _files(folder: Path) -> dict[str, str]:
    """path -> sha256 of every file outside simgui's trash."""
    found = {}
    for dirpath, dirnames, names in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d != ".simgui-trash"]
        for name in names:
            path = os.path.join(dirpath, name)
            found[path] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return found


def main() -> None:
    source = Path(sys.argv[1])
    scratch = Path(tempfile.mkdtemp(prefix="simgui-review-"))
    photos = scratch / "photos"
    shutil.copytree(source, photos)
    if "--phone-backup" in sys.argv[2:]:
        backup = photos / "Phone backup"
        backup.mkdir()
        for original in sorted(photos.glob("*_original.*")):
            shutil.copy2(original, backup / original.name)
        exports = photos / "Exports backup"
        exports.mkdir()
        for export in sorted([*photos.glob("*_downscale.*"), *photos.glob("*_webp.*"), *photos.glob("*_crop.*")]):
            shutil.copy2(export, exports / export.name)
    from simgui.core.library import Library
    library = Library(scratch / "library")
    library.add_roots([str(photos)])
    library.update()
    library.close()
    before = _files(photos)

    app = QApplication(sys.argv[:1])
    from simgui.gui.main_window import MainWindow
    window = MainWindow(scratch / "library", watch=False)
    window.resize(1366, 768)
    window.show()
    keys: list[str] = []
    kinds = lambda: sorted(g.kind.value for g in window.duplicates.all_groups)  # noqa: E731

    def press(key, modifiers=Qt.NoModifier, widget=None, name=""):
        QTest.keyClick(widget or QApplication.focusWidget() or window, key, modifiers)
        keys.append(name)

    def wait(condition, then, limit=6000, go_on_anyway=False):
        """then() once condition() holds, looked at every 100 ms; after `limit` looks, then() all the same only
        if asked: else the run stops and says so (going on would press the next key before an action ended,
        and the undos would be measured while the merges still ran)."""
        if condition() or (limit == 0 and go_on_anyway):
            then()
        elif limit == 0:
            print("stopped: the app did not get there within 10 minutes", file=sys.stderr)
            app.exit(1)
        else:
            QTimer.singleShot(100, lambda: wait(condition, then, limit - 1, go_on_anyway))

    def bulk(key_name, kind_key):
        def run(then):
            window.activateWindow()  # a dialog just closed: the window takes the keys again
            view = window.duplicates
            view.bulk_dialog = None
            wait(window.isActiveWindow, lambda: (
                press(Qt.Key_E if kind_key == "E" else Qt.Key_M, Qt.ControlModifier | Qt.ShiftModifier, window,
                      key_name),
                wait(lambda: view.bulk_dialog is not None and view.bulk_dialog.isVisible(), lambda: (
                    press(Qt.Key_Return, widget=view.bulk_dialog, name="Enter"),
                    wait(lambda: window.session.last_report is not None, then)))))
        return run

    state = {}

    def start():
        state["groups before"] = kinds()
        window.session.last_report = None
        bulk("Ctrl+Shift+E", "E")(lambda: (setattr(window.session, "last_report", None),
                                           bulk("Ctrl+Shift+M", "M")(after_merges)))

    def after_merges():
        wait(lambda: not any(g.kind.value in ("exact", "near") for g in window.duplicates.all_groups), counted, 100,
             go_on_anyway=True)  # a group whose copies are all kept whole with their shot stays: counted as left

    def counted():
        state["groups after"] = kinds()
        state["files moved"] = len(set(before) - set(_files(photos)))
        undo(lambda: undo(finish))  # one undo a bulk merge: the near groups', then the exact groups'

    def undo(then):
        window.session.last_report = None
        window.activateWindow()
        wait(window.isActiveWindow, lambda: (
            window.duplicates.rows.setFocus(),
            press(Qt.Key_Z, Qt.ControlModifier, window.duplicates.rows, "Ctrl+Z"),
            wait(lambda: window.session.last_report is not None, then)))

    def finish():
        now = _files(photos)
        back = now == before
        for path in sorted(set(before) | set(now)):
            if before.get(path) != now.get(path):
                print(f"not as before: {path} ({'missing' if path not in now else 'new' if path not in before else 'changed'})")
        merged = [k for k in keys if k != "Ctrl+Z"]
        found = state["groups before"]
        by_kind = ", ".join(f"{found.count(kind)} {kind}" for kind in ("exact", "near", "similar"))
        print(f"groups before: {len(found)} ({by_kind})")
        print(f"keys pressed to merge every exact and near group: {len(merged)} ({' '.join(merged)})")
        print(f"files moved to simgui's trash: {state['files moved']} of {len(before)}")
        print(f"groups left: {len(state['groups after'])} ({state['groups after'].count('similar')} similar: "
              f"look-alikes, for the user's eye)")
        print(f"two Ctrl+Z (one a bulk merge) put every file back byte for byte: {back}")
        window.close()
        app.quit()

    wait(lambda: bool(window.duplicates.all_groups), start)
    code = app.exec()
    shutil.rmtree(scratch)
    sys.exit(code)


if __name__ == "__main__":
    main()
