"""A 200-file merge, and its undo, killed with SIGKILL at 22 points: after each restart every photo exists
exactly once (in its place or in the trash), and undo brings every one back, byte for byte."""
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import indexed_noise_photos
from simgui.core.files.actions import TRASH_FOLDER, FileActions
from simgui.core.library import Library

CHILD = Path(__file__).with_name("crash_child.py")
FILES = 200
MERGE_POINTS = [("before", 1), ("after", 1), ("before", 2), ("after", 10), ("before", 50), ("after", 50),
                ("before", 100), ("after", 100), ("before", 150), ("after", 150), ("before", 199),
                ("after", 199), ("store", 0)]
UNDO_POINTS = [("before", 1), ("after", 1), ("before", 100), ("after", 100), ("before", 199), ("after", 199),
               ("after", 60), ("before", 160), ("store", 0)]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """200 photos (distinct bytes) in subfolders, indexed once where every case works (the library holds
    absolute paths), and a copy of that state to reset each case from."""
    base = tmp_path_factory.mktemp("merge200")
    work, backup = base / "work", base / "pristine"
    indexed_noise_photos(work, FILES, seed=5)
    shutil.copytree(work, backup)
    return work, backup


@pytest.fixture
def case(pristine):
    work, backup = pristine
    shutil.rmtree(work)
    shutil.copytree(backup, work)
    return work


def contents(folder: Path) -> dict[str, int]:
    """How many copies of each content are anywhere under the folder, trash included."""
    counts: dict[str, int] = {}
    for path in folder.rglob("*"):
        if path.is_file() and not path.name.startswith(".simgui-"):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            counts[digest] = counts.get(digest, 0) + 1
    return counts


def in_place(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in folder.rglob("*") if p.is_file() and TRASH_FOLDER not in p.parts}


def run_child(base: Path, phase: str, point: str, n: int) -> int:
    return subprocess.run([sys.executable, str(CHILD), str(base / "library"), phase, point, str(n)],
                          capture_output=True, timeout=300).returncode


def restart_and_check(base: Path, original: dict[str, bytes]) -> None:
    """What a user gets on the next start: journal recovery, then every photo once; undo restores them all."""
    photos = base / "photos"
    library = Library(base / "library")
    actions = FileActions(library)  # recover() runs here
    expected = {hashlib.sha256(b).hexdigest(): 1 for b in original.values()}
    assert contents(photos) == expected, "a photo is missing or doubled after the crash"
    for _ in range(3):  # the merge, plus whatever a killed undo left to do
        if not actions.undo().moved:
            break
    assert in_place(photos) == original
    assert contents(photos) == expected
    library.update()
    assert library.stats()["images"] == FILES
    actions.close()
    library.close()


@pytest.mark.parametrize("point,n", MERGE_POINTS, ids=[f"merge-{p}-{n}" for p, n in MERGE_POINTS])
def test_merge_killed(case, point, n):
    base = case
    original = in_place(base / "photos")
    assert run_child(base, "merge", point, n) == -9  # it really died there
    assert len(in_place(base / "photos")) < FILES or point == "before" and n == 1  # ...in the middle of moving
    restart_and_check(base, original)


@pytest.mark.parametrize("point,n", UNDO_POINTS, ids=[f"undo-{p}-{n}" for p, n in UNDO_POINTS])
def test_undo_killed(case, point, n):
    base = case
    original = in_place(base / "photos")
    assert run_child(base, "merge", "never", 0) == 0
    assert len(in_place(base / "photos")) == 1  # merged: only the keeper is left in place
    assert run_child(base, "undo", point, n) == -9
    restart_and_check(base, original)
