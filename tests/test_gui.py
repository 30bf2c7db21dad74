"""The desktop app on a real Qt event loop (offscreen): real model, real files, real engine thread."""
import os
import shutil

import pytest
from PIL import Image
from PySide6.QtCore import QElapsedTimer, Qt, QTimer

from conftest import PHOTOS
from simgui.core.files.actions import TRASH_FOLDER
from simgui.gui.main_window import MainWindow


@pytest.fixture
def window(qtbot, library_dir):
    w = MainWindow(library_dir, watch=False)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()


def back_to(qtbot, window) -> None:
    """A dialog closed: its window takes the keys again (offscreen, nothing gives it back by itself)."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=10_000)


def near_groups(window):
    return [g for g in window.duplicates.model.groups if g.kind == "near"]


def test_add_folder_review_merge_and_undo(qtbot, window, photo_folder):
    window.add_folder(str(photo_folder))
    qtbot.waitUntil(lambda: len(near_groups(window)) == 5, timeout=120_000)
    assert window.counts.text() == "15 photos · 0 skipped"
    assert window.folders.item(0).data(Qt.UserRole) == str(photo_folder)
    assert window.folders.item(0).text().endswith("15 photos")

    view = window.duplicates
    view.rows.setFocus()
    view.rows.setCurrentIndex(view.model.index(0, 0))
    group = view.current_group()
    losers = [m.image.path for m in group.members if not m.keeper]
    qtbot.keyClick(view.rows, Qt.Key_M)
    assert len(near_groups(window)) == 4  # the group leaves the view at once; the files follow
    qtbot.waitUntil(lambda: window.counts.text() == f"{15 - len(losers)} photos · 0 skipped", timeout=30_000)
    assert all(not os.path.exists(p) for p in losers)
    assert os.path.isdir(photo_folder / TRASH_FOLDER)

    window._fill_history_menu()
    entries = [a for a in window.history_menu.actions()
               if a.isEnabled() and not a.isSeparator() and a is not window.history_action]
    assert len(entries) == 1 and "merge" in entries[0].text() and entries[0].text().endswith("undo")

    qtbot.keyClick(view.rows, Qt.Key_Z, Qt.ControlModifier)
    qtbot.waitUntil(lambda: len(near_groups(window)) == 5, timeout=30_000)  # the group is back at once
    assert all(os.path.exists(p) for p in losers)
    qtbot.waitUntil(lambda: "(undone)" in (window._fill_history_menu() or window.history_menu.actions()[0].text()),
                    timeout=30_000)


def test_gui_thread_never_stalls_while_indexing(qtbot, window, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    sources = [Image.open(p).convert("RGB").resize((320, 240)) for p in PHOTOS]
    for n in range(1000):
        img = sources[n % len(sources)].rotate(n % 360 / 10)
        img.save(folder / f"img{n:04d}.jpg", quality=80)
    timer, clock, gaps = QTimer(), QElapsedTimer(), []
    clock.start()

    def beat():
        gaps.append(clock.restart())
    timer.timeout.connect(beat)
    timer.start(20)
    window.add_folder(str(folder))
    qtbot.waitUntil(lambda: window.counts.text().startswith("1000 photos"), timeout=300_000)
    timer.stop()
    beats = sorted(gaps[1:])
    late = beats[int(len(beats) * 0.95)]
    print(f"heartbeat while indexing 1,000 photos: {len(gaps)} beats, 95 % within {late} ms, longest {beats[-1]} ms")
    # a GUI thread waiting on a decode or a model batch stops for seconds; a busy 2-core machine's scheduler
    # delays a beat by a few hundred ms at times (395 ms was seen): wide headroom, on the typical beat too
    assert len(gaps) > 100 and late < 250 and beats[-1] < 2000, f"95 % within {late} ms, longest {beats[-1]} ms"


def test_drop_a_photo_on_search_or_anywhere_on_the_window(qtbot, window, photo_folder, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    from conftest import photo, save_edit

    window.add_folder(str(photo_folder))
    qtbot.waitUntil(lambda: len(near_groups(window)) == 5, timeout=120_000)
    # the drop zone, then the whole window: it takes a drop on any tab, read from the moment it enters the window
    for target, name in ((window.search.drop_zone, "from_the_file_manager.jpg"), (window, "dragged_over_the_groups.jpg")):
        window.search.model.set_matches([])
        window.tabs.setCurrentWidget(window.duplicates)
        dropped = save_edit(photo("chelsea"), tmp_path / name, "downscale")  # not in the library
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(dropped))])
        enter = QDragEnterEvent(target.rect().center(), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
        QApplication.sendEvent(target, enter)
        assert enter.isAccepted()
        # the engine reads and embeds the photo while it is dragged over, before the drop asks for it
        read_ahead = window.jobs.submit("peek", lambda ctx: [key[0] for key in ctx.library._read_ahead]).result()
        assert str(dropped) in read_ahead
        QApplication.sendEvent(target, QDropEvent(QPointF(target.rect().center()), Qt.CopyAction, mime, Qt.LeftButton,
                                                  Qt.NoModifier))
        assert target is window.search.drop_zone or window.tabs.currentWidget() is window.search
        qtbot.waitUntil(lambda: window.search.model.rowCount() > 0, timeout=30_000)
        check_results(qtbot, window)


def check_results(qtbot, window) -> None:
    """The search for a downscaled copy of chelsea: the library's chelsea first, as near; best first."""
    from conftest import stem_of

    top = window.search.model.matches[0]
    assert stem_of(top.image.path) == "chelsea" and top.verdict == "near"
    tiers = ["exact", "near", "similar", "different"]
    keys = [(tiers.index(m.verdict), -(m.agreement + m.score)) for m in window.search.model.matches]
    assert keys == sorted(keys)  # best first
    model = window.search.model
    assert len(model.found) == min(15, window.search.top.value())
    # different photos are hidden until asked for; copies come first, then look-alikes
    assert model.matches == [m for m in model.found if m.verdict != "different"] and model.rowCount() < len(model.found)
    assert window.search.status.text().startswith("3 copies and ")  # chelsea and its two edited copies
    window.search.show_different.setChecked(True)
    assert model.rowCount() == len(model.found)
    window.search.show_different.setChecked(False)
    qtbot.waitUntil(lambda: not window.search.query_photo.isHidden(), timeout=30_000)  # the photo searched for


