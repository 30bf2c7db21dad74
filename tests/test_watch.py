"""The live library: real inotify events, a real watcher thread, real files."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import photo, save_edit
from simgui.core.library import Library
from simgui.core.jobs import Inbox, JobQueue, queued_watcher


def wait_for(condition, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def watched(photo_folder, library_dir):
    library = Library(library_dir)
    library.add_roots([str(photo_folder)])
    library.update()
    jobs = JobQueue(library, Inbox().post)  # the app's and simgui-cli watch's one thread for the library
    watcher = queued_watcher(jobs, quiet=0.3)
    watcher.start()
    assert watcher.ready.wait(30)
    yield library, watcher
    watcher.stop()
    jobs.close()


def paths(library):
    return {r.path for r in library.store.images()}


def test_rename_folder_moves_paths_without_the_model(watched, photo_folder):
    library, watcher = watched
    os.rename(photo_folder / "edits", photo_folder / "renamed")
    assert wait_for(lambda: any("/renamed/" in p for p in paths(library)) and
                    not any("/edits/" in p for p in paths(library)), timeout=5)
    assert watcher.totals.embedded == 0 and len(paths(library)) == 15


def test_new_edited_and_deleted_files(watched, photo_folder, tmp_path):
    library, watcher = watched
    fresh = save_edit(photo("chelsea"), tmp_path / "fresh.jpg", "grayscale")
    shutil.copy(fresh, photo_folder / "fresh.jpg")
    assert wait_for(lambda: str(photo_folder / "fresh.jpg") in paths(library))
    # the run's totals are counted when it ends, after the look-alike checks that follow the commit
    assert wait_for(lambda: watcher.totals.embedded >= 1)
    embedded = watcher.totals.embedded
    assert embedded == 1

    # save over an indexed file with new content: embedded once, however many events the save makes
    target = photo_folder / "coffee.jpg"
    edited = save_edit(photo("coffee"), tmp_path / "edited.jpg", "crop")
    with open(target, "wb") as out, open(edited, "rb") as src:
        out.write(src.read(1000))
        out.flush()
        time.sleep(0.2)
        out.write(src.read())
    assert watcher.idle.wait(15) and wait_for(lambda: library.store.image_by_path(str(target)).size == edited.stat().st_size)
    assert watcher.idle.wait(15)
    assert watcher.totals.embedded == embedded + 1

    os.remove(photo_folder / "fresh.jpg")
    assert wait_for(lambda: str(photo_folder / "fresh.jpg") not in paths(library))


def test_file_being_written_is_not_recorded_as_broken(watched, photo_folder):
    library, watcher = watched
    data = photo("rocket").read_bytes()
    target = photo_folder / "arriving.jpg"
    target.write_bytes(data[: len(data) // 3])  # a sync tool, part way through
    time.sleep(1.0)
    assert library.store.image_by_path(str(target)) is None  # not recorded as damaged
    target.write_bytes(data)
    assert wait_for(lambda: (r := library.store.image_by_path(str(target))) is not None and r.error is None)


def test_goes_idle_after_a_burst(watched, photo_folder):
    library, watcher = watched
    burst = photo_folder / "burst"
    burst.mkdir()
    for n in range(30):
        shutil.copy(photo("hubble_deep_field"), burst / f"copy{n}.jpg")
    assert wait_for(lambda: len(paths(library)) == 45)
    assert watcher.idle.wait(15)
    cpu = time.process_time()
    time.sleep(1.0)
    assert time.process_time() - cpu < 0.2  # no busy loop once idle


def test_cli_watch_serves_a_second_process_and_stops_on_signals(photo_folder, library_dir, tmp_path):
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "simgui.cli", "--library", str(library_dir), *args],
                              capture_output=True, text=True, timeout=120)
    assert cli("index", str(photo_folder)).returncode == 0
    for sig in (signal.SIGINT, signal.SIGTERM):
        watch = subprocess.Popen([sys.executable, "-m", "simgui.cli", "--library", str(library_dir), "watch"],
                                 stderr=subprocess.PIPE, text=True)
        try:
            assert "watching" in watch.stderr.readline() + watch.stderr.readline()
            new = save_edit(photo("astronaut"), tmp_path / f"new{sig}.jpg", "grayscale")
            arrived = photo_folder / new.name
            shutil.copy(new, arrived)

            def top_result():
                answer = json.loads(cli("query", str(new), "--top", "1", "--json").stdout)
                return answer[0]["results"][0]["path"] if answer[0]["results"] else None
            assert wait_for(lambda: top_result() == str(arrived), timeout=10)
            os.remove(arrived)
            assert wait_for(lambda: top_result() != str(arrived), timeout=10)
        finally:
            started = time.monotonic()
            watch.send_signal(sig)
            assert watch.wait(timeout=10) == 0
        assert time.monotonic() - started < 5
