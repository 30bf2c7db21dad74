"""Issue 17, items 1-8, 11 and 12 (journal): ordinary mishaps that lost the last copy of a photo, or hung.

Each test failed on the code before the fix. Real files, a real library, the real journal. The other items
are in test_safety_storage.py (9, 12, 13, 17), test_safety_decode.py (10) and test_safety_api.py (14-16, 17).
"""
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PIL import Image

from conftest import cli, coffee_group, photo, snapshot
from simgui.core.files.actions import TRASH_FOLDER, FileActions, JournalError, MergePlan
from simgui.core.library import Library
from simgui.core.files.moves import move_file


@pytest.fixture
def actions(library):
    opened = FileActions(library)
    yield opened
    opened.close()


@pytest.fixture
def small_disk(tmp_path):
    """A real 4 MB file system (tmpfs) that a test can fill up; unmounted afterwards."""
    disk = tmp_path / "small disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def fill(disk) -> None:
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    (disk / "filler").write_bytes(b"\0" * free)


def row(library, path):
    return library.store.image_by_path(str(path))


# 1 ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mishap", ["replaced", "deleted"])
def test_item01_merge_refuses_when_the_keeper_was_replaced_or_deleted(library, actions, photo_folder, mishap):
    group = coffee_group(library)
    keeper = group.keeper.image.path
    if mishap == "replaced":
        shutil.copy(photo("rocket"), keeper)  # another photo now has the keeper's name
    else:
        os.unlink(keeper)
    before = snapshot(photo_folder)
    outcome = actions.merge_group(group)
    assert outcome.moved == [] and outcome.action_id is None
    assert "the file to keep" in outcome.refused[keeper]
    assert snapshot(photo_folder) == before  # every copy is still where it was


def test_item01_resolving_exact_copies_checks_every_keeper(library, actions, photo_folder):
    shutil.copy(photo_folder / "chelsea.jpg", photo_folder / "chelsea copy.jpg")
    shutil.copy(photo_folder / "rocket.jpg", photo_folder / "rocket copy.jpg")
    library.update()
    exact = [g for g in library.groups() if g.kind == "exact"]
    assert len(exact) == 2
    os.unlink(exact[1].keeper.image.path)  # one keeper went away since the groups were shown
    before = snapshot(photo_folder)
    outcome = actions.merge([MergePlan.of_group(g) for g in exact], label="resolve 2 groups of exact copies")
    assert outcome.moved == [] and exact[1].keeper.image.path in outcome.refused
    assert snapshot(photo_folder) == before


# 2 ---------------------------------------------------------------------------------------------------
def test_item02_one_file_seen_through_two_paths_is_never_a_copy_of_itself(library, actions, photo_folder):
    alias = photo_folder / "alias"
    alias.mkdir()
    os.link(photo_folder / "chelsea.jpg", alias / "chelsea.jpg")  # same device and inode, two names
    library.update()
    assert not any(g.kind == "exact" for g in library.groups())  # one file's two names are no duplicates
    other = str(alias / "chelsea.jpg")  # and asked by path, the action refuses all the same
    outcome = actions.merge_paths(str(photo_folder / "chelsea.jpg"), [other])
    assert outcome.moved == [] and "the same file as the file to keep" in outcome.refused[other]
    assert (photo_folder / "chelsea.jpg").exists() and (alias / "chelsea.jpg").exists()


def test_item02_a_bind_mount_alias_root_keeps_its_only_copy(library_dir, photo_folder, tmp_path):
    alias = tmp_path / "the same folder again"
    alias.mkdir()
    if subprocess.run(["mount", "--bind", str(photo_folder), str(alias)], capture_output=True).returncode:
        pytest.skip("cannot bind-mount here (needs root with CAP_SYS_ADMIN)")
    try:
        library = Library(library_dir)
        library.add_roots([str(photo_folder), str(alias)])
        library.update()
        assert not any(g.kind == "exact" for g in library.groups())  # one folder seen twice holds no copies
        actions = FileActions(library)
        outcome = actions.merge_paths(str(photo_folder / "rocket.jpg"), [str(alias / "rocket.jpg")])
        assert outcome.moved == [] and len(outcome.refused) == 1
        assert (photo_folder / "rocket.jpg").read_bytes() == photo("rocket").read_bytes()
        actions.close()
        library.close()
    finally:
        subprocess.run(["umount", "-l", str(alias)], capture_output=True)


