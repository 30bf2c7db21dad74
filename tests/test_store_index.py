import numpy as np
import pytest

from simgui.core.storage.index import VectorIndex
from simgui.core.storage.store import BackdropView, LibraryStore, NewImage

MODEL = "test-model"


@pytest.fixture
def store(tmp_path):
    s = LibraryStore(tmp_path / "library.db")
    yield s
    s.close()


def unit(rng, n, dim=8):
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_wal_mode_and_integrity(store):
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_images_embeddings_and_orphans(store):
    root = store.add_root("/photos")
    assert store.add_root("/photos") == root
    with store.transaction():
        labels = store.save_embeddings(MODEL, ["h1", "h2"], unit(np.random.default_rng(0), 2),
                                       np.zeros((2, 256, 32), np.int8))
        store.save_images([NewImage("/photos/a.jpg", root, 10, 1, "h1", width=4, height=3),
                           NewImage("/photos/b.jpg", root, 10, 1, "h1", width=4, height=3),
                           NewImage("/photos/bad.jpg", root, 3, 1, error="empty file")])
    assert store.counts() == {"images": 2, "clips": 0, "skipped": 1, "unique": 1, "roots": 1}
    assert [r.path for r in store.images_by_hash(["h1"])["h1"]] == ["/photos/a.jpg", "/photos/b.jpg"]
    assert store.orphan_embeddings(kept=set()) == [labels[1]]  # nobody holds h2
    assert store.orphan_embeddings(kept={"h2"}) == []  # ... but a file in the trash does
    assert [r.path for r in store.skipped()] == ["/photos/bad.jpg"]
    # the same content saved again keeps its label
    with store.transaction():
        again = store.save_embeddings(MODEL, ["h1"], unit(np.random.default_rng(1), 1), np.zeros((1, 256, 32), np.int8))
    assert again == labels[:1]


def test_transaction_rolls_back_on_error(store):
    root = store.add_root("/photos")
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.save_images([NewImage("/photos/a.jpg", root, 1, 1, "h")])
            raise RuntimeError("crash mid-batch")
    assert store.counts()["images"] == 0


def test_decisions_are_unordered_pairs(store):
    store.add_decision("not_duplicate", "b", "a")
    assert store.decisions("not_duplicate") == {("a", "b")}


def source_for(labels, vectors):
    table = dict(zip(labels, vectors))

    def source(wanted):
        keys = sorted(table) if wanted is None else list(wanted)
        return np.array(keys), np.stack([table[k] for k in keys]) if keys else np.zeros((0, 8), np.float32)
    return source


def test_index_search_remove_save_reload(tmp_path):
    rng = np.random.default_rng(3)
    vectors = unit(rng, 50)
    labels = list(range(1, 51))
    path = tmp_path / "v.hnsw"
    index = VectorIndex.open(path, 8, labels, source_for(labels, vectors))
    assert index.rebuilt and len(index) == 50
    found, sims = index.search(vectors[:3], 1)
    assert found[:, 0].tolist() == [1, 2, 3] and np.allclose(sims[:, 0], 1.0, atol=1e-4)
    index.remove([1])
    index.save()
    # SQLite lost label 2 and gained 51 while the file was saved: reopening reconciles both ways
    extra = unit(rng, 1)
    live = [l for l in labels if l not in (1, 2)] + [51]
    table_labels, table_vectors = labels + [51], np.vstack([vectors, extra])
    reopened = VectorIndex.open(path, 8, live, source_for(table_labels, table_vectors))
    assert not reopened.rebuilt and len(reopened) == 49
    found, _ = reopened.search(np.vstack([vectors[:2], extra]), 1)
    assert found[0, 0] not in (1, 2) and found[1, 0] not in (1, 2) and found[2, 0] == 51


def test_truncated_index_is_rebuilt(tmp_path):
    rng = np.random.default_rng(4)
    vectors = unit(rng, 20)
    labels = list(range(1, 21))
    path = tmp_path / "v.hnsw"
    VectorIndex.open(path, 8, labels, source_for(labels, vectors)).save()
    path.write_bytes(path.read_bytes()[:100])
    index = VectorIndex.open(path, 8, labels, source_for(labels, vectors))
    assert index.rebuilt
    assert index.search(vectors[5], 1)[0][0, 0] == 6