def test_merge_every_exact_group_shows_what_will_go_moves_just_that_and_one_undo_brings_it_back(
        qtbot, window, photo_folder):
    from PySide6.QtWidgets import QDialogButtonBox

    from conftest import snapshot

    for name in ("rocket", "coffee"):
        shutil.copy(photo_folder / f"{name}.jpg", photo_folder / f"{name} (copy).jpg")
        for sidecar in (f"{name}.xmp", f"{name} (copy).jpg.xmp"):  # each photo's own, by the two naming styles
            (photo_folder / sidecar).write_text(f"<x:xmpmeta>{sidecar}</x:xmpmeta>")
    archive = photo_folder / "archive"  # protected: its files are never marked, even by a bulk merge
    archive.mkdir()
    for name in ("chelsea 1.jpg", "chelsea 2.jpg"):
        shutil.copy(photo_folder / "chelsea.jpg", archive / name)
    window.jobs.submit("protect", lambda ctx: ctx.library.set_protected([str(archive)])).result()
    window.add_folder(str(photo_folder))
    qtbot.waitUntil(lambda: sum(g.kind == "exact" for g in window.duplicates.all_groups) == 3, timeout=120_000)
    before = snapshot(photo_folder)

    qtbot.keyClick(window, Qt.Key_E, Qt.ControlModifier | Qt.ShiftModifier)  # Edit > Merge every exact group…
    qtbot.waitUntil(lambda: window.duplicates.bulk_dialog is not None and window.duplicates.bulk_dialog.isVisible(),
                    timeout=30_000)
    dialog = window.duplicates.bulk_dialog
    listed = set(dialog.listed())
    going = {str(photo_folder / "chelsea.jpg")}  # the protected copies stay, one of them kept
    for name in ("rocket", "coffee"):
        group = next(g for g in window.duplicates.all_groups if g.kind == "exact" and name in g.keeper.image.path)
        other = next(m.image.path for m in group.members if not m.keeper)
        going |= {other, other + ".xmp" if "(copy)" in other else str(photo_folder / f"{name}.xmp")}
    assert listed == going
    assert f"{len(going)} files" in dialog.summary.text() and "3 groups" in dialog.summary.text()
    assert all(path in before for path in going) and snapshot(photo_folder) == before  # nothing moved yet

    go = next(b for b in dialog.findChild(QDialogButtonBox).buttons() if b.text().startswith("Move "))
    assert go.isDefault()
    qtbot.keyClick(dialog, Qt.Key_Return)  # Enter moves them
    assert not any(g.kind == "exact" for g in window.duplicates.all_groups)  # gone from view at once
    qtbot.waitUntil(lambda: window.session.last_report is not None, timeout=30_000)
    assert set(window.session.last_report.files) == listed  # what moved is what was shown, no more, no less
    after = snapshot(photo_folder)
    assert set(before) - set(after) == listed and all(after[p] == before[p] for p in after)

    window.session.last_report = None
    back_to(qtbot, window)
    window.duplicates.rows.setFocus()
    qtbot.keyClick(window.duplicates.rows, Qt.Key_Z, Qt.ControlModifier)  # one undo takes it all back
    qtbot.waitUntil(lambda: window.session.last_report is not None, timeout=30_000)
    assert snapshot(photo_folder) == before  # byte for byte


def _bulk_dialog_for(qtbot, window, previous=None):
    qtbot.waitUntil(lambda: window.duplicates.bulk_dialog not in (None, previous)
                    and window.duplicates.bulk_dialog.isVisible(), timeout=30_000)
    return window.duplicates.bulk_dialog