# 3 ---------------------------------------------------------------------------------------------------
def test_item03_undo_reaches_an_action_behind_fifty_newer_ones(library, actions, photo_folder):
    first = actions.delete([row(library, photo_folder / "hubble_deep_field.jpg")])
    rocket = photo_folder / "rocket.jpg"
    for _ in range(51):
        assert actions.delete([row(library, rocket)]).moved == [str(rocket)]
        assert actions.undo().moved == [str(rocket)]
    undone = actions.undo()
    assert undone.action_id == first.action_id
    assert (photo_folder / "hubble_deep_field.jpg").exists()


# 4 ---------------------------------------------------------------------------------------------------
def test_item04_an_action_that_cannot_come_back_says_why_and_older_ones_still_can(library, actions, photo_folder):
    older = actions.delete([row(library, photo_folder / "chelsea.jpg")])
    newer = actions.delete([row(library, photo_folder / "rocket.jpg")])
    (photo_folder / "rocket.jpg").write_bytes(b"a new file took the name")
    stuck = actions.undo()
    assert stuck.action_id == newer.action_id and "another file now has this name" in stuck.refused[
        str(photo_folder / "rocket.jpg")]
    assert "another file" in actions.history()[0].undo_problem  # the reason stays with the action
    assert actions.undo().action_id == older.action_id  # Ctrl+Z goes on to the older action
    assert (photo_folder / "chelsea.jpg").exists()
    (photo_folder / "rocket.jpg").unlink()  # the user clears the name: that action can be undone by its id
    assert actions.undo(newer.action_id).moved == [str(photo_folder / "rocket.jpg")]
    assert (photo_folder / "rocket.jpg").read_bytes() == photo("rocket").read_bytes()


# 5 ---------------------------------------------------------------------------------------------------
def test_item05_a_move_never_replaces_a_file_that_appeared_at_its_target(tmp_path):
    source, target = tmp_path / "photo.jpg", tmp_path / "taken.jpg"
    shutil.copy(photo("coffee"), source)
    target.write_bytes(b"created a moment before the move")
    with pytest.raises(FileExistsError):
        move_file(str(source), str(target))  # os.rename would have replaced it silently
    assert source.read_bytes() == photo("coffee").read_bytes()
    assert target.read_bytes() == b"created a moment before the move"


# 6 ---------------------------------------------------------------------------------------------------
def test_item06_a_trash_that_is_a_link_is_refused(library, actions, photo_folder, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, photo_folder / TRASH_FOLDER)
    path = str(photo_folder / "coffee.jpg")
    outcome = actions.delete([row(library, path)])
    assert outcome.moved == [] and "symbolic link" in outcome.refused[path]
    assert os.path.exists(path) and os.listdir(outside) == []


def test_item06_a_trash_that_is_a_file_is_refused_without_a_crash(library, actions, photo_folder):
    (photo_folder / TRASH_FOLDER).write_bytes(b"not a folder")
    path = str(photo_folder / "coffee.jpg")
    outcome = actions.merge_group(coffee_group(library))
    assert outcome.moved == [] and any("not a folder" in why for why in outcome.refused.values())
    assert os.path.exists(path)


def test_item06_emptying_a_trash_swapped_for_a_link_touches_nothing_outside(library, actions, photo_folder, tmp_path):
    actions.delete([row(library, photo_folder / "chelsea.jpg")])
    trash = photo_folder / TRASH_FOLDER
    outside = tmp_path / "outside"
    shutil.copytree(trash, outside)  # somebody moved the trash away and left a link to it
    shutil.rmtree(trash)
    os.symlink(outside, trash)
    (outside / "empty folder of someone else").mkdir()
    outcome = actions.empty_trash()
    assert outcome.moved == [] and len(outcome.refused) == 1
    assert (outside / "empty folder of someone else").is_dir()
    assert sum(len(files) for _, _, files in os.walk(outside)) == 1  # the photo is still there


# 7 ---------------------------------------------------------------------------------------------------
def test_item07_undo_gives_back_the_row_as_it_was(library, actions, photo_folder):
    path = photo_folder / "edits" / "astronaut_crop.jpg"
    before = row(library, path)
    assert before.width and before.height and before.format
    actions.delete([before])
    actions.undo()
    after = row(library, path)
    assert (after.width, after.height, after.format, after.captured_at, after.size, after.content_hash,
            after.perceptual_hash) == (before.width, before.height, before.format, before.captured_at,
                                       before.size, before.content_hash, before.perceptual_hash)


