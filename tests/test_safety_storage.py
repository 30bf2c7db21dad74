"""Issue 17, items 9, 12, 13, 17: a damaged vector index or library database, unreadable folders, SQLite
errors that were swallowed, nested roots, and who may read the library's database files.

Real SQLite files, real photos, the real model; code that could crash the interpreter runs in a subprocess.
"""
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import PHOTOS, cli
from simgui.core.library import Library

# opens the library's vector index the way every command does, then checks it answers: each stored vector
# finds itself, a vector added after the load is found too, and a second open after saving needs no rebuild
INDEX_CHILD = """
import json, sys
import numpy as np
from simgui.core.library import Library

def check(library):
    labels, vectors, _ = library.store.vectors(library.model_id, library.dim)
    index = library.index
    found, _ = index.search(vectors, 1)
    assert found[:, 0].tolist() == labels.tolist(), "a stored vector did not find itself"
    extra = np.random.default_rng(5).standard_normal((1, library.dim)).astype(np.float32)
    extra /= np.linalg.norm(extra)
    index.add([10**6], extra)
    assert index.search(extra, 1)[0][0, 0] == 10**6, "a vector added after the load was not found"
    index.remove([10**6])
    return index.rebuilt

library = Library(sys.argv[1])
first = check(library)
library.close()
library = Library(sys.argv[1])
second = check(library)
library.close()
print(json.dumps({"rebuilt": first, "rebuilt_again": second}))
"""

HEADER = struct.Struct("<QQQQQQiIQQQdQ")  # hnswlib's saveIndex header: 96 bytes


def open_index_in_child(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", INDEX_CHILD, str(folder)], capture_output=True, text=True,
                          timeout=300)


def index_layout(data: bytes) -> dict[str, tuple[int, int]]:
    """Byte ranges of the parts of a saved index (hnswlib's layout), for damage aimed at each."""
    _, _, count, per_element, label_offset, data_offset, *_ = HEADER.unpack_from(data)
    level0 = HEADER.size + count * per_element
    return {"header": (0, HEADER.size), "level0": (HEADER.size, level0), "upper": (level0, len(data)),
            "links": (HEADER.size, HEADER.size + data_offset), "labels": (HEADER.size + label_offset,
                                                                          HEADER.size + label_offset + 8)}