def test_merge_every_exact_group_to_a_folder_or_as_hard_links_and_undo_each_byte_for_byte(
        qtbot, window, photo_folder, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from conftest import snapshot
    from simgui.gui.bulk_dialog import FOLDER_CHOICE, LINK_CHOICE

    for name in ("rocket", "coffee"):
        shutil.copy(photo_folder / f"{name}.jpg", photo_folder / "edits" / f"{name} (copy).jpg")
    window.add_folder(str(photo_folder))
    qtbot.waitUntil(lambda: sum(g.kind == "exact" for g in window.duplicates.all_groups) == 2, timeout=120_000)
    # 5 near groups (rocket's and coffee's with their identical copy in them) and 2 exact groups: an identical
    # copy is one photo that could go, not one in each of its groups
    qtbot.waitUntil(lambda: window.duplicates.summary.text() == "7 groups · 12 photos could go", timeout=30_000)
    before = snapshot(photo_folder)
    copies = {m.image.path for g in window.duplicates.all_groups if g.kind == "exact" for m in g.members if not m.keeper}

    # a folder outside the library: the copies go there, their folders below the root kept
    aside = tmp_path / "set aside"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(aside))
    qtbot.keyClick(window, Qt.Key_E, Qt.ControlModifier | Qt.ShiftModifier)
    first = _bulk_dialog_for(qtbot, window)
    first.destination.textActivated.emit(FOLDER_CHOICE)  # the user's pick in the list
    dialog = _bulk_dialog_for(qtbot, window, first)
    assert dialog.bulk.disposal.folder == str(aside) and set(dialog.listed()) == copies
    assert str(aside) in dialog.summary.text() and snapshot(photo_folder) == before  # nothing moved yet
    qtbot.keyClick(dialog, Qt.Key_Return)
    qtbot.waitUntil(lambda: window.session.last_report is not None, timeout=30_000)
    assert set(window.session.last_report.files) == copies
    for path in copies:
        assert (aside / photo_folder.name / os.path.relpath(path, photo_folder)).read_bytes() == before[path]
    window.session.last_report = None
    back_to(qtbot, window)
    window.duplicates.rows.setFocus()
    qtbot.keyClick(window.duplicates.rows, Qt.Key_Z, Qt.ControlModifier)
    qtbot.waitUntil(lambda: window.session.last_report is not None, timeout=30_000)
    assert snapshot(photo_folder) == before and not any(f for _, _, f in os.walk(aside))

    # hard links: every name stays and opens the same bytes, stored once
    qtbot.waitUntil(lambda: sum(g.kind == "exact" for g in window.duplicates.all_groups) == 2, timeout=120_000)
    window.session.last_report = None
    back_to(qtbot, window)
    qtbot.keyClick(window, Qt.Key_E, Qt.ControlModifier | Qt.ShiftModifier)
    first = _bulk_dialog_for(qtbot, window, dialog)
    first.destination.textActivated.emit(LINK_CHOICE)
    dialog = _bulk_dialog_for(qtbot, window, first)
    assert dialog.bulk.disposal.hard_links and set(dialog.listed()) == copies
    assert "2 identical copies" in dialog.summary.text() and "either name changes both" in dialog.summary.text()
    qtbot.keyClick(dialog, Qt.Key_Return)
    qtbot.waitUntil(lambda: window.session.last_report is not None, timeout=30_000)
    assert snapshot(photo_folder) == before
    for name in ("rocket", "coffee"):
        assert os.path.samefile(photo_folder / f"{name}.jpg", photo_folder / "edits" / f"{name} (copy).jpg")
    window.session.last_report = None
    back_to(qtbot, window)
    window.duplicates.rows.setFocus()
    qtbot.keyClick(window.duplicates.rows, Qt.Key_Z, Qt.ControlModifier)
    qtbot.waitUntil(lambda: window.session.last_report is not None, timeout=30_000)
    assert snapshot(photo_folder) == before
    assert all(os.stat(path).st_nlink == 1 for path in copies)


