"""Merges whose copies go to a folder of the user's, or become hard links to the keeper: on real files,
through the real journal, undone byte for byte."""
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from conftest import coffee_group, snapshot
from simgui.core.answers import history_answer
from simgui.core.files.actions import FileActions, MergePlan
from simgui.core.files.disposal import Disposal


def test_a_merge_to_a_folder_keeps_paths_below_the_root_and_undo_brings_all_back(library, photo_folder, tmp_path):
    before = snapshot(photo_folder)
    elsewhere = tmp_path / "set aside"
    actions = FileActions(library)
    group = coffee_group(library)
    outcome = actions.merge([MergePlan.of_group(group)], disposal=Disposal(str(elsewhere)))
    assert len(outcome.moved) == 2 and not outcome.refused
    for path in outcome.moved:  # each under <folder>/<root's name>/<its path inside the root>
        inside = os.path.relpath(path, photo_folder)
        with open(elsewhere / photo_folder.name / inside, "rb") as f:
            assert f.read() == before[path]
    assert actions.trash_size() == (0, 0)  # nothing of it is in simgui's trash: Empty trash leaves it alone
    record = actions.history()[0]
    assert record.kind == "move" and record.moved == 2 and record.label.endswith(f" to {elsewhere}")
    assert {m["state"] for m in history_answer(record, actions.journal.moves(record.id))["moves"]} == {
        "in the folder it was moved to"}
    assert actions.empty_trash().moved == [] and os.path.exists(elsewhere / photo_folder.name)

    undone = actions.undo()
    assert sorted(undone.moved) == sorted(outcome.moved) and not undone.refused
    assert snapshot(photo_folder) == before  # same paths, same bytes
    assert len(coffee_group(library).members) == 3
    actions.close()


def test_a_folder_inside_the_library_or_holding_it_is_refused_and_nothing_moves(library, photo_folder, tmp_path):
    before = snapshot(photo_folder)
    actions = FileActions(library)
    plans = [MergePlan.of_group(coffee_group(library))]
    for folder in (photo_folder / "doubles", tmp_path, "relative/folder"):
        outcome = actions.merge(plans, disposal=Disposal(str(folder)))
        assert outcome.moved == [] and outcome.action_id is None
        assert "library" in next(iter(outcome.refused.values())) or "full path" in next(iter(outcome.refused.values()))
        assert actions.preview_merge(plans, Disposal(str(folder))).refused
    assert snapshot(photo_folder) == before and not (photo_folder / "doubles").exists()
    actions.close()


def test_a_file_already_at_the_folders_place_is_never_replaced(library, photo_folder, tmp_path):
    group = coffee_group(library)
    copy = next(m.image for m in group.members if not m.keeper)
    place = tmp_path / "aside" / photo_folder.name / os.path.relpath(copy.path, photo_folder)
    place.parent.mkdir(parents=True)
    place.write_bytes(b"the user's own file")
    actions = FileActions(library)
    outcome = actions.merge([MergePlan(group.keeper.image, [copy])], disposal=Disposal(str(tmp_path / "aside")))
    assert outcome.moved == [copy.path]
    assert place.read_bytes() == b"the user's own file"
    assert (place.parent / f"{place.stem} (1){place.suffix}").exists()
    actions.undo()
    assert os.path.exists(copy.path) and place.read_bytes() == b"the user's own file"
    actions.close()


@pytest.fixture
def exact_copies(library, photo_folder):
    """rocket.jpg with two identical copies (one with a sidecar), indexed."""
    for name in ("rocket copy.jpg", "edits/rocket again.jpg"):
        shutil.copy(photo_folder / "rocket.jpg", photo_folder / name)
    (photo_folder / "rocket copy.xmp").write_text("<x:xmpmeta>the copy's own</x:xmpmeta>")
    library.update()
    return next(g for g in library.groups() if g.kind == "exact")


