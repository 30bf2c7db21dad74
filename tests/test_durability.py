"""Crashes and damaged files: kill -9 during indexing, a deleted or truncated vector index."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

from PIL import Image

from conftest import PHOTOS, photo


def cli(library, *args, check=True):
    run = subprocess.run([sys.executable, "-m", "simgui.cli", "--library", str(library), *args],
                         capture_output=True, text=True, timeout=300)
    assert not check or run.returncode == 0, run.stderr
    return run


def test_kill_9_twice_during_index_then_a_full_run(tmp_path):
    folder, library = tmp_path / "photos", tmp_path / "library"
    folder.mkdir()
    sources = [Image.open(p).convert("RGB") for p in PHOTOS]
    for n in range(240):
        img = sources[n % len(sources)]
        w, h = img.size
        img.crop((n % 37, n % 23, w - n % 41, h - n % 19)).save(folder / f"img{n:03d}.jpg", quality=85)
    def count() -> int:
        try:
            with sqlite3.connect(library / "library.db", timeout=5) as db:
                return db.execute("SELECT COUNT(*) FROM images").fetchone()[0]
        except sqlite3.OperationalError:  # not created yet
            return 0

    indexed = [0]
    for _ in range(2):  # killed mid-run, twice: once as it starts filling, once with a part-filled library
        proc = subprocess.Popen([sys.executable, "-m", "simgui.cli", "--library", str(library), "index", str(folder)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while count() < indexed[-1] + 20 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)  # some batches are in: now the kill lands in the middle of the run
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        indexed.append(count())
    assert 0 < indexed[1] < 240 and indexed[1] <= indexed[2]
    cli(library, "index", str(folder))
    db = sqlite3.connect(library / "library.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    paths = [r[0] for r in db.execute("SELECT path FROM images")]
    assert len(paths) == len(set(paths)) == 240  # every image indexed once
    assert db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] == 240
    answer = json.loads(cli(library, "query", str(folder / "img007.jpg"), "--top", "10", "--json").stdout)
    results = [r["path"] for r in answer[0]["results"]]
    assert results[0] == str(folder / "img007.jpg") and len(results) == len(set(results))


def test_deleted_or_truncated_vector_index_is_rebuilt(tmp_path):
    folder, library = tmp_path / "photos", tmp_path / "library"
    folder.mkdir()
    for p in PHOTOS:
        (folder / p.name).write_bytes(p.read_bytes())
    cli(library, "index", str(folder))
    index_file = library / "vectors.hnsw"
    for damage in ("delete", "truncate"):
        if damage == "delete":
            os.remove(index_file)
        else:
            index_file.write_bytes(index_file.read_bytes()[:200])
        answer = json.loads(cli(library, "query", str(photo("rocket")), "--top", "1", "--json").stdout)
        assert answer[0]["results"][0]["path"] == str(folder / "rocket.jpg")
        assert index_file.stat().st_size > 200  # rebuilt and saved again