def test_protected_and_left_out_folders_set_in_the_app(qtbot, window, photo_folder, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from conftest import snapshot
    shutil.copy(photo_folder / "rocket.jpg", photo_folder / "edits" / "rocket (copy).jpg")
    window.add_folder(str(photo_folder))
    qtbot.waitUntil(lambda: len(near_groups(window)) == 5, timeout=120_000)
    assert any(m.image.path.endswith(".webp") for g in window.duplicates.all_groups for m in g.members)
    before = snapshot(photo_folder)

    qtbot.keyClick(window, Qt.Key_P, Qt.ControlModifier | Qt.ShiftModifier)
    qtbot.waitUntil(lambda: window.folder_settings_dialog is not None and window.folder_settings_dialog.isVisible(),
                    timeout=30_000)
    dialog = window.folder_settings_dialog
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(photo_folder / "edits"))
    dialog.add_protected.click()
    qtbot.keyClicks(dialog.pattern, "*.webp")
    qtbot.keyClick(dialog.pattern, Qt.Key_Return)
    assert dialog.settings().protected == [str(photo_folder / "edits")] and dialog.settings().excluded == ["*.webp"]
    dialog.accept()
    qtbot.waitUntil(lambda: window.session.overview.stats.get("images") == 15, timeout=120_000)  # the .webp left
    qtbot.waitUntil(lambda: not any(m.image.path.endswith(".webp") for g in window.duplicates.all_groups
                                    for m in g.members), timeout=120_000)
    assert window.jobs.submit("look", lambda ctx: ctx.library.protected_folders()).result() == [
        str(photo_folder / "edits")]
    # the protected copy is the one kept: the exact group keeps the file in edits/, and a merge moves the other
    exact = next(g for g in window.duplicates.all_groups if g.kind == "exact")
    assert exact.keeper.image.path == str(photo_folder / "edits" / "rocket (copy).jpg")
    from simgui.gui.group_cards import card_lines
    assert card_lines(exact.keeper)[0][0] == "★ kept: protected"  # said on its card
    assert not any(m.protected for m in exact.members if not m.keeper)
    assert snapshot(photo_folder) == before  # left out and protected: nothing on disk changed


def test_history_lists_every_file_of_each_action_and_undoes_an_older_one(qtbot, window, photo_folder):
    from conftest import snapshot
    window.add_folder(str(photo_folder))
    qtbot.waitUntil(lambda: len(near_groups(window)) == 5, timeout=120_000)
    before = snapshot(photo_folder)
    coffee = next(g for g in near_groups(window) if "coffee" in g.keeper.image.path)
    window.session.delete([coffee.members[1].image])
    qtbot.waitUntil(lambda: window.session.last_report is not None, timeout=30_000)
    first = set(window.session.last_report.files)
    window.session.last_report = None
    rocket = next(g for g in near_groups(window) if "rocket" in g.keeper.image.path)
    window.session.delete([rocket.members[1].image])
    qtbot.waitUntil(lambda: window.session.last_report is not None, timeout=30_000)

    qtbot.keyClick(window, Qt.Key_H, Qt.ControlModifier)
    qtbot.waitUntil(lambda: window.history_dialog is not None and window.history_dialog.isVisible(), timeout=30_000)
    tree = window.history_dialog.tree
    assert tree.topLevelItemCount() == 2
    older = tree.topLevelItem(1)  # newest first
    assert {older.child(n).text(0) for n in range(older.childCount())} == first
    assert {older.child(n).text(1) for n in range(older.childCount())} == {"in simgui's trash"}
    tree.setCurrentItem(older.child(0))  # a file of the older action: Undo takes back its whole action
    assert window.history_dialog.undo.isEnabled()
    window.session.last_report = None
    window.history_dialog.undo.click()
    qtbot.waitUntil(lambda: window.session.last_report is not None, timeout=30_000)
    after = snapshot(photo_folder)
    assert first <= set(after) and all(after[p] == before[p] for p in first)
    assert len(after) == len(before) - 1  # the newer delete stands


def test_compare_dialog_shows_both_photos_and_the_verdict(qtbot, window, photo_folder):
    window.add_folder(str(photo_folder))
    qtbot.waitUntil(lambda: len(near_groups(window)) == 5, timeout=120_000)
    view = window.duplicates
    view.rows.setFocus()
    view.select(0, 1)  # a copy: compared with the keeper
    qtbot.keyClick(view.rows, Qt.Key_C)
    dialog = window.compare_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.loaded == 2 and "similarity" in dialog.verdict.text(), timeout=30_000)
    assert dialog.verdict.text().split(" · ")[0] in ("exact", "near")
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    left, right = dialog.views
    before = left.transform().m11()
    centre = QPointF(left.viewport().rect().center())
    for _ in range(3):  # a real wheel turn, three notches in
        QApplication.sendEvent(left.viewport(), QWheelEvent(centre, left.viewport().mapToGlobal(centre), QPoint(),
                                                            QPoint(0, 120), Qt.NoButton, Qt.NoModifier,
                                                            Qt.NoScrollPhase, False))
    assert left.transform().m11() > before
    assert right.transform() == left.transform()  # zoom follows
    left.horizontalScrollBar().setValue(left.horizontalScrollBar().maximum())
    assert right.horizontalScrollBar().value() == left.horizontalScrollBar().value()  # pan follows
    dialog.close()


def membership(groups):
    return sorted((g.kind, sorted(m.image.path for m in g.members)) for g in groups)