def test_identical_copies_become_hard_links_to_the_keeper_and_undo_brings_the_originals_back(
        library, photo_folder, exact_copies):
    before = snapshot(photo_folder)
    keeper = exact_copies.keeper.image
    copies = [m.image.path for m in exact_copies.members if not m.keeper]
    actions = FileActions(library)
    disposal = Disposal(hard_links=True)
    assert set(actions.preview_merge([MergePlan.of_group(exact_copies)], disposal).files) == set(copies)
    outcome = actions.merge([MergePlan.of_group(exact_copies)], disposal=disposal)
    assert sorted(outcome.moved) == sorted(copies) and not outcome.refused and not outcome.notes
    assert snapshot(photo_folder) == before  # every name still opens the same bytes, the sidecar stays
    for path in copies:
        assert os.path.samefile(path, keeper.path)
    assert os.stat(keeper.path).st_nlink == 3
    assert actions.trash_size()[0] == 2  # the originals: the space comes free when the trash is emptied

    library.update()  # the links are indexed again as files of the library: no group of one file's names
    assert not [g for g in library.groups() if g.kind == "exact"]
    assert all(library.store.image_by_path(p) for p in [keeper.path, *copies])

    undone = actions.undo()
    assert sorted(undone.moved) == sorted(copies) and not undone.refused
    assert snapshot(photo_folder) == before
    assert os.stat(keeper.path).st_nlink == 1 and not any(os.path.samefile(p, keeper.path) for p in copies)
    library.update()
    assert len([g for g in library.groups() if g.kind == "exact"][0].members) == 3
    actions.close()


def test_an_emptied_trash_leaves_the_hard_links_and_the_keeper(library, photo_folder, exact_copies):
    before = snapshot(photo_folder)
    actions = FileActions(library)
    actions.merge([MergePlan.of_group(exact_copies)], disposal=Disposal(hard_links=True))
    assert len(actions.empty_trash().moved) == 2
    assert snapshot(photo_folder) == before and os.stat(exact_copies.keeper.image.path).st_nlink == 3
    actions.close()


def test_a_copy_that_is_not_identical_never_becomes_a_hard_link(library, photo_folder):
    before = snapshot(photo_folder)
    actions = FileActions(library)
    group = coffee_group(library)  # near copies: other bytes
    outcome = actions.merge([MergePlan.of_group(group)], disposal=Disposal(hard_links=True))
    assert outcome.action_id is None and outcome.moved == []
    assert all("identical" in why for why in outcome.refused.values())
    assert snapshot(photo_folder) == before
    actions.close()


def test_a_link_edited_after_the_merge_keeps_its_original_in_the_trash(library, photo_folder, exact_copies):
    actions = FileActions(library)
    keeper = exact_copies.keeper.image
    outcome = actions.merge([MergePlan.of_group(exact_copies)], disposal=Disposal(hard_links=True))
    with open(keeper.path, "ab") as f:  # the keeper edited in place: its links show the edit too
        f.write(b"an edit")
    edited = open(keeper.path, "rb").read()
    undone = actions.undo(outcome.action_id)
    assert undone.moved == [] and all("edited" in why for why in undone.refused.values())
    for path in [keeper.path, *outcome.moved]:
        assert open(path, "rb").read() == edited  # nothing of the user's edit is lost either
    assert actions.trash_size()[0] == 2  # the originals wait there
    actions.close()


# an attacker's pass over these actions: each way a photo could be lost or land where it must not ---------------
def test_a_link_at_the_half_copys_name_on_another_disk_is_never_written_through(library, photo_folder, tmp_path):
    other_disk = Path("/dev/shm")
    if not other_disk.is_dir() or os.stat(other_disk).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("needs /dev/shm on a file system of its own")
    aside = Path(tempfile.mkdtemp(dir=other_disk))
    try:
        group = coffee_group(library)
        copy = next(m.image for m in group.members if not m.keeper)
        place = aside / photo_folder.name / os.path.relpath(copy.path, photo_folder)
        place.parent.mkdir(parents=True)
        victim = tmp_path / "victim.txt"
        victim.write_text("IMPORTANT")
        os.symlink(victim, str(place) + ".simgui-partial")
        before = snapshot(photo_folder)
        actions = FileActions(library)
        outcome = actions.merge([MergePlan(group.keeper.image, [copy])], disposal=Disposal(str(aside)))
        assert victim.read_text() == "IMPORTANT" and os.path.islink(str(place) + ".simgui-partial")
        assert outcome.moved == [] and "could not move" in outcome.refused[copy.path]
        assert snapshot(photo_folder) == before
        actions.close()
    finally:
        shutil.rmtree(aside)