def test_processes_opening_a_new_library_at_the_same_moment_all_get_in(tmp_path):
    # the app and simgui-cli started together: switching a new database to WAL used to say "locked" at once
    import subprocess
    import sys
    import time
    script = ("import sys, time\nfrom pathlib import Path\nfrom simgui.core.storage.store import LibraryStore\n"
              "from simgui.core.files.journal import MoveJournal\nwhile time.time() < float(sys.argv[2]): pass\n"
              "LibraryStore(Path(sys.argv[1]) / 'library.db'); MoveJournal(Path(sys.argv[1]) / 'journal.db')\n")
    for round_ in range(5):
        folder = tmp_path / f"library{round_}"
        folder.mkdir()
        start = str(time.time() + 1.5)  # all three past their imports, then at once
        runs = [subprocess.Popen([sys.executable, "-c", script, str(folder), start], stderr=subprocess.PIPE, text=True)
                for _ in range(3)]
        errors = [run.communicate(timeout=60)[1] for run in runs]
        assert all(run.returncode == 0 for run in runs), errors


@pytest.mark.parametrize("layout", ["float32 vectors, int8 tokens", "float16 vectors, sign-bit tokens"])
def test_a_library_of_an_earlier_format_is_compacted_on_open_and_groups_the_same(photo_folder, library_dir, layout):
    import numpy as np

    from simgui.core.library import Library
    from simgui.core.storage.store import decode_vectors
    library = Library(library_dir)
    library.add_roots([str(photo_folder)])
    library.update()
    before = sorted(sorted(m.image.path for m in g.members) for g in library.groups())
    # back to the earlier layout (the first one had no format mark)
    db = library.store.db
    rows = db.execute("SELECT id, vector, patches FROM embeddings").fetchall()
    with library.store.transaction():
        for label, vector, patches in rows:
            vector = decode_vectors([vector], library.dim)[0]
            if layout.startswith("float32"):
                signs = np.unpackbits(np.frombuffer(patches, np.uint8)).astype(np.int16)
                vector, patches = vector.tobytes(), (signs * 254 - 127).astype(np.int8).tobytes()
            else:
                vector = vector.astype(np.float16).tobytes()
            db.execute("UPDATE embeddings SET vector = ?, patches = ? WHERE id = ?", (vector, patches, label))
        db.execute("DELETE FROM meta WHERE key = 'embedding_format'")
        if layout.startswith("float16"):
            db.execute("INSERT INTO meta VALUES ('embedding_format', ?)", (layout,))
    library.close()

    reopened = Library(library_dir)
    sizes = set(reopened.store.db.execute("SELECT length(vector), length(patches) FROM embeddings"))
    assert sizes == {(4 + reopened.dim, 1024)}  # compacted, without the model
    assert sorted(sorted(m.image.path for m in g.members) for g in reopened.groups()) == before
    reopened.close()


def test_a_content_that_takes_anothers_embedding_takes_its_backdrop_view_too(store):
    # an EXIF rewrite keeps the pixels: the new content shares the old one's tokens, sketch and backdrop view
    rng = np.random.default_rng(5)
    tokens = rng.integers(-100, 100, (256, 32)).astype(np.int8)
    with store.transaction():
        (label,) = store.save_embeddings(MODEL, ["h1"], unit(rng, 1), tokens[None])
        store.save_sketches({label: b"sketch"})
        store.save_backdrop_views({label: BackdropView(tokens, b"backdrop sketch", (0.25, 0.125, 0.75, 0.875))})
        shared = store.share_embedding(MODEL, "h1", "h2")
    (view,) = store.backdrop_views([shared], (256, 32)).values()
    (before,) = store.backdrop_views([label], (256, 32)).values()
    assert shared != label and store.sketch(shared) == b"sketch"
    assert view.sketch == b"backdrop sketch" and view.subject == (0.25, 0.125, 0.75, 0.875)
    assert (view.bits == before.bits).all() and view.bits.shape == (256, 4)


def test_a_signature_stored_before_the_whole_pictures_was_kept_stands_in_for_it(store):
    """orientation.py: a content stored by an earlier version has its framed signature only (63 float16)."""
    rng = np.random.default_rng(3)
    with store.transaction():
        old, new = store.save_embeddings(MODEL, ["h1", "h2"], unit(rng, 2), np.zeros((2, 256, 32), np.int8))
    assert store.signatures()[1].shape == (0, 2, 63)  # none yet: an empty library opens
    with store.transaction():
        store.db.execute("INSERT INTO orientation_signatures VALUES (?, ?)",
                         (old, unit(rng, 1, 63)[0].astype(np.float16).tobytes()))
        store.save_signatures([new], unit(rng, 2, 63)[None])
    labels, signatures = store.signatures()
    assert labels.tolist() == [old, new] and signatures.shape == (2, 2, 63)
    assert np.array_equal(signatures[0, 0], signatures[0, 1])  # framed and whole alike
    assert not np.array_equal(signatures[1, 0], signatures[1, 1])