def test_slider_regroups_and_filters_narrow_the_view(qtbot, window, photo_folder, library_dir, tmp_path):
    from simgui.core.matching.rule import thresholds_at
    from simgui.core.library import Library

    other = tmp_path / "phone backup"
    other.mkdir()
    shutil.copy(photo_folder / "rocket.jpg", other / "IMG_0001.jpg")
    window.add_folder(str(photo_folder))
    window.add_folder(str(other))
    qtbot.waitUntil(lambda: window.counts.text().startswith("16 photos") and len(near_groups(window)) == 5,
                    timeout=120_000)
    reader = Library(library_dir)  # a second reader of the same library, as the CLI would be
    for looseness in (0, 100, 50):
        expected = membership(reader.groups(thresholds_at(looseness)))
        window.duplicates.looseness.setValue(looseness)
        qtbot.waitUntil(lambda: membership(window.duplicates.all_groups) == expected, timeout=30_000)
    reader.close()

    view = window.duplicates
    view.folder_filter.setCurrentText(str(other))
    shown = view.model.groups
    assert shown and all(any(m.image.path.startswith(str(other) + os.sep) for m in g.members) for g in shown)
    assert {g.kind for g in shown} == {"exact", "near"}  # the copy's exact pair, and the rocket's near group
    view.folder_filter.setCurrentText("all folders")
    assert len(view.model.groups) == len(view.all_groups)

    view.rows.setFocus()
    view.select(0, 0)
    qtbot.keyClick(view.rows, Qt.Key_Space)
    assert view.preview is not None
    qtbot.waitUntil(lambda: view.preview.loaded == 1, timeout=30_000)
    view.preview.close()


def test_remove_folder_pause_and_resume(qtbot, window, photo_folder, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    window.add_folder(str(photo_folder))
    qtbot.waitUntil(lambda: window.counts.text().startswith("15 photos"), timeout=120_000)
    window.toggle_pause()
    assert window.paused and window.pause_button.text() == "Resume"
    later = tmp_path / "later"
    later.mkdir()
    shutil.copy(PHOTOS[0], later / "new.jpg")
    window.add_folder(str(later))
    qtbot.waitUntil(lambda: window.folders.count() == 2, timeout=30_000)
    assert window.counts.text().startswith("15 photos")  # paused: the new folder waits
    window.toggle_pause()
    qtbot.waitUntil(lambda: window.counts.text().startswith("16 photos"), timeout=60_000)

    monkeypatch.setattr(QMessageBox, "question", lambda *args: QMessageBox.Yes)
    window.folders.setCurrentRow(next(r for r in range(2) if window.folders.item(r).data(Qt.UserRole) == str(photo_folder)))
    window.remove_folder()
    qtbot.waitUntil(lambda: window.folders.count() == 1 and window.counts.text().startswith("1 photo "),
                    timeout=30_000)
    assert len(list(photo_folder.rglob("*.jpg"))) + len(list(photo_folder.rglob("*.webp"))) == 15  # files untouched
    assert window.duplicates.all_groups == []


def test_views_follow_the_disk_live_and_after_a_reopen(qtbot, library_dir, photo_folder, tmp_path):
    from conftest import photo, save_edit, stem_of

    def members_of(window, stem):
        return sorted(m.image.path for g in window.duplicates.all_groups if g.kind == "near"
                      for m in g.members if stem_of(m.image.path) == stem)

    window = MainWindow(library_dir, watch=True)
    qtbot.addWidget(window)
    window.show()
    window.add_folder(str(photo_folder))
    qtbot.waitUntil(lambda: len(near_groups(window)) == 5, timeout=120_000)
    window.search.search(str(photo("chelsea")))

    def copies_found():
        return sum(m.verdict in ("exact", "near") for m in window.search.model.matches)
    qtbot.waitUntil(lambda: copies_found() == 3, timeout=30_000)

    # a new copy lands in the watched folder: the group and the search results grow by themselves
    fresh = save_edit(photo("chelsea"), tmp_path / "fresh.jpg", "grayscale")
    shutil.copy(fresh, photo_folder / "chelsea_from_phone.jpg")
    qtbot.waitUntil(lambda: len(members_of(window, "chelsea")) == 4, timeout=30_000)
    qtbot.waitUntil(lambda: copies_found() == 4, timeout=30_000)
    # ...and a deleted one leaves both
    (photo_folder / "chelsea_from_phone.jpg").unlink()
    qtbot.waitUntil(lambda: len(members_of(window, "chelsea")) == 3 and copies_found() == 3,
                    timeout=30_000)
    window.close()

    # while the app is closed: one photo added, one deleted, one moved to another folder
    shutil.copy(fresh, photo_folder / "added_while_closed.jpg")
    gone = next(photo_folder.glob("edits/coffee_*"))
    gone.unlink()
    moved_from = next(photo_folder.glob("edits/rocket_*"))
    (photo_folder / "album").mkdir()
    moved_to = photo_folder / "album" / moved_from.name
    os.rename(moved_from, moved_to)

    reopened = MainWindow(library_dir, watch=False)
    qtbot.addWidget(reopened)
    reopened.show()
    on_disk = sorted(str(p) for p in photo_folder.rglob("*") if p.is_file() and TRASH_FOLDER not in p.parts)

    def library_paths():
        return sorted(m.image.path for g in reopened.duplicates.all_groups if g.kind == "near" for m in g.members)
    qtbot.waitUntil(lambda: library_paths() == on_disk, timeout=60_000)
    assert reopened.counts.text().startswith(f"{len(on_disk)} photos")
    reopened.close()


def test_empty_trash_after_confirmation(qtbot, window, photo_folder, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    window.add_folder(str(photo_folder))
    qtbot.waitUntil(lambda: len(near_groups(window)) == 5, timeout=120_000)
    window.session.move_to(0)  # the first group (all are near ones here)
    window.session.merge_current()
    qtbot.waitUntil(lambda: (photo_folder / TRASH_FOLDER).exists(), timeout=30_000)
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *args: asked.append(args[2]) or QMessageBox.Yes)
    window.empty_trash()
    qtbot.waitUntil(lambda: not (photo_folder / TRASH_FOLDER).exists(), timeout=30_000)
    assert asked and asked[0].startswith("Send 2 photos")
    qtbot.waitUntil(lambda: "(sent to the system trash)" in (window._fill_history_menu() or
                                                             window.history_menu.actions()[0].text()), timeout=30_000)


def test_two_files_dropped_on_search_are_compared_with_their_differences_shaded(qtbot, window, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    from conftest import photo
    marked = tmp_path / "coffee with a sticker.jpg"
    picture = Image.open(photo("coffee")).convert("RGB")
    picture.paste((20, 200, 20), (0, 0, picture.width // 3, picture.height // 3))  # a third of a third covered
    picture.save(marked, quality=90)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photo("coffee"))), QUrl.fromLocalFile(str(marked))])
    zone = window.search.drop_zone
    QApplication.sendEvent(zone, QDragEnterEvent(zone.rect().center(), Qt.CopyAction, mime, Qt.LeftButton,
                                                 Qt.NoModifier))
    QApplication.sendEvent(zone, QDropEvent(QPointF(zone.rect().center()), Qt.CopyAction, mime, Qt.LeftButton,
                                            Qt.NoModifier))
    qtbot.waitUntil(lambda: window.compare_dialog is not None and bool(window.compare_dialog.shading), timeout=60_000)
    dialog = window.compare_dialog
    assert dialog.verdict.text().startswith("near")
    shaded = dialog.views[0].scene().itemsBoundingRect()
    covered = [item.rect() for item in dialog.shading]
    # the shading sits over the covered corner: every shaded cell starts in the top-left half of the photo
    assert covered and all(r.x() < shaded.width() / 2 and r.y() < shaded.height() / 2 for r in covered)
    assert 0.05 < len(covered) / 256 < 0.25
    dialog.show_differences.setChecked(False)
    assert not any(item.isVisible() for item in dialog.shading)
    dialog.close()