def test_copies_never_go_into_simgui_s_own_library_folder(library, photo_folder, library_dir):
    """Beside library.db, where a user resetting simgui deletes everything (an attacker's pass)."""
    before = snapshot(photo_folder)
    actions = FileActions(library)
    outcome = actions.merge([MergePlan.of_group(coffee_group(library))], disposal=Disposal(str(library_dir / "aside")))
    assert outcome.moved == [] and outcome.action_id is None
    assert "simgui's own library folder" in outcome.refused[str(library_dir / "aside")]
    assert snapshot(photo_folder) == before and not (library_dir / "aside").exists()
    actions.close()


def test_a_link_below_the_chosen_folder_never_leads_a_copy_elsewhere(library, photo_folder, tmp_path):
    aside = tmp_path / "aside"
    aside.mkdir()
    os.symlink(photo_folder, aside / photo_folder.name)  # <folder>/<root's name> leads back into the library
    before = snapshot(photo_folder)
    actions = FileActions(library)
    group = coffee_group(library)
    outcome = actions.merge([MergePlan.of_group(group)], disposal=Disposal(str(aside)))
    assert outcome.moved == [] and outcome.action_id is None
    assert all("inside the library" in why for why in outcome.refused.values())
    assert snapshot(photo_folder) == before
    actions.close()


def test_a_folder_where_copies_would_land_in_another_root_is_refused(tmp_path, library_dir):
    from PIL import Image

    from conftest import photo
    from simgui.core.library import Library
    card, home = tmp_path / "card" / "photos", tmp_path / "home" / "photos" / "2019"
    (card / "2019").mkdir(parents=True)
    home.mkdir(parents=True)
    Image.open(photo("rocket")).save(card / "2019" / "x.jpg")
    shutil.copy(card / "2019" / "x.jpg", card / "keep.jpg")
    Image.open(photo("chelsea")).save(home / "other.jpg")
    library = Library(library_dir)
    library.add_roots([str(card), str(home)])
    library.update()
    actions = FileActions(library)
    outcome = actions.merge_paths(str(card / "keep.jpg"), [str(card / "2019" / "x.jpg")],
                                  Disposal(str(tmp_path / "home")))  # would land in home/photos/2019: a root
    assert outcome.moved == [] and "inside the library" in outcome.refused[str(card / "2019" / "x.jpg")]
    assert sorted(os.listdir(home)) == ["other.jpg"] and (card / "2019" / "x.jpg").exists()
    actions.close()
    library.close()


@pytest.mark.parametrize("named", ["in the folder", "by a hard link outside it"])
def test_a_protected_file_never_gets_another_name(library, photo_folder, named):
    """A hard link from a copy would let an edit of that copy change the protected file: whether the keeper is
    named by its path in the protected folder or (an attacker's pass) by another name of the same file."""
    archive, work = photo_folder / "archive", photo_folder / "work"
    archive.mkdir()
    work.mkdir()
    shutil.copy(photo_folder / "rocket.jpg", archive / "rocket.jpg")
    keeper = archive / "rocket.jpg"
    if named == "by a hard link outside it":
        keeper = work / "rocket.jpg"
        os.link(archive / "rocket.jpg", keeper)
    names = os.stat(archive / "rocket.jpg").st_nlink
    library.update()
    library.set_protected([str(archive)])
    actions = FileActions(library)
    outcome = actions.merge_paths(str(keeper), [str(photo_folder / "rocket.jpg")], Disposal(hard_links=True))
    assert outcome.moved == [] and "protected" in outcome.refused[str(photo_folder / "rocket.jpg")]
    assert os.stat(archive / "rocket.jpg").st_nlink == names and os.stat(photo_folder / "rocket.jpg").st_nlink == 1
    actions.close()


