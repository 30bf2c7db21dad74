"""A full disk and a read-only library folder: a clear message, a non-zero exit, nothing lost, and the next
run on a healthy disk finishes the job. Needs mount (root with CAP_SYS_ADMIN) for a real small tmpfs."""
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess

import pytest
from PIL import Image

from conftest import PHOTOS, cli


def mount(*args) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@pytest.fixture
def mounts():
    made = []
    yield made
    for point in reversed(made):
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


@pytest.fixture
def many_photos(photo_folder):
    for n in range(40):
        Image.open(PHOTOS[n % len(PHOTOS)]).convert("RGB").rotate(n * 7).save(photo_folder / f"extra{n:02d}.jpg")
    return photo_folder  # 55 photos


def test_full_disk_stops_cleanly_and_a_healthy_disk_finishes(many_photos, tmp_path, mounts):
    small = tmp_path / "small disk"
    small.mkdir()
    # room for the empty library (its write-ahead log included), not for 55 photos: the disk fills while indexing
    if not mount("-t", "tmpfs", "-o", "size=1400k", "tmpfs", str(small)):
        pytest.skip("cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)")
    mounts.append(small)
    before = {p: p.read_bytes() for p in many_photos.rglob("*") if p.is_file()}
    run = cli(small / "library", "index", str(many_photos))
    assert run.returncode == 1
    assert "cannot write to the library" in run.stderr and "disk is full" in run.stderr
    assert "Traceback" not in run.stderr
    assert {p: p.read_bytes() for p in many_photos.rglob("*") if p.is_file()} == before  # photos untouched

    healthy = tmp_path / "healthy"
    shutil.copytree(small / "library", healthy)
    run = cli(healthy, "index", str(many_photos))
    assert run.returncode == 0, run.stderr
    assert json.loads(cli(healthy, "stats", "--json").stdout)["images"] == 55
    assert sqlite3.connect(healthy / "library.db").execute("PRAGMA integrity_check").fetchone() == ("ok",)
    answer = json.loads(cli(healthy, "query", str(many_photos / "extra07.jpg"), "--top", "1", "--json").stdout)
    assert answer[0]["results"][0]["path"] == str(many_photos / "extra07.jpg")


def test_read_only_library_folder_says_so_and_changes_nothing(photo_folder, tmp_path, mounts):
    library = tmp_path / "library"
    assert cli(library, "index", str(photo_folder)).returncode == 0
    shutil.copy(PHOTOS[0], photo_folder / "new.jpg")
    if os.geteuid() == 0:  # root writes through permissions: a read-only bind mount is what stops it
        view = tmp_path / "read-only view"
        view.mkdir()
        if not (mount("--bind", str(library), str(view)) and mount("-o", "remount,ro,bind", str(view))):
            pytest.skip("cannot mount read-only here (needs CAP_SYS_ADMIN)")
        mounts.append(view)
    else:
        view = library
        library.chmod(0o555)
    database = hashlib.sha256((library / "library.db").read_bytes()).hexdigest()
    run = cli(view, "index", str(photo_folder))
    assert run.returncode == 1
    assert "cannot open the library" in run.stderr and "read-only" in run.stderr
    assert "Traceback" not in run.stderr
    assert hashlib.sha256((library / "library.db").read_bytes()).hexdigest() == database

    library.chmod(0o755)
    assert cli(library, "index", str(photo_folder)).returncode == 0
    assert json.loads(cli(library, "stats", "--json").stdout)["images"] == 16


def test_photos_on_another_file_system_inside_a_root_are_copied_verified_then_removed(photo_folder, library_dir,
                                                                                    mounts):
    from simgui.core.files.actions import TRASH_FOLDER, FileActions
    from simgui.core.files.journal import MoveJournal
    from simgui.core.library import Library

    card = photo_folder / "sd card"  # a memory card mounted inside the photo folder; the trash is on the root's disk
    card.mkdir()
    if not mount("-t", "tmpfs", "-o", "size=1200k", "tmpfs", str(card)):
        pytest.skip("cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)")
    mounts.append(card)
    for edits in photo_folder.glob("edits/coffee_*"):
        shutil.move(str(edits), card / edits.name)
    before = {p: p.read_bytes() for p in card.iterdir()}
    library = Library(library_dir)
    library.add_roots([str(photo_folder)])
    library.update()
    actions = FileActions(library)
    group = next(g for g in library.groups() if any(str(card) in m.image.path for m in g.members))
    losers = {m.image.path: open(m.image.path, "rb").read() for m in group.members if not m.keeper}
    assert any(str(card) in p for p in losers)
    outcome = actions.merge_group(group)
    assert sorted(outcome.moved) == sorted(losers) and not outcome.refused
    assert not any(os.path.exists(p) for p in losers)
    trashed = [p for p in (photo_folder / TRASH_FOLDER).rglob("*") if p.is_file()]
    assert sorted(p.read_bytes() for p in trashed) == sorted(losers.values())
    assert not list(photo_folder.rglob("*.simgui-partial"))
    actions.undo()
    assert {p: p.read_bytes() for p in card.iterdir()} == before  # back on the card, byte for byte

    # a crash after the copy was verified, before the original was removed: recovery finishes the move
    journal = MoveJournal(library_dir / "crash.db")
    action = journal.start_action("delete", "crash test")
    source = str(sorted(before)[0])
    target = str(photo_folder / TRASH_FOLDER / "crashed.jpg")
    journal.plan(action, source, target)
    shutil.copy2(source, target)
    open(target + ".simgui-partial", "wb").close()  # ...and a half-copy of an earlier attempt
    journal.recover()
    assert not os.path.exists(source) and open(target, "rb").read() == before[type(card)(source)]
    assert journal.moves(action)[0].state == "moved" and not os.path.exists(target + ".simgui-partial")
    journal.close()
    actions.close()
    library.close()