def test_map_places_copies_together_and_opens_a_photo(qtbot, window, photo_folder):
    import numpy as np
    from PySide6.QtTest import QTest

    from conftest import stem_of
    window.add_folder(str(photo_folder))
    qtbot.waitUntil(lambda: len(near_groups(window)) == 5, timeout=120_000)
    window.tabs.setCurrentWidget(window.map)
    window.draw_map()
    qtbot.waitUntil(lambda: len(window.map.items) == 15, timeout=120_000)
    items = list(window.map.items.values())
    position = {item.point.path: np.array([item.pos().x(), item.pos().y()]) for item in items}
    stems = {path: stem_of(path) for path in position}
    within = [np.linalg.norm(position[a] - position[b]) for a in position for b in position
              if a < b and stems[a] == stems[b]]
    across = [np.linalg.norm(position[a] - position[b]) for a in position for b in position
              if a < b and stems[a] != stems[b]]
    assert max(within) < np.median(across)  # every photo sits nearer its copies than most others
    assert sum(item.frame is not None for item in items) == 15  # every copy framed in its group's colour

    view = window.map.view
    view.centerOn(items[0])
    spot = view.mapFromScene(items[0].pos())
    shown = view.itemAt(spot)  # copies sit close: the photo drawn on top at that spot (Qt's own hit test)
    while shown is not None and not hasattr(shown, "point"):
        shown = shown.parentItem()
    with qtbot.waitSignal(window.map.photo_opened, timeout=5_000) as opened:
        QTest.mouseDClick(view.viewport(), Qt.LeftButton, Qt.NoModifier, spot)
    assert shown is not None and opened.args == [shown.point.path]