def test_undo_never_brings_back_a_link_put_where_the_moved_photo_was(library, photo_folder, tmp_path):
    before = snapshot(photo_folder)
    aside = tmp_path / "aside"
    actions = FileActions(library)
    group = coffee_group(library)
    copy = next(m.image for m in group.members if not m.keeper)
    outcome = actions.merge([MergePlan(group.keeper.image, [copy])], disposal=Disposal(str(aside)))
    moved_to = aside / photo_folder.name / os.path.relpath(copy.path, photo_folder)
    elsewhere = tmp_path / "elsewhere.jpg"
    os.rename(moved_to, elsewhere)
    os.symlink(elsewhere, moved_to)  # the same bytes, through a link
    undone = actions.undo(outcome.action_id)
    assert undone.moved == [] and "link" in undone.refused[copy.path]
    assert not os.path.lexists(copy.path) and elsewhere.read_bytes() == before[copy.path]
    actions.close()


def test_a_move_to_a_folder_leaves_the_keeper_as_it_was(tmp_path, library_dir):
    """Its copies keep their date and GPS in the folder: the keeper is not rewritten (its original would
    otherwise wait in a trash that this kind of action never empties)."""
    from PIL import Image

    from conftest import photo
    from simgui.core.library import Library
    folder = tmp_path / "trip"
    folder.mkdir()
    source = Image.open(photo("chelsea")).convert("RGB")
    source.save(folder / "export_large.jpg", quality=95)
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2019:05:04 10:11:12"
    source.resize((source.width // 2, source.height // 2)).save(folder / "phone.jpg", quality=90, exif=exif.tobytes())
    keeper_bytes = (folder / "export_large.jpg").read_bytes()
    library = Library(library_dir)
    library.add_roots([str(folder)])
    library.update()
    actions = FileActions(library)
    outcome = actions.merge_group(next(g for g in library.groups() if g.kind == "near"))
    actions.undo(outcome.action_id)
    group = next(g for g in library.groups() if g.kind == "near")
    outcome = actions.merge([MergePlan.of_group(group)], disposal=Disposal(str(tmp_path / "aside")))
    assert outcome.moved == [str(folder / "phone.jpg")] and outcome.enriched == []
    assert (folder / "export_large.jpg").read_bytes() == keeper_bytes and actions.trash_size() == (0, 0)
    actions.close()
    library.close()


def test_a_kill_between_a_copys_move_and_its_hard_link_is_finished_at_the_next_start(
        library, library_dir, photo_folder, exact_copies):
    import subprocess
    import sys
    before = snapshot(photo_folder)
    keeper = exact_copies.keeper.image.path
    copies = sorted(m.image.path for m in exact_copies.members if not m.keeper)
    library.close()
    child = f"""
import os, signal
from simgui.core.files.actions import FileActions, MergePlan
from simgui.core.files.disposal import Disposal
from simgui.core.library import Library
os.link = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)  # killed right before the first link
library = Library({str(library_dir)!r})
group = next(g for g in library.groups() if g.kind == "exact")
FileActions(library).merge([MergePlan.of_group(group)], disposal=Disposal(hard_links=True))
"""
    assert subprocess.run([sys.executable, "-c", child], timeout=300).returncode == -9
    gone = [path for path in copies if not os.path.exists(path)]
    assert len(gone) == 1  # the first copy moved to the trash, its link not made

    from simgui.core.library import Library
    reopened = Library(library_dir)
    actions = FileActions(reopened)  # the start after the crash makes the link
    assert snapshot(photo_folder) == before and os.path.samefile(gone[0], keeper)
    assert actions.undo().moved == gone and snapshot(photo_folder) == before
    assert not os.path.samefile(gone[0], keeper)
    actions.close()
    reopened.close()
