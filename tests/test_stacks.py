"""RAW+JPEG stacks and Live Photos (issue 13): one shot in several files is one item, never a duplicate
group of itself, and it goes to the trash and comes back whole, sidecars included."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from simgui.core.matching.stacks import stacks_among
from simgui.core.storage.store import ImageRecord


def _record(path: str, fmt: str, captured: str | None = "2024-05-01T10:00:00") -> ImageRecord:
    return ImageRecord(0, path, 1, 1000, 0, path, None, 100, 100, fmt, captured, None)


@pytest.mark.unit
def test_a_raw_and_the_pictures_of_its_shot_are_one_stack_and_nothing_else_is():
    images = [
        _record("/p/IMG_0001.CR2", "RAW"), _record("/p/IMG_0001.JPG", "JPEG"),  # one shot
        _record("/p/IMG_0002.JPG", "JPEG"),  # a JPEG alone
        _record("/p/IMG_0003.NEF", "RAW"), _record("/p/IMG_0003.JPG", "JPEG", "2024-05-01T10:00:09"),  # another moment
        _record("/p/IMG_0004.CR2", "RAW"), _record("/p/IMG_0004.DNG", "RAW"),  # a RAW and its conversion: copies
        _record("/p/IMG_0005.ARW", "RAW"), _record("/q/IMG_0005.JPG", "JPEG"),  # another folder
        _record("/p/IMG_0006.ORF", "RAW", None), _record("/p/IMG_0006.HEIC", "HEIF"),  # no date in the RAW
    ]
    stacks = stacks_among(images)
    assert {path: [image.path for image in stack] for path, stack in stacks.items()} == {
        "/p/IMG_0001.CR2": ["/p/IMG_0001.CR2", "/p/IMG_0001.JPG"],
        "/p/IMG_0001.JPG": ["/p/IMG_0001.CR2", "/p/IMG_0001.JPG"],
        "/p/IMG_0006.ORF": ["/p/IMG_0006.ORF", "/p/IMG_0006.HEIC"],
        "/p/IMG_0006.HEIC": ["/p/IMG_0006.ORF", "/p/IMG_0006.HEIC"],
    }


def _shot_folder(base) -> "Path":
    """A camera card's folder: IMG_0001 shot as RAW+JPEG (with the RAW's XMP and the JPEG's own), IMG_0002 a
    Live Photo (HEIC + its motion part + the edit list), two other photos; and an export of IMG_0001 elsewhere."""
    from PIL import Image

    from conftest import photo
    from raw_files import write_dng

    card = base / "photos" / "card"
    card.mkdir(parents=True)
    (base / "photos" / "exports").mkdir()
    shot = Image.open(photo("chelsea")).convert("RGB").resize((1800, 1200))
    write_dng(shot, card / "IMG_0001.dng", preview=True, captured="2024:05:06 07:08:09")
    exif = Image.Exif()
    exif[0x0132] = "2024:05:06 07:08:09"  # DateTime: the camera's JPEG of the same moment
    shot.save(card / "IMG_0001.jpg", quality=92, exif=exif.tobytes())
    (card / "IMG_0001.xmp").write_bytes(b"<x:xmpmeta rating=5/>")
    (card / "IMG_0001.jpg.xmp").write_bytes(b"<x:xmpmeta label=red/>")
    Image.open(photo("coffee")).convert("RGB").save(card / "IMG_0002.heic", "HEIF", quality=80)
    (card / "IMG_0002.mov").write_bytes(os.urandom(50_000))  # the Live Photo's motion part (not read yet)
    (card / "IMG_0002.aae").write_bytes(b"<plist>crop</plist>")
    for name in ("rocket", "astronaut"):
        Image.open(photo(name)).convert("RGB").save(card / f"{name}.jpg", quality=90)
    shot.resize((900, 600)).save(base / "photos" / "exports" / "holiday.jpg", quality=80)
    return base / "photos"


@pytest.fixture
def card_library(tmp_path):
    from simgui.core.files.actions import FileActions
    from simgui.core.library import Library

    folder = _shot_folder(tmp_path)
    library = Library(tmp_path / "library")
    library.add_roots([str(folder)])
    library.update()
    actions = FileActions(library)
    yield library, actions, folder
    actions.close()
    library.close()


def _names(group) -> list[list[str]]:
    return [sorted(os.path.basename(f.path) for f in member.files) for member in group.members]


def test_a_raw_and_its_jpeg_are_one_item_beside_their_export_and_never_a_group_of_themselves(card_library):
    library, _, folder = card_library
    groups = library.groups()
    assert [(g.kind, _names(g)) for g in groups] == [
        ("near", [["IMG_0001.dng", "IMG_0001.jpg"], ["holiday.jpg"]])]  # the stack kept: it holds the RAW
    keeper = groups[0].keeper
    assert keeper.image.path.endswith("IMG_0001.dng") and keeper.size == sum(f.size for f in keeper.files)

    os.remove(folder / "exports" / "holiday.jpg")
    library.update()
    assert library.groups() == []  # alone, a RAW and its JPEG are one photo, not two copies


def test_a_stack_goes_to_the_trash_whole_with_its_sidecars_and_comes_back_byte_for_byte(card_library):
    from conftest import snapshot

    library, actions, folder = card_library
    before = snapshot(folder)
    jpeg = library.store.image_by_path(str(folder / "card" / "IMG_0001.jpg"))
    done = actions.delete([jpeg])  # the user picked one file of the shot: the whole shot goes
    assert not done.refused and not done.notes
    left = sorted(os.listdir(folder / "card"))
    assert not [name for name in left if name.startswith("IMG_0001")]
    moved = sorted(os.path.basename(m.source) for m in actions.journal.moves(done.action_id))
    assert moved == ["IMG_0001.dng", "IMG_0001.jpg", "IMG_0001.jpg.xmp", "IMG_0001.xmp"]
    assert not library.groups()  # the export has no copy left in the library
    actions.undo()
    assert snapshot(folder) == before

    live = library.store.image_by_path(str(folder / "card" / "IMG_0002.heic"))
    done = actions.delete([live])
    moved = sorted(os.path.basename(m.source) for m in actions.journal.moves(done.action_id))
    assert moved == ["IMG_0002.aae", "IMG_0002.heic", "IMG_0002.mov"]  # the motion part goes with its photo
    actions.undo()
    assert snapshot(folder) == before


def test_a_merge_never_keeps_one_file_of_a_shot_and_trashes_the_other(card_library):
    from conftest import snapshot

    library, actions, folder = card_library
    before = snapshot(folder)
    outcome = actions.merge_paths(str(folder / "card" / "IMG_0001.jpg"), [str(folder / "card" / "IMG_0001.dng")])
    assert outcome.moved == [] and "one shot" in outcome.refused[str(folder / "card" / "IMG_0001.dng")]
    assert snapshot(folder) == before
    merged = actions.merge_group(library.groups()[0])  # the export goes, the whole shot stays
    assert [os.path.basename(p) for p in merged.moved] == ["holiday.jpg"]
    assert os.path.exists(folder / "card" / "IMG_0001.dng") and os.path.exists(folder / "card" / "IMG_0001.jpg")


def test_groups_export_as_csv_one_row_a_file_with_the_files_of_a_shot_marked(card_library):
    import csv
    import io

    from conftest import cli

    library, _, folder = card_library
    run = cli(library.folder, "groups", "--csv")
    assert run.returncode == 0
    rows = list(csv.DictReader(io.StringIO(run.stdout)))
    card = str(folder / "card")
    assert [(r["group"], r["kind"], r["keeper"], r["path"], r["stack_of"]) for r in rows] == [
        ("1", "near", "keep", f"{card}/IMG_0001.dng", ""),
        ("1", "near", "keep", f"{card}/IMG_0001.jpg", f"{card}/IMG_0001.dng"),
        ("1", "near", "", str(folder / "exports" / "holiday.jpg"), "")]
    assert rows[0]["format"] == "RAW" and rows[0]["captured_at"] == "2024-05-06T07:08:09"
    assert int(rows[2]["size"]) == os.path.getsize(folder / "exports" / "holiday.jpg")


def test_resolving_exact_copies_never_takes_a_shot_whose_other_file_is_no_copy(card_library):
    import shutil

    from simgui.core.files.actions import MergePlan
    from simgui.core.matching.rule import Kind

    library, actions, folder = card_library
    backup = folder / "backup"
    backup.mkdir()
    shutil.copy2(folder / "card" / "IMG_0001.jpg", backup / "IMG_0001.jpg")  # the JPEG alone, byte for byte
    library.update()
    library.choose_keeper(str(backup / "IMG_0001.jpg"), [str(backup / "IMG_0001.jpg"), str(folder / "card" / "IMG_0001.jpg")])
    exact = next(g for g in library.groups() if g.kind is Kind.EXACT)
    assert _names(exact) == [["IMG_0001.jpg"], ["IMG_0001.dng", "IMG_0001.jpg"]]  # the backup kept (K)
    assert MergePlan.of_group(exact).others == []  # the card's RAW is no copy of anything: the shot stays
    outcome = actions.merge([MergePlan.of_group(exact)])
    assert outcome.moved == [] and (folder / "card" / "IMG_0001.dng").exists()


def _library_of(base, make):
    """A library indexed from the folder `make(photos)` fills, and its file actions."""
    from simgui.core.files.actions import FileActions
    from simgui.core.library import Library

    photos = base / "p"
    photos.mkdir()
    make(photos)
    library = Library(base / "lib")
    library.add_roots([str(photos)])
    library.update()
    return library, FileActions(library), photos


def test_an_identical_copy_kept_elsewhere_never_takes_a_raw_or_a_live_photo_motion_with_the_other(tmp_path):
    """Found by an attacker's pass: keeping a backup of the JPEG (or the HEIC) alone and trashing the card's
    took the card's RAW (and the Live Photo's only MOV) along."""
    import shutil

    from PIL import Image

    from conftest import photo, snapshot
    from raw_files import write_dng
    from simgui.core.files.actions import MergePlan
    from simgui.core.matching.rule import Kind

    def make(photos):
        card, backup = photos / "card", photos / "backup"
        card.mkdir(), backup.mkdir()
        shot = Image.open(photo("chelsea")).convert("RGB").resize((1200, 800))
        exif = Image.Exif()
        exif[0x0132] = "2024:05:06 07:08:09"
        write_dng(shot, card / "IMG_0001.dng", preview=True, captured="2024:05:06 07:08:09")
        shot.save(card / "IMG_0001.jpg", exif=exif.tobytes())
        Image.open(photo("coffee")).save(card / "IMG_0002.heic", "HEIF")
        (card / "IMG_0002.mov").write_bytes(os.urandom(50_000))
        for name in ("IMG_0001.jpg", "IMG_0002.heic"):
            shutil.copy2(card / name, backup / name)  # the still alone, byte for byte

    library, actions, photos = _library_of(tmp_path, make)
    try:
        before = snapshot(photos)
        card, backup = photos / "card", photos / "backup"
        kept_backup = actions.merge_paths(str(backup / "IMG_0001.jpg"), [str(card / "IMG_0001.jpg")])
        assert kept_backup.moved == [] and "IMG_0001.dng beside it is no copy" in kept_backup.notes[0]
        exact = [g for g in library.groups() if g.kind is Kind.EXACT]
        for group in exact:  # the backup kept, as K (or a protected folder) would have it
            library.choose_keeper(str(backup / os.path.basename(group.paths[0])), group.paths)
        plans = [MergePlan.of_group(g) for g in library.groups() if g.kind is Kind.EXACT]
        outcome = actions.merge([plan for plan in plans if plan.others])
        assert outcome.moved == [] and any("IMG_0002.mov beside it is no copy" in note for note in outcome.notes)
        assert snapshot(photos) == before
    finally:
        actions.close()
        library.close()


def test_a_video_beside_a_photo_that_no_phone_pairs_with_it_stays_and_every_moved_file_is_said(tmp_path):
    from PIL import Image

    from conftest import photo

    def make(photos):
        Image.open(photo("rocket")).save(photos / "launch.png")
        (photos / "launch.mov").write_bytes(os.urandom(20_000))  # a video of its own
        Image.open(photo("coffee")).save(photos / "IMG_0002.heic", "HEIF")
        (photos / "IMG_0002.mov").write_bytes(os.urandom(20_000))  # a Live Photo's motion

    library, actions, photos = _library_of(tmp_path, make)
    try:
        png = actions.delete_paths([str(photos / "launch.png")])
        assert png.moved == [str(photos / "launch.png")] and (photos / "launch.mov").exists()
        live = actions.delete_paths([str(photos / "IMG_0002.heic")])
        assert live.moved == [str(photos / "IMG_0002.heic"), str(photos / "IMG_0002.mov")]
    finally:
        actions.close()
        library.close()


def test_a_shot_keeps_one_date_and_its_files_are_one_whatever_the_case_of_their_names(tmp_path):
    """Found by an attacker's pass: a merge gave the camera's JPEG the date of a copy, which parted it from
    its RAW; names differing in case only were two shots."""
    from PIL import Image

    from conftest import photo
    from raw_files import write_dng

    def make(photos):
        shot = Image.open(photo("chelsea")).convert("RGB").resize((1200, 800))
        write_dng(shot, photos / "img_0001.dng", preview=True, captured="2024:05:06 07:08:09")
        shot.save(photos / "IMG_0001.JPG", quality=92)  # the camera's JPEG, without a date
        exif = Image.Exif()
        exif.get_ifd(0x8769)[0x9003] = "2024:06:01 12:00:00"
        shot.resize((900, 600)).save(photos / "copy.jpg", quality=80, exif=exif.tobytes())

    library, actions, photos = _library_of(tmp_path, make)
    try:
        assert [_names(g) for g in library.groups()] == [[["IMG_0001.JPG", "img_0001.dng"], ["copy.jpg"]]]
        merged = actions.merge_paths(str(photos / "IMG_0001.JPG"), [str(photos / "copy.jpg")])
        assert merged.moved == [str(photos / "copy.jpg")] and merged.enriched == []
        library.update()
        assert library.groups() == []  # still one shot, not a near group of itself
    finally:
        actions.close()
        library.close()