# 8 ---------------------------------------------------------------------------------------------------
def dated_pair(folder, keeper_name):
    """A keeper without EXIF, and a smaller copy with the capture date the keeper lacks."""
    folder.mkdir(parents=True, exist_ok=True)
    source = Image.open(photo("chelsea")).convert("RGB")
    source.save(folder / keeper_name, quality=95)
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2019:05:04 10:11:12"
    source.resize((source.width // 2, source.height // 2)).save(folder / "phone.jpg", quality=90, exif=exif.tobytes())


def leftovers(folder):
    return [p for p in folder.rglob(".simgui-*") if TRASH_FOLDER not in p.parts]


def test_item08_a_keeper_with_a_very_long_name_still_merges_cleanly(tmp_path, library_dir):
    folder = tmp_path / "trip"
    long_name = "x" * 240 + ".jpg"  # 244 bytes: the old ".simgui-NAME.tmp" was over the 255-byte limit
    dated_pair(folder, long_name)
    library = Library(library_dir)
    library.add_roots([str(folder)])
    library.update()
    actions = FileActions(library)
    outcome = actions.merge_group(next(g for g in library.groups() if g.kind == "near"))
    assert outcome.moved == [str(folder / "phone.jpg")] and outcome.enriched == ["capture date"]
    assert leftovers(folder) == []
    actions.close()
    library.close()


def test_item08_a_full_disk_while_adding_the_date_leaves_the_merge_done_and_no_leftover(small_disk, library_dir):
    folder = small_disk / "trip"
    dated_pair(folder, "export.jpg")
    library = Library(library_dir)
    library.add_roots([str(folder)])
    library.update()
    group = next(g for g in library.groups() if g.kind == "near")
    fill(small_disk)  # the rewritten keeper cannot be written
    actions = FileActions(library)
    outcome = actions.merge_group(group)
    assert outcome.moved == [str(folder / "phone.jpg")]  # the merge happened, and says so
    assert outcome.enriched == [] and "kept as it was" in outcome.notes[0]
    assert leftovers(folder) == [] and (folder / "export.jpg").exists()
    actions.close()
    library.close()


# 11 --------------------------------------------------------------------------------------------------
def process_holding(lock: Path) -> subprocess.Popen:
    """Another process that holds an flock on `lock` until it is killed (it has it once this returns)."""
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, time\n"
        f"fd = os.open({str(lock)!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(600)\n")],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_item11_undo_does_not_wait_for_another_process_indexing(library, actions, photo_folder, library_dir):
    done = actions.delete([row(library, photo_folder / "coffee.jpg")])
    holder = process_holding(library_dir / "index.lock")  # a first index of a big library, in another process
    try:
        result = {}
        worker = threading.Thread(target=lambda: result.setdefault("undo", actions.undo()))
        worker.start()
        worker.join(timeout=120)  # it used to wait for the lock: hours on a first index
        assert not worker.is_alive(), "undo waited for the other process's index lock"
        assert result["undo"].action_id == done.action_id and (photo_folder / "coffee.jpg").exists()
        assert row(library, photo_folder / "coffee.jpg") is not None
    finally:
        holder.kill()
        holder.wait()


# 12 (the journal; library.db is in test_safety_storage.py) -------------------------------------------
def test_item12_a_damaged_journal_gives_a_clear_message_and_moves_nothing(library, photo_folder, library_dir):
    (library_dir / "journal.db").write_bytes(b"this is not a database" * 200)
    with pytest.raises(JournalError, match="cannot be read.*Move journal.db aside"):
        FileActions(library)
    run = cli(library_dir, "delete", str(photo_folder / "coffee.jpg"))
    assert run.returncode == 1 and "journal" in run.stderr and "Traceback" not in run.stderr
    assert (photo_folder / "coffee.jpg").exists()