def test_issue17_item12_a_damaged_journal_opens_the_app_and_refuses_file_actions(qtbot, library_dir, photo_folder,
                                                                                 monkeypatch):
    library_dir.mkdir()
    (library_dir / "journal.db").write_bytes(b"not a database at all" * 300)
    warnings = []
    monkeypatch.setattr("simgui.gui.main_window.QMessageBox.warning", lambda parent, title, text: warnings.append(text))
    window = MainWindow(library_dir, watch=False)  # it used to die here with a raw traceback
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: len(warnings) == 1, timeout=60_000)
    assert "journal of file moves" in warnings[0] and "Move journal.db aside" in warnings[0]
    window.add_folder(str(photo_folder))
    qtbot.waitUntil(lambda: len(near_groups(window)) == 5, timeout=120_000)  # the library works as ever
    window.session.move_to(0)  # the first group (all are near ones here)
    window.session.merge_current()
    qtbot.waitUntil(lambda: len(warnings) == 2, timeout=60_000)
    assert "merge failed" in warnings[1] and "journal" in warnings[1]
    assert len([p for p in photo_folder.rglob("*") if p.is_file()]) == 15  # nothing moved
    window.close()


def test_not_duplicates_and_its_undo_from_the_keyboard(qtbot, window, photo_folder):
    window.add_folder(str(photo_folder))
    qtbot.waitUntil(lambda: len(near_groups(window)) == 5, timeout=120_000)
    view = window.duplicates
    view.rows.setFocus()
    view.rows.setCurrentIndex(view.model.index(0, 0))
    qtbot.keyClick(view.rows, Qt.Key_N)  # "not duplicates": remembered, and now undoable like a merge
    assert len(near_groups(window)) == 4  # gone from view at once
    qtbot.waitUntil(lambda: "not duplicates" in (window._fill_history_menu() or
                                                 window.history_menu.actions()[0].text()), timeout=30_000)
    assert window.history_menu.actions()[0].text().endswith("undo")
    qtbot.keyClick(view.rows, Qt.Key_Z, Qt.ControlModifier)
    qtbot.waitUntil(lambda: len(near_groups(window)) == 5, timeout=30_000)


def test_keep_rules_dialog_orders_the_rules_by_keyboard_and_saving_picks_the_keepers_again(qtbot, window,
                                                                                        photo_folder):
    from PySide6.QtWidgets import QDialogButtonBox

    from conftest import stem_of
    from simgui.core.matching.keep_rules import DEFAULT_RULES, KeepRule

    window.add_folder(str(photo_folder))
    qtbot.waitUntil(lambda: len(near_groups(window)) == 5, timeout=120_000)

    def coffee_keeper() -> str:
        group = next(g for g in near_groups(window) if stem_of(g.members[0].image.path) == "coffee")
        return group.keeper.image.path
    assert coffee_keeper() == str(photo_folder / "coffee.jpg")  # the largest, by the default rules

    qtbot.keyClick(window, Qt.Key_K, Qt.ControlModifier)  # Edit > Keep rules…
    qtbot.waitUntil(lambda: window.duplicates.keep_rules_dialog is not None
                    and window.duplicates.keep_rules_dialog.isVisible(), timeout=30_000)
    dialog = window.duplicates.keep_rules_dialog
    assert dialog.rules() == DEFAULT_RULES
    rules = dialog.rule_list
    rules.setFocus()
    rules.setCurrentRow(rules.values().index(KeepRule.FOLDERS.value))
    qtbot.keyClick(rules, Qt.Key_Space)  # tick it
    for _ in range(len(DEFAULT_RULES.order)):
        qtbot.keyClick(rules, Qt.Key_Up, Qt.AltModifier)
    dialog.add_folder(str(photo_folder / "edits"))
    assert dialog.rules().order[0] is KeepRule.FOLDERS
    assert dialog.rules().order[1:] == DEFAULT_RULES.order
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.Save).click()
    # every group's keeper is picked again: coffee's is now its copy in the preferred folder
    qtbot.waitUntil(lambda: os.path.dirname(coffee_keeper()) == str(photo_folder / "edits"), timeout=30_000)
    saved = window.jobs.submit("peek", lambda ctx: ctx.library.keep_rules()).result()
    assert saved.order[0] is KeepRule.FOLDERS and saved.folders == (str(photo_folder / "edits"),)


def test_skipped_files_are_listed_with_why_and_f1_lists_every_key(qtbot, window, photo_folder):
    from simgui.gui.table_dialog import shown_rows

    (photo_folder / "broken.jpg").write_bytes(b"\xff\xd8\xff not a whole photo")
    window.add_folder(str(photo_folder))
    qtbot.waitUntil(lambda: "1 skipped" in window.counts.text(), timeout=120_000)
    window.counts.linkActivated.emit("skipped")  # a click on the count
    qtbot.waitUntil(lambda: window.table_dialog is not None and window.table_dialog.isVisible(), timeout=30_000)
    [(path, why)] = shown_rows(window.table_dialog.rows)
    assert path == str(photo_folder / "broken.jpg") and why  # and the reason, as the CLI's `skipped` says it
    window.table_dialog.close()

    back_to(qtbot, window)
    qtbot.keyClick(window, Qt.Key_F1)
    qtbot.waitUntil(lambda: window.table_dialog.windowTitle() == "Keyboard shortcuts", timeout=30_000)
    keys = dict(shown_rows(window.table_dialog.rows))
    assert keys["Merge"] == "M" and keys["Keep this one"] == "K" and keys["Keep rules…"] == "Ctrl+K"
    assert keys["Export groups…"] == "Ctrl+E" and keys["Merge every exact group…"] == "Ctrl+Shift+E"


