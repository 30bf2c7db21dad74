"""Issue 17: 200 random SIGKILLs of simgui-cli during delete, merge, undo and empty-trash.

A seeded random walk of file actions through the real CLI, each process killed after a random delay.
After every kill the library is opened again (what the next start does: the journal's recovery, then
library.db brought in step) and checked: every photo the folder ever held is in its place byte for byte,
or in simgui's trash where `history` says it is (so undo can reach it), or in the system trash after
empty-trash; and `history` lists every file that is in simgui's trash.
"""
import hashlib
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import indexed_noise_photos
from simgui.core.files.actions import TRASH_FOLDER, FileActions
from simgui.core.answers import history_answer
from simgui.core.files.journal import MoveJournal
from simgui.core.library import Library

KILLS = 200
PHOTOS = 300
SEED = 20261125


def digest(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def walk_library(tmp_path_factory):
    base = tmp_path_factory.mktemp("kills")
    indexed_noise_photos(base, PHOTOS, seed=3)
    return base


def system_trash_contents() -> set[str]:
    folder = Path(os.environ["XDG_DATA_HOME"]) / "Trash" / "files"
    return {digest(p) for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def restart_and_check(base: Path, original: dict[str, str]) -> list[str]:
    """Opens the library as the next start would, checks that nothing is lost; returns the photos that
    an action may name now (in the library, and in place)."""
    library = Library(base / "library")
    actions = FileActions(library)  # recovery, then library.db caught up with the journal
    history = [history_answer(a, actions.journal.moves(a.id)) for a in actions.history(None)]
    where = {}
    for action in reversed(history):  # oldest first: a later move of the same path tells where it is now
        for move in action["moves"]:
            where[move["path"]] = move
    emptied = system_trash_contents()
    for path, content in original.items():
        if os.path.exists(path) and digest(path) == content:
            continue
        move = where.get(path)
        assert move is not None, f"{path} is gone and history does not say where it went"
        if move["state"] == "in simgui's trash":
            assert digest(move["trash"]) == content, f"{path}: its file in the trash is not the photo"
        else:
            assert move["state"] == "in the system trash" and content in emptied, f"{path} is lost"
    in_trash = {m["trash"] for a in history for m in a["moves"] if m["state"] == "in simgui's trash"}
    for file in (base / "photos").rglob("*"):
        if file.is_file() and TRASH_FOLDER in file.parts:
            assert str(file) in in_trash, f"{file} is in simgui's trash but history does not list it"
    nameable = [i.path for i in library.store.images("error IS NULL") if os.path.exists(i.path)]
    actions.close()
    library.close()
    return nameable


def random_command(rng: random.Random, nameable: list[str]) -> list[str]:
    roll = rng.random()
    if roll < 0.1:
        return ["empty-trash"]
    if roll < 0.45:
        return ["undo"]
    chosen = rng.sample(nameable, min(len(nameable) // 2, rng.randint(40, 100)))  # most kills land among its moves
    return (["delete"] if roll < 0.7 else ["merge"]) + chosen


def interrupted(base: Path) -> bool:
    """Whether the kill left an action half done: a move or a library.db update the journal had not finished."""
    journal = MoveJournal(base / "library" / "journal.db")  # read only: no recovery runs here
    half_done = bool(journal.moves(states=("planned", "restoring", "emptying")) or journal.unsynced_actions())
    journal.close()
    return half_done


def run_and_kill(base: Path, command: list[str], fraction: float, span: float) -> tuple[bool, float | None]:
    """Runs simgui-cli and kills it `fraction` x `span` seconds after its first journal write (its action has
    begun): (killed before it finished, seconds from that write to its end when it was not killed)."""
    watcher = sqlite3.connect(base / "library" / "journal.db")
    version = watcher.execute("PRAGMA data_version").fetchone()[0]  # changes when another process commits
    child = subprocess.Popen([sys.executable, "-m", "simgui.cli", "--library", str(base / "library"), *command],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while child.poll() is None and watcher.execute("PRAGMA data_version").fetchone()[0] == version:
        time.sleep(0.002)
    watcher.close()
    began = time.monotonic()
    # a whole action can take a few tens of milliseconds: a fine-grained wait (Popen.wait polls every 50 ms)
    while child.poll() is None and time.monotonic() - began < fraction * span:
        time.sleep(0.0005)
    if child.poll() is not None:
        return False, time.monotonic() - began
    child.send_signal(signal.SIGKILL)
    child.wait()
    return True, None


# 200 kills, each followed by a whole check of the library: 400 s alone on a 2-core machine, and a CI run beside
# other work took it past the suite's 600 s limit (a limit only against a hang: wide headroom here)
@pytest.mark.timeout(1800)
def test_200_random_kills_during_file_actions_lose_nothing(walk_library):
    base = walk_library
    original = {str(p): digest(p) for p in (base / "photos").rglob("*.jpg")}
    rng = random.Random(SEED)
    nameable = restart_and_check(base, original)
    # seconds from an action's first journal write to its end, as runs that were not killed took here
    took = {"delete": [0.1], "merge": [0.1], "undo": [0.1], "empty-trash": [0.1]}
    killed, half_done, runs = 0, 0, 0
    while killed < KILLS and runs < 4 * KILLS:  # runs with nothing to do (an empty trash) end before a kill
        runs += 1
        if len(nameable) < 60:  # empty-trash took most photos out of the library for good: new ones come in
            photos = indexed_noise_photos(base, PHOTOS // 2, seed=runs, subfolder=f"later{runs}")
            original.update({str(p): digest(p) for p in (photos / f"later{runs}").rglob("*.jpg")})
            nameable = restart_and_check(base, original)
        command = random_command(rng, nameable)
        span = statistics.median(took[command[0]][-9:])
        was_killed, seconds = run_and_kill(base, command, rng.uniform(0.0, 0.9), span)
        if was_killed:
            killed += 1
            half_done += interrupted(base)
        elif seconds > 0.01:  # it had something to do
            took[command[0]].append(seconds)
        nameable = restart_and_check(base, original)
    print(f"{runs} runs: {killed} killed before they finished, {half_done} of them in the middle of an action "
          f"(median seconds an action ran: { {k: round(statistics.median(v), 3) for k, v in took.items()} })")
    # the kills really hit running actions: about half land in the middle of one (97 to 100-odd of 200 in CI);
    # how many does not depend on the code under test but on the machine's timing, so the bound leaves headroom
    assert killed == KILLS and half_done >= KILLS // 4
    library = Library(base / "library")
    actions = FileActions(library)
    while actions.undo().action_id is not None:  # and everything still in simgui's trash comes back
        pass
    actions.close()
    library.close()
    restart_and_check(base, original)
