"""simgui at 100,000 photos, without a day of indexing: a synthetic library of small real JPEG files whose
embeddings are made by perturbing real ones, then the figures issue 6 asks for.

    python benchmarks/scale.py [--count 100000]

One photo in ten is a near copy of the one before it (its vector and patch tokens slightly perturbed,
the tokens in the same places); the others are distinct (their tokens shuffled out of place, their
vectors far from any other). Reported: storage per photo, opening the library, `groups` (first run,
which measures the candidate pairs, and a second one), a query's whole path (decode, model, search,
re-ranking) and the resident memory of the processes. `--vectors 1000000`: the vector index alone at
a million vectors, its recall@10 against exact search and one query's latency.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from accuracy import WORK, cli  # noqa: E402

from simgui.core.library import Library  # noqa: E402
from simgui.core.store import VECTOR_DTYPE  # noqa: E402

COPY_EVERY = 10
SEED = 3


def real_embeddings() -> tuple[np.ndarray, np.ndarray]:
    """(vectors [R, dim] float32, packed tokens [R, 256, 4] uint8) of the accuracy set's real photos."""
    source = WORK / "accuracy-library"
    if not (source / "library.db").exists():
        cli(source, "index", str(WORK / "accuracy-seed23" / "library"))
    library = Library(source)
    labels, vectors, _ = library.store.vectors(library.model_id, library.dim)
    tokens = library.store.patches(labels.tolist(), library.patch_shape)
    library.close()
    return vectors, np.stack([tokens[int(l)] for l in labels])


