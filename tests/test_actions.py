"""Trash, merge and undo on real files, through the real journal."""
import os
from dataclasses import replace


from conftest import coffee_group, snapshot, stem_of
from simgui.core.files.actions import TRASH_FOLDER, FileActions
from simgui.core.library import Library


def test_merge_then_undo_puts_every_file_back(library, photo_folder):
    before = snapshot(photo_folder)
    vectors = library.stats()["vectors"]
    actions = FileActions(library)
    group = coffee_group(library)
    outcome = actions.merge_group(group)
    assert len(outcome.moved) == 2 and not outcome.refused
    for path in outcome.moved:
        assert not os.path.exists(path)
    trash = photo_folder / TRASH_FOLDER / str(outcome.action_id)
    assert sum(len(files) for _, _, files in os.walk(trash)) == 2
    assert library.stats()["images"] == 13
    assert all(stem_of(g.members[0].image.path) != "coffee" or len(g.members) == 1 for g in library.groups())
    assert actions.history()[0].label.startswith("merge into coffee")

    undone = actions.undo()
    assert sorted(undone.moved) == sorted(outcome.moved)
    assert snapshot(photo_folder) == before  # same paths, same bytes
    assert library.stats()["images"] == 15 and library.stats()["vectors"] == vectors  # no model run needed
    assert len(coffee_group(library).members) == 3
    assert actions.undo().action_id is None  # nothing left to undo
    actions.close()


def test_changed_outside_and_linked_files_are_left_alone(library, photo_folder, tmp_path):
    actions = FileActions(library)
    rocket = library.store.image_by_path(str(photo_folder / "rocket.jpg"))
    with open(rocket.path, "ab") as f:
        f.write(b"edited")
    outside = replace(rocket, path=str(tmp_path / "elsewhere.jpg"))
    link = photo_folder / "link.jpg"
    os.symlink(photo_folder / "chelsea.jpg", link)
    linked = replace(library.store.image_by_path(str(photo_folder / "chelsea.jpg")), path=str(link))
    outcome = actions.delete([rocket, outside, linked])
    assert outcome.moved == []
    assert "changed" in outcome.refused[rocket.path]
    assert "outside" in outcome.refused[outside.path]
    assert "symbolic link" in outcome.refused[str(link)]
    assert os.path.exists(rocket.path) and os.path.islink(link)
    actions.close()


def test_crash_between_journal_and_move_is_settled_at_next_start(library, photo_folder):
    actions = FileActions(library)
    moved_path = str(photo_folder / "chelsea.jpg")
    kept_path = str(photo_folder / "coffee.jpg")
    action = actions.journal.start_action("delete", "crashed delete")
    # the process died after the rename of the first file, and before the rename of the second
    target = photo_folder / TRASH_FOLDER / str(action) / "chelsea.jpg"
    target.parent.mkdir(parents=True)
    actions.journal.plan(action, moved_path, str(target))
    os.rename(moved_path, target)
    actions.journal.plan(action, kept_path, str(target.parent / "coffee.jpg"))
    actions.close()

    restarted = FileActions(library)  # recovery runs here
    states = {m.source: m.state for m in restarted.journal.moves(action)}
    assert states == {moved_path: "moved", kept_path: "cancelled"}
    assert os.path.exists(kept_path)
    restarted.undo(action)
    assert os.path.exists(moved_path) and not target.exists()
    restarted.close()


def test_undo_never_overwrites(library, photo_folder):
    actions = FileActions(library)
    path = str(photo_folder / "hubble_deep_field.jpg")
    outcome = actions.delete([library.store.image_by_path(path)])
    with open(path, "wb") as f:
        f.write(b"a new file with the old name")
    undone = actions.undo(outcome.action_id)
    assert path in undone.refused
    with open(path, "rb") as f:
        assert f.read() == b"a new file with the old name"
    actions.close()


