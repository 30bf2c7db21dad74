"""Folders and name patterns the user leaves out of the library: never indexed, and gone from it (never
from the disk) once left out."""
import os
import shutil

import pytest

from conftest import cli, snapshot
from simgui.core.storage.exclusions import ExclusionError, Exclusions


@pytest.mark.unit
def test_full_paths_are_folders_and_other_entries_name_patterns():
    left_out = Exclusions.of(["/photos/Trips/cache", "*.PNG", "Screenshots", "*/whatsapp/*/sent/*", " ", "*.png"])
    assert left_out.folders == ["/photos/Trips/cache"] and left_out.patterns == ["*.png", "screenshots",
                                                                                "*/whatsapp/*/sent/*"]
    assert left_out.leaves_out("/photos/Trips/cache") and left_out.leaves_out("/photos/Trips/cache/a/b.jpg")
    assert not left_out.leaves_out("/photos/Trips/cache2/b.jpg")
    assert left_out.leaves_out("/photos/shot.png") and not left_out.leaves_out("/photos/shot.jpg")
    assert left_out.leaves_out("/photos/Phone/Screenshots")
    assert left_out.leaves_out_below("/photos/Phone/Screenshots/2019/a.jpg", "/photos")
    assert not left_out.leaves_out_below("/photos/Phone/2019/a.jpg", "/photos")
    assert not Exclusions.of(["photos"]).leaves_out_below("/photos/Phone/a.jpg", "/photos")  # the root is not below itself
    assert left_out.leaves_out("/photos/Phone/WhatsApp/Media/Sent/x.jpg")
    assert not left_out.leaves_out("/photos/Phone/WhatsApp/Media/x.jpg")
    assert Exclusions.from_json(left_out.to_json()) == left_out
    for everything in ("*", "**", "*/*", ".", ".."):
        with pytest.raises(ExclusionError):
            Exclusions.of([everything])


def test_left_out_files_leave_the_library_and_stay_on_disk(photo_folder, library_dir):
    shutil.copy(photo_folder / "rocket.jpg", photo_folder / "edits" / "rocket copy.jpg")
    before = snapshot(photo_folder)
    assert cli(library_dir, "index", str(photo_folder)).returncode == 0
    assert cli(library_dir, "stats", "--json").stdout.count('"images": 16')
    run = cli(library_dir, "exclude", str(photo_folder / "edits"), "*.webp")
    assert run.returncode == 0, run.stderr
    assert cli(library_dir, "exclude").stdout.split() == [str(photo_folder / "edits"), "*.webp"]
    run = cli(library_dir, "index", str(photo_folder))
    assert run.returncode == 0 and "0 gone, 11 left out" in run.stdout + run.stderr, run.stdout + run.stderr
    assert '"images": 5' in cli(library_dir, "stats", "--json").stdout  # only the five originals are left
    assert '"exact"' not in cli(library_dir, "groups", "--json").stdout
    assert snapshot(photo_folder) == before  # nothing left out was touched
    run = cli(library_dir, "delete", str(photo_folder / "edits" / "rocket copy.jpg"))
    assert run.returncode == 1 and os.path.exists(photo_folder / "edits" / "rocket copy.jpg")

    assert cli(library_dir, "exclude", "--remove", str(photo_folder / "edits")).returncode == 0
    assert cli(library_dir, "index", str(photo_folder)).returncode == 0
    assert '"images": 15' in cli(library_dir, "stats", "--json").stdout  # all but the .webp
    run = cli(library_dir, "exclude", "*")
    assert run.returncode != 0 and "every photo" in run.stderr and "Traceback" not in run.stderr