def test_item12_a_full_disk_during_a_delete_says_so_and_loses_nothing(photo_folder, small_disk):
    library = Library(small_disk / "library")
    library.add_roots([str(photo_folder)])
    library.update()
    actions = FileActions(library)  # open, as in the app; then the disk fills up
    fill(small_disk)
    before = snapshot(photo_folder)
    with pytest.raises(JournalError, match="the disk is full. Nothing was moved") as raised:
        actions.delete([row(library, photo_folder / "coffee.jpg"), row(library, photo_folder / "rocket.jpg")])
    assert "rollback" not in str(raised.value)
    assert snapshot(photo_folder) == before
    actions.close()
    library.close()


# found by an attacker's pass over the new file actions -------------------------------------------------
def test_two_libraries_emptying_at_once_keep_every_photo_of_the_same_name(tmp_path):
    """send2trash picks a free name in the system trash and then renames onto it: two processes sending a
    "p.jpg" at once replaced one with the other (38 of 120 photos lost before simgui took turns)."""
    contents = set()
    libraries = []
    for n in range(2):
        photos = tmp_path / f"card{n}"
        for k in range(30):
            (photos / f"f{k:02d}").mkdir(parents=True)
            Image.new("RGB", (64, 48), (n * 100 + k, k * 7 % 256, 200)).save(photos / f"f{k:02d}" / "p.jpg")
            contents.add((photos / f"f{k:02d}" / "p.jpg").read_bytes())
        library_dir = tmp_path / f"library{n}"
        assert cli(library_dir, "index", str(photos)).returncode == 0
        assert cli(library_dir, "delete", *map(str, photos.rglob("p.jpg"))).returncode == 0
        libraries.append(library_dir)
    runs = [subprocess.Popen([sys.executable, "-m", "simgui.cli", "--library", str(lib), "empty-trash"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for lib in libraries]
    assert [run.wait(timeout=600) for run in runs] == [0, 0]
    system_trash = Path(os.environ["XDG_DATA_HOME"]) / "Trash" / "files"
    assert contents <= {p.read_bytes() for p in system_trash.iterdir() if p.is_file()}


def test_an_action_waits_for_another_process_moving_files_in_the_library(library, library_dir):
    holder = process_holding(library_dir / "actions.lock")  # another process's merge, under way
    try:
        opened = []
        worker = threading.Thread(target=lambda: opened.append(FileActions(library)))
        worker.start()
        worker.join(timeout=2)
        assert worker.is_alive()  # its start-up recovery waits: it must not settle a move still being made
        holder.kill()
        worker.join(timeout=120)
        assert opened and not worker.is_alive()
        opened[0].close()
    finally:
        holder.kill()
        holder.wait()


def test_undo_never_brings_in_a_file_from_outside_through_a_swapped_trash(library, actions, photo_folder, tmp_path):
    rocket = photo_folder / "rocket.jpg"
    done = actions.delete([row(library, rocket)])
    trash = photo_folder / TRASH_FOLDER / str(done.action_id)
    shutil.move(trash, tmp_path / "kept")
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(photo("astronaut"), outside / "rocket.jpg")
    os.symlink(outside, trash)
    undone = actions.undo()
    assert undone.moved == [] and "no longer inside simgui's own trash" in undone.refused[str(rocket)]
    assert not rocket.exists() and (outside / "rocket.jpg").read_bytes() == photo("astronaut").read_bytes()


def test_undo_never_brings_back_other_bytes_than_it_trashed(library, actions, photo_folder):
    rocket = photo_folder / "rocket.jpg"
    done = actions.delete([row(library, rocket)])
    moved = actions.journal.moves(done.action_id)[0]
    Path(moved.target).write_bytes(photo("astronaut").read_bytes())  # someone swapped the file in the trash
    undone = actions.undo()
    assert "not the photo that was trashed" in undone.refused[str(rocket)] and not rocket.exists()


def test_emptying_the_trash_of_a_read_only_card_leaves_a_note_not_a_crash(small_disk, library_dir):
    for source in ("rocket", "coffee"):
        shutil.copy(photo(source), small_disk / f"{source}.jpg")
    library = Library(library_dir)
    library.add_roots([str(small_disk)])
    library.update()
    actions = FileActions(library)
    actions.delete([row(library, small_disk / "rocket.jpg")])
    actions.undo()  # an empty trash folder stays behind
    assert subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], capture_output=True).returncode == 0
    outcome = actions.empty_trash()  # it raised "Read-only file system" from removing the empty folders
    assert outcome.moved == [] and "stay" in outcome.notes[0]
    actions.close()
    library.close()