def test_a_keeper_in_a_protected_folder_is_never_rewritten_with_a_date(tmp_path, library_dir):
    """A merge into a protected keeper lets the copy go, and leaves the keeper's bytes as they were: giving it
    the copy's capture date would rewrite a file of a folder that simgui never touches (an attacker's pass
    found the original bytes sent to the trash)."""
    from PIL import Image

    from conftest import photo
    archive, inbox = tmp_path / "photos" / "archive", tmp_path / "photos" / "inbox"
    archive.mkdir(parents=True)
    inbox.mkdir()
    source = Image.open(photo("chelsea")).convert("RGB")
    source.save(archive / "chelsea.jpg", quality=95)  # no EXIF
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2019:05:04 10:11:12"
    source.resize((source.width // 2, source.height // 2)).save(inbox / "chelsea_phone.jpg", quality=90,
                                                                exif=exif.tobytes())
    protected_bytes = (archive / "chelsea.jpg").read_bytes()
    library = Library(library_dir)
    library.add_roots([str(tmp_path / "photos")])
    library.set_protected([str(archive)])
    library.update()
    actions = FileActions(library)
    outcome = actions.merge_paths(str(archive / "chelsea.jpg"), [str(inbox / "chelsea_phone.jpg")])
    assert outcome.moved == [str(inbox / "chelsea_phone.jpg")] and outcome.enriched == []
    assert (archive / "chelsea.jpg").read_bytes() == protected_bytes
    assert any("protected folder" in note for note in outcome.notes)
    actions.close()
    library.close()


def test_merge_gives_the_keeper_the_date_and_place_it_lacked_and_undo_restores_its_bytes(tmp_path, library_dir):
    from PIL import Image

    from conftest import photo
    folder = tmp_path / "trip"
    folder.mkdir()
    source = Image.open(photo("chelsea")).convert("RGB")
    source.save(folder / "export_large.jpg", quality=95)  # the keeper: biggest, but its EXIF was stripped
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2019:05:04 10:11:12"
    exif[0x8825] = {1: "N", 2: (52.0, 22.0, 5.5), 3: "E", 4: (4.0, 53.0, 1.0)}
    small = source.resize((source.width // 2, source.height // 2))
    small.save(folder / "phone_original.jpg", quality=90, exif=exif.tobytes())
    before = snapshot(folder)
    library = Library(library_dir)
    library.add_roots([str(folder)])
    library.update()
    group = next(g for g in library.groups() if g.kind == "near")
    assert group.keeper.image.path.endswith("export_large.jpg")
    actions = FileActions(library)
    outcome = actions.merge_group(group)
    assert outcome.enriched == ["capture date", "GPS position"]
    keeper = folder / "export_large.jpg"
    with Image.open(keeper) as img:
        got = img.getexif()
        assert got.get_ifd(0x8769)[0x9003] == "2019:05:04 10:11:12"
        assert got.get_ifd(0x8825)[1] == "N"
    # the pixels are untouched: the compressed image data is byte for byte the original's
    assert before[str(keeper)].split(b"\xff\xda", 1)[1] == keeper.read_bytes().split(b"\xff\xda", 1)[1]
    row = library.store.image_by_path(str(keeper))
    assert row.captured_at == "2019-05-04T10:11:12" and row.size == keeper.stat().st_size
    assert library.update().embedded == 0  # the rewrite shares the old vector: no model run, no pending change
    assert [g.kind for g in library.groups()] == []  # one photo left, nothing to group

    actions.undo()
    assert snapshot(folder) == before  # both files back, the keeper's original bytes included
    actions.close()
    library.close()


def test_empty_trash_sends_the_files_to_the_system_trash(library, photo_folder):
    actions = FileActions(library)
    group = coffee_group(library)
    losers = {m.image.path: open(m.image.path, "rb").read() for m in group.members if not m.keeper}
    actions.merge_group(group)
    assert actions.trash_size()[0] == len(losers)
    system_trash = os.path.join(os.environ["XDG_DATA_HOME"], "Trash", "files")  # shared by the whole test run
    earlier = set(os.listdir(system_trash)) if os.path.isdir(system_trash) else set()
    outcome = actions.empty_trash()
    assert sorted(outcome.moved) == sorted(losers) and not outcome.refused
    assert not (photo_folder / TRASH_FOLDER).exists()  # simgui's trash is gone, folders and all
    arrived = {name: open(os.path.join(system_trash, name), "rb").read()
               for name in set(os.listdir(system_trash)) - earlier}
    assert sorted(arrived.values()) == sorted(losers.values())  # every byte kept, where the file manager looks
    assert actions.trash_size() == (0, 0)
    undone = actions.undo()
    assert undone.moved == []  # nothing left that simgui could put back, and the undo says where they are
    assert sorted(undone.refused) == sorted(losers) and all("system trash" in why for why in undone.refused.values())
    assert actions.history()[0].emptied == len(losers) and not actions.history()[0].undone
    actions.close()


def test_undoing_a_merge_takes_back_what_it_taught_and_only_that(library, photo_folder):
    actions = FileActions(library)
    group = coffee_group(library)
    keeper = group.keeper.image.content_hash
    already = next(m.image.content_hash for m in group.members if not m.keeper)
    library.decide("same_photo", [(keeper, already)])  # the user's word from before: it stays
    actions.merge_group(group)
    merged = {tuple(sorted((keeper, m.image.content_hash))) for m in group.members if not m.keeper}
    assert library.store.decisions("same_photo") == merged
    actions.undo()
    assert library.store.decisions("same_photo") == {tuple(sorted((keeper, already)))}
    actions.close()


def test_not_duplicates_is_an_action_that_undo_takes_back(library):
    actions = FileActions(library)
    group = coffee_group(library)
    hashes = [m.image.content_hash for m in group.members]
    pairs = [(a, b) for n, a in enumerate(hashes) for b in hashes[n + 1:]]
    said = actions.not_duplicates(pairs, "not duplicates: 3 photos")
    assert coffee_group_or_none(library) is None  # grouping honours the user's word
    assert actions.history()[0].taught and actions.journal.newest_undoable() == said.action_id
    assert actions.undo().action_id == said.action_id
    assert library.store.decisions("not_duplicate") == set()
    assert len(coffee_group(library).members) == 3  # the group is back
    assert actions.undo().action_id is None  # and nothing is left to undo
    actions.close()


def coffee_group_or_none(library):
    return next((g for g in library.groups() if g.kind == "near" and "coffee" in g.members[0].image.path
                 and len(g.members) == 3), None)


def test_the_journal_alone_says_which_vectors_the_trash_keeps(library, photo_folder):
    vectors = library.stats()["vectors"]
    actions = FileActions(library)
    outcome = actions.merge_group(coffee_group(library))
    assert len(outcome.moved) == 2
    library.update()  # drops the vectors no photo holds any more: not those of the photos in the trash
    assert library.stats()["vectors"] == vectors
    tables = {row[0] for row in library.store.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "trashed" not in tables  # no second record of the trash to disagree with the journal
    actions.undo()
    assert library.update().embedded == 0  # the photos came back to the vectors they had
    actions.close()


def test_a_bulk_merge_gives_each_keeper_only_what_its_own_copies_had(tmp_path, library_dir):
    from PIL import Image

    from conftest import photo
    from simgui.core.files.actions import MergePlan
    folder = tmp_path / "trip"
    folder.mkdir()
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2019:05:04 10:11:12"
    for name, dated in (("chelsea", True), ("rocket", False)):
        source = Image.open(photo(name)).convert("RGB")
        source.save(folder / f"{name}_large.jpg", quality=95)  # each group's keeper: no date of its own
        small = source.resize((source.width // 2, source.height // 2))
        small.save(folder / f"{name}_phone.jpg", quality=90, **({"exif": exif.tobytes()} if dated else {}))
    rocket_keeper = (folder / "rocket_large.jpg").read_bytes()
    library = Library(library_dir)
    library.add_roots([str(folder)])
    library.update()
    groups = sorted((g for g in library.groups() if g.kind == "near"), key=lambda g: g.keeper.image.path)
    assert [os.path.basename(g.keeper.image.path) for g in groups] == ["chelsea_large.jpg", "rocket_large.jpg"]
    actions = FileActions(library)
    outcome = actions.merge([MergePlan.of_group(g) for g in groups], label="merge 2 groups")
    assert outcome.enriched == ["capture date"]  # chelsea's keeper, from chelsea's own copy
    assert (folder / "rocket_large.jpg").read_bytes() == rocket_keeper  # never a date of another photo
    with Image.open(folder / "chelsea_large.jpg") as img:
        assert img.getexif().get_ifd(0x8769)[0x9003] == "2019:05:04 10:11:12"
    actions.close()
    library.close()