def test_groups_show_their_photos_side_by_side_walked_with_arrows_clicked_and_picked(qtbot, window, photo_folder):
    window.add_folder(str(photo_folder))
    qtbot.waitUntil(lambda: len(near_groups(window)) == 5, timeout=120_000)
    view, state = window.duplicates, window.session.state
    view.kind_filter.setCurrentText("near")
    view.rows.setFocus()
    view.select(0)
    assert (state.row, state.member) == (0, None)
    members = len(state.current_group().members)
    qtbot.keyClick(view.rows, Qt.Key_Right)  # from the group as a whole: the photo right of its keeper
    assert state.member == 1
    for _ in range(members):
        qtbot.keyClick(view.rows, Qt.Key_Right)
    assert state.member == members - 1  # the last photo stops it
    qtbot.keyClick(view.rows, Qt.Key_Left)
    assert state.member == members - 2
    qtbot.keyClick(view.rows, Qt.Key_Down)  # the next group, as a whole
    assert (state.row, state.member) == (1, None)

    # a group's photos are cards on one line: a click on the second one puts the cursor on it
    window.resize(1366, 768)
    view.select(0)
    qtbot.waitUntil(lambda: view.rows.visualRect(view.model.index(0)).top() >= 0, timeout=10_000)
    index = view.model.index(0)
    rect = view.rows.visualRect(index)
    cards = view.rows.groups_delegate.geometry(rect, view.model.groups[0]).cards
    assert len({card.top() for card in cards}) == 1 and cards[0].right() < cards[1].left()
    qtbot.mouseClick(view.rows.viewport(), Qt.LeftButton, pos=cards[1].center())
    assert (state.row, state.member) == (0, 1)
    # Ctrl+click picks photos; Delete moves the picked ones, and an undo brings them back
    group = view.model.groups[0]
    picked = [group.members[1].image.path, group.members[2 % members].image.path]
    for card in (cards[1], cards[2 % members]):
        qtbot.mouseClick(view.rows.viewport(), Qt.LeftButton, Qt.ControlModifier, card.center())
    assert view.picked == set(picked)
    window.session.last_report = None
    qtbot.keyClick(view.rows, Qt.Key_Delete)
    qtbot.waitUntil(lambda: window.session.last_report is not None, timeout=30_000)
    assert sorted(window.session.last_report.files) == sorted(picked)
    assert not any(os.path.exists(p) for p in picked)
    window.session.last_report = None
    qtbot.keyClick(view.rows, Qt.Key_Z, Qt.ControlModifier)
    qtbot.waitUntil(lambda: window.session.last_report is not None, timeout=30_000)
    assert all(os.path.exists(p) for p in picked)


def test_a_group_row_is_as_tall_as_its_cards_need_at_every_width():
    from PySide6.QtCore import QRect

    from simgui.gui.group_cards import PAD, row_geometry, row_height
    for width in (200, 900, 1366, 2560):
        for members in (2, 3, 7, 13):
            for side in (96, 128, 160):
                cards = row_geometry(QRect(0, 0, width, 0), members, side, 17).cards
                assert row_height(width, members, side, 17) == cards[-1].bottom() + PAD
                assert all(card.right() < width for card in cards)  # no card cut at the right edge


def test_compare_of_two_loose_files_says_their_real_sizes_and_a_crop_is_cut_away_not_changed(qtbot, window,
                                                                                         photo_folder, tmp_path):
    from PIL import Image

    from conftest import photo
    window.add_folder(str(photo_folder))
    qtbot.waitUntil(lambda: len(near_groups(window)) == 5, timeout=120_000)
    big = Image.open(photo("chelsea")).convert("RGB").resize((2560, 1600), Image.BICUBIC)
    whole, crop = tmp_path / "chelsea big.jpg", tmp_path / "chelsea centre.jpg"
    big.save(whole, quality=92)
    big.crop((256, 160, 2304, 1440)).save(crop, quality=92)  # the centre 80 %: a copy, cropped
    window.compare(str(whole), str(crop))  # as "Compare two…" on the Search tab asks
    dialog = window.compare_dialog
    qtbot.waitUntil(lambda: dialog.loaded == 2 and "cut away" in dialog.verdict.text(), timeout=60_000)
    assert "2560×1600" in dialog.labels[0].text() and "2048×1280" in dialog.labels[1].text()  # not as shown
    grid = dialog.comparison.differences
    from simgui.core.matching.verify import CHANGED, CUT_AWAY
    # the border a crop took off is cut away, told apart from changed content (of which a plain crop has
    # little: single cells its rescale left below the threshold, scattered, are no change)
    assert (grid == CUT_AWAY).mean() > 0.2 and (grid == CHANGED).mean() < 0.12, \
        dialog.verdict.text()
    dialog.close()
