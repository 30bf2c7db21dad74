import os
import shutil
import threading
import time

import pytest

from conftest import photo, save_edit, stem_of
from simgui.core.library import Library


@pytest.fixture
def library(library_dir):
    lib = Library(library_dir)
    yield lib
    lib.close()


def index(library, folder=None):
    if folder:
        library.add_roots([str(folder)])
    return library.update()


def test_first_run_embeds_everything_second_run_nothing(library, photo_folder):
    first = index(library, photo_folder)
    assert (first.added, first.embedded, first.skipped) == (15, 15, 0)
    second = index(library)
    assert (second.added, second.updated, second.removed, second.embedded) == (0, 0, 0, 0)
    assert library.stats()["images"] == 15


def test_moved_and_copied_files_reuse_their_vector(library, photo_folder):
    index(library, photo_folder)
    os.rename(photo_folder / "coffee.jpg", photo_folder / "edits" / "coffee_moved.jpg")
    shutil.copy(photo_folder / "rocket.jpg", photo_folder / "rocket_copy.jpg")
    report = index(library)
    assert report.embedded == 0 and report.reused == 2 and report.removed == 1
    moved = library.store.image_by_path(str(photo_folder / "edits" / "coffee_moved.jpg"))
    assert moved.width == 600 and moved.perceptual_hash is not None  # metadata came along
    exact = [g for g in library.groups() if g.kind == "exact"]
    assert [sorted(os.path.basename(m.image.path) for m in g.members) for g in exact] == [["rocket.jpg", "rocket_copy.jpg"]]


def test_edited_file_is_embedded_again_and_deleted_file_leaves(library, photo_folder):
    index(library, photo_folder)
    vectors_before = library.stats()["vectors"]
    target = photo_folder / "chelsea.jpg"
    shutil.copy(photo("hubble_deep_field"), target)  # saved over with other content
    os.utime(target, ns=(time.time_ns(), time.time_ns() + 10**9))
    os.remove(photo_folder / "astronaut.jpg")
    report = index(library)
    assert report.updated == 1 and report.embedded == 0 and report.removed == 1  # hubble's content was known
    assert library.stats()["images"] == 14
    # the contents of the old chelsea.jpg and of astronaut.jpg are held by no file any more
    assert library.stats()["vectors"] == vectors_before - 2
    answers = library.query([str(photo("chelsea"))], top=3)
    assert all("chelsea.jpg" != os.path.basename(m.image.path) for m in answers[0][1])


def test_hostile_folder(library, tmp_path):
    folder = tmp_path / "hostile"
    folder.mkdir()
    for name in ("chelsea", "coffee"):
        shutil.copy(photo(name), folder / f"{name}.jpg")
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "truncated.jpg").write_bytes(photo("rocket").read_bytes()[:4000])
    (folder / "random.jpg").write_bytes(os.urandom(3000))
    (folder / "text.png").write_text("not a picture")
    os.mkfifo(folder / "fifo.jpg")
    os.symlink("/nonexistent/x.jpg", folder / "dangling.jpg")
    os.symlink("loop.jpg", folder / "loop.jpg")
    (folder / "album.jpg").mkdir()
    shutil.copy(photo("rocket"), folder / "album.jpg" / "inside.jpg")
    os.symlink("..", folder / "album.jpg" / "up")
    report = index(library, folder)
    assert report.skipped == 7
    reasons = {os.path.basename(r.path): r.error for r in library.store.skipped()}
    assert reasons == {
        "empty.jpg": "empty file", "fifo.jpg": "not a regular file", "random.jpg": "not an image (unknown content)",
        "text.png": "not an image (unknown content)", "dangling.jpg": "symbolic link (not followed)",
        "loop.jpg": "symbolic link (not followed)", "truncated.jpg": reasons["truncated.jpg"],
    }
    assert reasons["truncated.jpg"].startswith("damaged JPEG")
    assert library.stats()["images"] == 3  # the folder named album.jpg was walked into
    again = index(library)
    assert (again.added, again.updated, again.removed, again.skipped, again.embedded) == (0, 0, 0, 0, 0)


def test_cancel_stops_early_and_next_run_finishes(library, photo_folder):
    cancel = threading.Event()
    seen = []

    def progress(p):
        seen.append(p.done)
        if p.done >= 2:
            cancel.set()
    library.add_roots([str(photo_folder)])
    report = library.update(progress, cancel)
    assert report.cancelled and library.stats()["images"] < 15
    assert index(library).cancelled is False and library.stats()["images"] == 15


def test_offline_root_is_kept(library, photo_folder, tmp_path):
    index(library, photo_folder)
    photo_folder.rename(tmp_path / "unplugged")
    report = index(library)
    assert report.offline_roots == [str(photo_folder)] and library.stats()["images"] == 15


def test_a_photo_read_ahead_of_its_drop_is_answered_alike_and_read_again_once_changed(library, photo_folder,
                                                                                     tmp_path):
    index(library, photo_folder)
    dropped = tmp_path / "dropped.jpg"
    save_edit(photo("coffee"), dropped, "crop")
    library.read_ahead(str(dropped))  # the app does it while the file is dragged over its window
    [(_, ahead)] = library.query([str(dropped)], top=3)
    assert [stem_of(m.image.path) for m in ahead] == ["coffee"] * 3

    shutil.copy(photo("rocket"), dropped)  # another photo saved under the same name before the drop
    os.utime(dropped, ns=(time.time_ns(), time.time_ns() + 10**9))
    [(_, changed)] = library.query([str(dropped)], top=3)
    assert stem_of(changed[0].image.path) == "rocket"
    dropped.write_bytes(b"")
    [(_, reason)] = library.query([str(dropped)], top=3)
    assert reason == "empty file"


def test_a_copy_met_later_in_the_same_run_reuses_the_vector_stored_earlier_in_it(library, tmp_path):
    """A first run over a phone backup: the same photo in two folders, far apart in the walk. The copy met after its
    content was stored by the run is hashed, not decoded and embedded again."""
    import numpy as np
    from PIL import Image

    folder = tmp_path / "backup"
    (folder / "a").mkdir(parents=True)
    shutil.copy(photo("coffee"), folder / "a" / "coffee.jpg")
    rng = np.random.default_rng(5)
    (folder / "m").mkdir()
    for n in range(50):  # three batches of the model's between the two copies
        Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)).resize((96, 72)).save(
            folder / "m" / f"IMG_{n:04d}.jpg", quality=90)
    (folder / "z").mkdir()
    shutil.copy(photo("coffee"), folder / "z" / "coffee copy.jpg")
    report = index(library, folder)
    assert (report.added, report.embedded, report.reused, report.skipped) == (52, 51, 1, 0)
    copy = library.store.image_by_path(str(folder / "z" / "coffee copy.jpg"))
    assert copy.width == 600 and copy.perceptual_hash is not None  # its metadata came from the stored one
    exact = [g for g in library.groups() if g.kind == "exact"]
    assert [sorted(os.path.basename(m.image.path) for m in g.members) for g in exact] == [["coffee copy.jpg", "coffee.jpg"]]