def test_numbers_too_big_for_the_journal_are_refused_plainly(library, library_dir):
    for args in (["undo", "99999999999999999999"], ["history", "--limit", "99999999999999999999"]):
        run = cli(library_dir, *args)
        assert run.returncode == 2 and "must be from 1" in run.stderr and "Traceback" not in run.stderr


def test_a_keeper_with_the_longest_name_a_file_can_have_merges_and_undoes(tmp_path, library_dir):
    folder = tmp_path / "trip"
    long_name = "k" * 251 + ".jpg"  # 255 bytes: "rewritten " + the name could not be made in the trash
    dated_pair(folder, long_name)
    before = snapshot(folder)
    library = Library(library_dir)
    library.add_roots([str(folder)])
    library.update()
    actions = FileActions(library)
    assert actions.merge_group(next(g for g in library.groups() if g.kind == "near")).enriched == ["capture date"]
    undone = actions.undo()
    assert not undone.refused and snapshot(folder) == before
    assert [p for p in (folder / TRASH_FOLDER).rglob("*") if p.is_file()] == []  # no rewritten copy piles up
    actions.close()
    library.close()


# sidecars travel with their photo (DESIGN.md's safety rules; issue 13) ---------------------------------
def test_a_photos_sidecars_go_to_the_trash_with_it_and_come_back_with_it(library, actions, photo_folder):
    sidecars = {"rocket.jpg.xmp": b"<x:xmpmeta rating=5/>", "rocket.xmp": b"<x:xmpmeta label=red/>",
                "rocket.AAE": b"<plist>crop</plist>", "coffee.xmp": b"<x:xmpmeta/>"}
    for name, data in sidecars.items():
        (photo_folder / name).write_bytes(data)
    before = snapshot(photo_folder)
    done = actions.delete([row(library, photo_folder / "rocket.jpg")])
    assert not done.refused and not done.notes
    gone = {"rocket.jpg", "rocket.jpg.xmp", "rocket.xmp", "rocket.AAE"}
    assert {p.name for p in photo_folder.iterdir()} & gone == set()  # nothing of rocket's left behind
    assert (photo_folder / "coffee.xmp").exists()  # another photo's sidecar stays
    history = actions.journal.moves(done.action_id)
    assert sorted(os.path.basename(m.source) for m in history) == sorted(gone)
    actions.undo()
    assert snapshot(photo_folder) == before


def test_a_sidecar_shared_by_a_raw_and_its_jpeg_stays_with_the_one_that_stays(library, actions, photo_folder):
    (photo_folder / "rocket.cr2").write_bytes(b"a RAW file the library does not read (yet)")
    (photo_folder / "rocket.xmp").write_bytes(b"<x:xmpmeta/>")  # names the stem: the RAW's too
    (photo_folder / "rocket.jpg.xmp").write_bytes(b"<x:xmpmeta/>")  # names the JPEG alone
    actions.delete([row(library, photo_folder / "rocket.jpg")])
    assert (photo_folder / "rocket.xmp").exists() and not (photo_folder / "rocket.jpg.xmp").exists()


# protected folders (DESIGN.md's safety rules; issue 16) ------------------------------------------------
def test_files_in_a_protected_folder_are_never_moved_and_are_kept_first(library, actions, photo_folder, library_dir):
    run = cli(library_dir, "protect", str(photo_folder / "edits"), "--json")
    assert run.returncode == 0 and json.loads(run.stdout) == {"protected": [str(photo_folder / "edits")]}
    library.update()
    group = coffee_group(library)  # coffee.jpg is larger, but its copies in edits/ are protected
    assert "/edits/" in group.keeper.image.path
    protected_copy = row(library, photo_folder / "edits" / "coffee_grayscale.jpg")
    before = snapshot(photo_folder)
    outcome = actions.delete([protected_copy, row(library, photo_folder / "rocket.jpg")])
    assert outcome.moved == [] and "protected folder" in outcome.refused[protected_copy.path]
    bulk = actions.merge([MergePlan(row(library, photo_folder / "coffee.jpg"), [protected_copy])])
    assert bulk.moved == [] and snapshot(photo_folder) == before  # never moved, by any action
    assert cli(library_dir, "protect", "--remove", str(photo_folder / "edits")).returncode == 0
    assert library.protected_folders() == []