def tiny_jpeg(rng: np.random.Generator) -> bytes:
    pixels = rng.integers(0, 255, (6, 8, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).resize((64, 48)).save(out, "JPEG", quality=80)
    return out.getvalue()


def build(folder: Path, count: int) -> Path:
    """The photos and their library; the model is never run."""
    photos, library_dir = folder / "photos", folder / "library"
    vectors, tokens = real_embeddings()
    rng = np.random.default_rng(SEED)
    library = Library(library_dir)
    root_id = library.store.add_root(str(photos))
    started = time.monotonic()
    rows, embeddings = [], []
    for n in range(count):
        sub = photos / f"day{n // 1000:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"IMG_{n:06d}.jpg"
        data = tiny_jpeg(rng)
        path.write_bytes(data)
        st = path.stat()
        digest = hashlib.sha256(data).hexdigest()
        if n % COPY_EVERY == COPY_EVERY - 1:  # a near copy of the photo before it
            base_vector, base_tokens = embeddings[-1][1], embeddings[-1][2]
            vector = base_vector + rng.normal(0, 0.01, base_vector.shape)
            flips = rng.random(base_tokens.shape[:1] + (32,)) < 0.05
        else:  # a photo of its own: far from every other, its patches out of place
            base = rng.integers(len(vectors))
            vector = vectors[base] + rng.normal(0, 0.09, vectors.shape[1])
            base_tokens = tokens[base][rng.permutation(tokens.shape[1])]
            flips = rng.random(base_tokens.shape[:1] + (32,)) < 0.2
        vector = (vector / np.linalg.norm(vector)).astype(np.float32)
        bits = np.unpackbits(base_tokens, axis=-1).astype(bool) ^ flips
        embeddings.append((digest, vector, np.packbits(bits, axis=-1)))
        rows.append((str(path), root_id, st.st_size, st.st_mtime_ns, digest, 64, 48, "JPEG", 64 * 48))
        if len(rows) == 5000 or n == count - 1:
            _insert(library, rows, embeddings[-len(rows):])
            rows = []
            embeddings = embeddings[-1:]  # the next copy needs its original
            print(f"  {n + 1} photos written ({time.monotonic() - started:.0f} s)", flush=True)
    library.close()
    return library_dir


def _insert(library: Library, rows, embeddings) -> None:
    """Straight into the tables, as the indexer would have left them."""
    db = library.store.db
    with library.store.transaction():
        db.executemany("INSERT INTO embeddings (content_hash, model, vector, patches) VALUES (?,?,?,?)",
                       [(h, library.model_id, v.astype(VECTOR_DTYPE).tobytes(), t.tobytes()) for h, v, t in embeddings])
        db.executemany("INSERT INTO images (path, root_id, size, mtime_ns, content_hash, width, height, format, "
                       "content_pixels) VALUES (?,?,?,?,?,?,?,?,?)", rows)


def timed(*command: str) -> tuple[float, float, str]:
    """(seconds, peak resident MB of the child, stdout)."""
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return time.monotonic() - started, peak, result.stdout


def vector_index_at(count: int, queries: int = 1000, k: int = 10) -> None:
    """The app's own HNSW settings with `count` vectors (real ones perturbed): recall@k against exact
    search, and one query's latency, the way the app asks (one image at a time)."""
    import tempfile

    from simgui.core.index import VectorIndex
    vectors, _ = real_embeddings()
    rng = np.random.default_rng(SEED)

    def perturbed(n: int) -> np.ndarray:
        picked = vectors[rng.integers(len(vectors), size=n)] + rng.normal(0, 0.09, (n, vectors.shape[1]))
        return (picked / np.linalg.norm(picked, axis=1, keepdims=True)).astype(np.float32)
    index = VectorIndex(Path(tempfile.mkdtemp()) / "vectors.hnsw", vectors.shape[1])
    index._rebuild(lambda labels: (np.zeros(0, np.int64), np.zeros((0, vectors.shape[1]), np.float32)))
    started, stored = time.monotonic(), []
    for start in range(0, count, 50_000):
        chunk = perturbed(min(50_000, count - start))
        index.add(np.arange(start, start + len(chunk)), chunk)
        stored.append(chunk)
        print(f"  {start + len(chunk)} vectors indexed ({time.monotonic() - started:.0f} s)", flush=True)
    everything = np.concatenate(stored)
    asked = perturbed(queries)
    exact = np.argsort(-(asked @ everything.T), axis=1)[:, :k]
    latencies, hits = [], 0
    for n, query in enumerate(asked):
        began = time.perf_counter()
        found, _ = index.search(query, k)
        latencies.append((time.perf_counter() - began) * 1000)
        hits += len(set(found[0].tolist()) & set(exact[n].tolist()))
    print(f"{count} vectors: recall@{k} {hits / (queries * k):.4f} against exact search; one query "
          f"median {statistics.median(latencies):.2f} ms, p99 {np.percentile(latencies, 99):.2f} ms; "
          f"built in {time.monotonic() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--vectors", type=int, default=0, help="instead: the vector index alone at this size")
    args = parser.parse_args()
    if args.vectors:
        vector_index_at(args.vectors)
        return
    folder = WORK / f"scale-{args.count}"
    library_dir = folder / "library"
    if not (library_dir / "library.db").exists():
        print(f"building a synthetic library of {args.count} photos in {folder}", flush=True)
        build(folder, args.count)
    simgui = [sys.executable, "-m", "simgui.cli", "--library", str(library_dir)]
    seconds, peak, _ = timed(*simgui, "stats", "--json")
    print(f"open + stats (process start to answer): {seconds:.2f} s")
    seconds, peak, out = timed(*simgui, "groups", "--json")
    groups = json.loads(out)["groups"]
    print(f"groups, first run (builds the vector index from SQLite, measures candidate pairs): {seconds:.1f} s, "
          f"{len(groups)} groups, peak RSS {peak:.0f} MB")
    seconds, peak, _ = timed(*simgui, "groups", "--json")
    print(f"groups, again: {seconds:.1f} s, peak RSS {peak:.0f} MB")

    library = Library(library_dir)
    query = str(HERE.parent / "tests" / "data" / "chelsea.jpg")
    library.query([query], 10)  # the model loaded once, as in a running app
    times = []
    for _ in range(20):
        started = time.perf_counter()
        library.query([query], 10)
        times.append((time.perf_counter() - started) * 1000)
    library.close()
    print(f"query (decode + model + search + re-ranking): median {statistics.median(times):.0f} ms, "
          f"max {max(times):.0f} ms")
    db = sqlite3_checkpoint(library_dir / "library.db")
    size = (library_dir / "library.db").stat().st_size
    index = (library_dir / "vectors.hnsw").stat().st_size
    print(f"storage: library.db {size / args.count:.0f} bytes a photo, vectors.hnsw {index / args.count:.0f} "
          f"(thumbnails aside); {db}")


def sqlite3_checkpoint(path: Path) -> str:
    import sqlite3
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    counts = db.execute("SELECT (SELECT COUNT(*) FROM images), (SELECT COUNT(*) FROM pair_agreement)").fetchone()
    db.close()
    return f"{counts[0]} photos, {counts[1]} measured pairs"


if __name__ == "__main__":
    main()