def damages(data: bytes, seed: int, count: int) -> list[tuple[str, bytes]]:
    """Seeded damages of a saved index: byte flips in each part and anywhere, truncations, a zeroed header."""
    rng = np.random.default_rng(seed)
    parts = index_layout(data)
    made = [("undamaged", data), ("zeroed header", bytes(HEADER.size) + data[HEADER.size:]), ("empty", b""),
            ("header only", data[:HEADER.size]), ("one byte short", data[:-1]), ("one byte more", data + b"\0")]
    for n in range(count):
        kind = ("flip header", "flip links", "flip anywhere", "flip upper levels", "truncate", "flip run")[n % 6]
        damaged = bytearray(data)
        if kind == "truncate":
            damaged = damaged[:int(rng.integers(1, len(data)))]
        else:
            region = {"flip header": "header", "flip links": "links", "flip upper levels": "upper"}.get(kind)
            start, end = parts[region] if region else (0, len(data))
            if kind == "flip links":  # the links of any element, not only the first
                per_element = HEADER.unpack_from(data)[3]
                start += per_element * int(rng.integers(0, (parts["level0"][1] - HEADER.size) // per_element))
                end = start + (parts["links"][1] - HEADER.size)
            for _ in range(8 if kind == "flip run" else 1):
                at = int(rng.integers(start, max(start + 1, end)))
                if at < len(damaged):
                    damaged[at] ^= int(rng.integers(1, 256))
        made.append((f"{kind} #{n}", bytes(damaged)))
    return made


@pytest.fixture
def indexed_library(photo_folder, library_dir):
    """A real library of 60 photos (the 15 of photo_folder, 45 turned and cropped copies), closed."""
    for n in range(45):
        source = Image.open(PHOTOS[n % len(PHOTOS)]).convert("RGB").rotate(n * 8, expand=True)
        source.crop((n, n, source.width - n, source.height - 2 * n)).save(photo_folder / f"turned{n:02d}.jpg")
    library = Library(library_dir)
    library.add_roots([str(photo_folder)])
    library.update()
    library.close()
    return library_dir


def test_item09_damaged_vector_index_is_rebuilt_never_crashes(indexed_library, tmp_path):
    saved = (indexed_library / "vectors.hnsw").read_bytes()
    failures = []
    for name, damaged in damages(saved, seed=9, count=96):
        folder = tmp_path / "damaged"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(indexed_library, folder)
        (folder / "vectors.hnsw").write_bytes(damaged)
        run = open_index_in_child(folder)
        if run.returncode != 0:
            failures.append(f"{name}: exit {run.returncode} {run.stderr[-300:]}")
            continue
        answer = json.loads(run.stdout)
        if name == "undamaged" and answer["rebuilt"]:
            failures.append("the undamaged index was rebuilt")
        if answer["rebuilt_again"]:
            failures.append(f"{name}: the index saved after the repair was rebuilt again")
    assert not failures, f"{len(failures)} damaged indexes failed:\n" + "\n".join(failures)


def test_item09_an_index_holding_other_vectors_under_the_same_labels_is_rebuilt(tmp_path):
    from simgui.core.storage.index import VectorIndex
    rng = np.random.default_rng(17)
    ours, theirs = (rng.standard_normal((40, 16)).astype(np.float32) for _ in range(2))
    ours, theirs = (v / np.linalg.norm(v, axis=1, keepdims=True) for v in (ours, theirs))
    labels = list(range(1, 41))

    def source(vectors):
        return lambda wanted: (np.array(labels if wanted is None else list(wanted)),
                               vectors[[label - 1 for label in (labels if wanted is None else wanted)]])
    path = tmp_path / "vectors.hnsw"
    VectorIndex.open(path, 16, labels, source(theirs)).save()  # another library's file, copied over ours
    index = VectorIndex.open(path, 16, labels, source(ours))
    assert index.rebuilt
    assert index.search(ours, 1)[0][:, 0].tolist() == labels


def test_item12_a_damaged_library_db_says_so_and_is_left_as_it_was(indexed_library_dir, photo_folder, tmp_path):
    from simgui.core.library import LibraryError
    saved = (indexed_library_dir / "library.db").read_bytes()
    page = 32768
    damaged = {"zeroed header": bytes(100) + saved[100:], "cut in half": saved[:len(saved) // 2 // page * page]}
    for n in range(1, len(saved) // page):  # every page but the first zeroed in turn: tables, indexes
        damaged[f"page {n} zeroed"] = saved[:n * page] + bytes(page) + saved[(n + 1) * page:]
    for n, (name, data) in enumerate(damaged.items()):
        folder = tmp_path / "damaged"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(indexed_library_dir, folder)
        (folder / "library.db").write_bytes(data)
        expected = f"the library database {folder / 'library.db'} is damaged"
        with pytest.raises(LibraryError, match="Nothing was changed.*move it aside") as raised:
            Library(folder)
        assert expected in str(raised.value), name
        commands = [("stats", "--json"), ("groups", "--json"), ("query", str(PHOTOS[0]), "--json"),
                    ("index", str(photo_folder))] if n < 3 else []
        for command in commands:
            run = cli(folder, *command)
            assert run.returncode == 1 and "Traceback" not in run.stderr, (name, command, run.stderr[-500:])
            assert expected in run.stderr and "restore library.db from a backup" in run.stderr.lower(), run.stderr
        assert (folder / "library.db").read_bytes() == data, name  # never written, never replaced


def test_item12_an_empty_library_db_beside_a_library_is_damage_not_a_new_library(indexed_library_dir, tmp_path):
    from simgui.core.library import LibraryError
    assert (indexed_library_dir / "vectors.hnsw").exists()
    (indexed_library_dir / "library.db").write_bytes(b"")
    with pytest.raises(LibraryError, match="is damaged .*0 bytes.*vectors.hnsw.*Nothing was changed"):
        Library(indexed_library_dir)
    run = cli(indexed_library_dir, "stats", "--json")
    assert run.returncode == 1 and "is damaged" in run.stderr and "Traceback" not in run.stderr
    assert (indexed_library_dir / "library.db").stat().st_size == 0  # not made into a new, empty library
    # an empty file alone is a library whose first start stopped before writing anything: a new one
    alone = tmp_path / "new library"
    alone.mkdir()
    (alone / "library.db").write_bytes(b"")
    Library(alone).close()
    assert json.loads(cli(alone, "stats", "--json").stdout)["images"] == 0


def mount_tmpfs(point: Path, size: str) -> bool:
    point.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
                          capture_output=True).returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    point = tmp_path / "small disk"
    if not mount_tmpfs(point, "6m"):
        pytest.skip("cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)")
    yield point
    subprocess.run(["umount", "-l", str(point)], capture_output=True)


def test_item12_a_full_disk_in_a_big_transaction_says_the_disk_is_full(small_disk):
    from simgui.core.storage.store import LibraryStore, NewImage
    store = LibraryStore(small_disk / "library.db")
    root = store.add_root("/photos")
    with store.transaction():
        store.save_images([NewImage(f"/photos/kept{n}.jpg", root, 1, 1, f"h{n}") for n in range(10)])
    # more than SQLite's page cache holds: it spills to the log mid-transaction, hits the full disk and rolls
    # the whole transaction back itself; the ROLLBACK that followed said "no transaction is active"
    rows = [NewImage(f"/photos/{n:06d}-{'x' * 300}.jpg", root, 1, 1, os.urandom(64).hex()) for n in range(20000)]
    with pytest.raises(sqlite3.OperationalError) as raised:
        with store.transaction():
            store.save_images(rows)
    assert "database or disk is full" in str(raised.value), repr(raised.value)
    assert not store.db.in_transaction and store.counts()["images"] == 10  # all of it undone, the rest intact
    with store.transaction():  # and the library goes on once there is room
        store.save_images([NewImage("/photos/after.jpg", root, 1, 1, "after")])
    assert store.counts()["images"] == 11
    store.close()


# indexes a library as an unprivileged user (root reads every folder whatever its mode): everything the run
# needs from root's own folders (modules, the model) is loaded first, then the process gives up root
UNPRIVILEGED_INDEX = """
import json, os, sys
from PIL import Image
from simgui.core.library import Library
Image.init()
library = Library(sys.argv[1])
library.model, library.index, library.groups()
os.setgid(int(sys.argv[2]))
os.setuid(int(sys.argv[2]))
report = library.update()
library.close()
print(json.dumps({"removed": report.removed, "added": report.added,
                  "unreadable": getattr(report, "unreadable_folders", None)}))
"""
NOBODY = 65534


@pytest.fixture
def outside_tmp_path():
    """A folder that another user can reach (pytest's tmp_path sits in a folder only root may enter)."""
    import tempfile
    base = Path(tempfile.mkdtemp(prefix="simgui-unreadable-"))
    yield base
    subprocess.run(["chmod", "-R", "u+rwx", str(base)], capture_output=True)
    shutil.rmtree(base, ignore_errors=True)


def test_item13_photos_in_an_unreadable_folder_keep_their_rows(photo_folder, outside_tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root, to index as another user")  # as a user, chmod 000 below is enough: not needed
    photos, library_dir = outside_tmp_path / "photos", outside_tmp_path / "library"
    shutil.copytree(photo_folder, photos)
    library = Library(library_dir)
    library.add_roots([str(photos)])
    library.update()
    library.close()
    subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", str(outside_tmp_path)], check=True)
    (photos / "edits").chmod(0)  # its owner, the user who indexes, may not list it now
    run = subprocess.run([sys.executable, "-c", UNPRIVILEGED_INDEX, str(library_dir), str(NOBODY)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout)
    assert report == {"removed": 0, "added": 0, "unreadable": [str(photos / "edits")]}
    (photos / "edits").chmod(0o755)
    library = Library(library_dir)
    kept = [image.path for image in library.store.images() if "/edits/" in image.path]
    assert len(kept) == 10 and library.stats()["images"] == 15  # as they were, like an offline folder's
    library.close()


def test_item17_nested_roots_scan_each_file_once_for_its_innermost_root(photo_folder, library_dir):
    inner = photo_folder / "edits"
    first = cli(library_dir, "index", str(photo_folder), str(inner))
    assert first.returncode == 0 and "15 files seen: 15 new" in first.stderr, first.stderr
    for _ in range(2):  # every later run: nothing new, nothing changed, nothing gone
        again = cli(library_dir, "index")
        assert again.returncode == 0 and "15 files seen: 0 new, 0 changed, 0 gone" in again.stderr, again.stderr
    library = Library(library_dir)
    assert library.folders() == [(str(photo_folder), 5, 0, True), (str(inner), 10, 0, True)]
    # a library made before: each run had moved the inner root's files to the other root
    with library.store.transaction():
        library.store.db.execute("UPDATE images SET root_id = (SELECT id FROM roots WHERE path = ?)",
                                 (str(photo_folder),))
    report = library.update()
    assert (report.added, report.updated, report.removed) == (0, 0, 0)
    assert library.folders() == [(str(photo_folder), 5, 0, True), (str(inner), 10, 0, True)]
    library.remove_root(str(inner))  # its photos come back under the outer root at the next run
    assert library.update().added == 10
    assert library.folders() == [(str(photo_folder), 15, 0, True)]
    library.close()


def test_item13_sqlite_errors_while_grouping_are_raised_unless_the_library_is_read_only(indexed_library_dir):
    from simgui.core.library import LibraryError
    library = Library(indexed_library_dir)
    expected = sorted(sorted(m.image.path for m in g.members) for g in library.groups())
    library.store.db.execute("DELETE FROM searched")  # grouping searches these again and stores what it finds
    library.store.db.execute("PRAGMA busy_timeout=300")
    other = sqlite3.connect(indexed_library_dir / "library.db")
    other.execute("BEGIN IMMEDIATE")  # another process writing: "database is locked" was ignored
    with pytest.raises(LibraryError, match="database is locked"):
        library.groups()
    other.rollback()
    other.close()
    library.store.db.execute("PRAGMA query_only=1")  # SQLite refuses writes as it does for a read-only file
    assert sorted(sorted(m.image.path for m in g.members) for g in library.groups()) == expected
    library.store.db.execute("PRAGMA query_only=0")
    library.close()


def test_item13_a_full_disk_while_opening_a_library_is_an_error_not_ignored(photo_folder, small_disk):
    from simgui.core.library import LibraryError
    library = Library(small_disk / "library")
    library.add_roots([str(photo_folder)])
    library.update()
    with library.store.transaction():  # as after an upgrade: the stored pairs are dropped at the next open
        library.store.db.execute("UPDATE meta SET value = 'an earlier method' WHERE key = 'pair_method'")
    library.close()
    with open(small_disk / "filler", "wb", buffering=0) as filler:
        with pytest.raises(OSError):
            while True:
                filler.write(b"\0" * 4096)
    os.truncate(small_disk / "filler", os.path.getsize(small_disk / "filler") - 40960)  # room to open, not write
    with pytest.raises(LibraryError, match="disk is full"):
        Library(small_disk / "library")


def modes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mode & 0o777 for p in folder.iterdir() if ".db" in p.name}


def test_item17_the_library_database_files_are_for_their_owner_only(photo_folder, library_dir):
    from simgui.core.files.journal import MoveJournal
    previous = os.umask(0o022)  # the usual one: new files readable by everyone
    try:
        library = Library(library_dir)
        library.add_roots([str(photo_folder)])
        library.update()
        journal = MoveJournal(library_dir / "journal.db")
        journal.start_action("delete", "a test")
        opened = modes(library_dir)  # the write-ahead logs and shared-memory files exist while open
        journal.close()
        library.close()
        assert opened == {name: 0o600 for name in ("library.db", "library.db-wal", "library.db-shm",
                                                   "journal.db", "journal.db-wal", "journal.db-shm")}
        assert (library_dir / "vectors.hnsw").stat().st_mode & 0o777 == 0o600
        # a library made by an earlier version, readable by everyone: made private at its next open
        for path in library_dir.iterdir():
            path.chmod(0o644)
        library = Library(library_dir)
        journal = MoveJournal(library_dir / "journal.db")
        assert set(modes(library_dir).values()) == {0o600}, modes(library_dir)
        journal.close()
        library.close()
    finally:
        os.umask(previous)
