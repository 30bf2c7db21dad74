"""simgui at 100,000 photos, without a day of indexing: a synthetic library of small real JPEG files whose
embeddings are drawn to look like real ones, then the figures issue 6 asks for.

    python benchmarks/scale.py [--count 100000]

Synthetic vectors: a Gaussian with the mean and covariance of the model's vectors of 4,000 real photo crops
(cut from the benchmark's real photos), L2-normalised. Its local intrinsic dimension (the measure of how
hard nearest-neighbour search is) is printed beside the real crops': the synthetic set is the harder one,
and its neighbours are as close as a real library's (every photo has 16 neighbours above the candidate
cosine, so every photo brings its share of patch checks). Perturbing real vectors with isotropic noise, as
this benchmark first did, gives near-random vectors: no candidate pairs at all, and a flattering picture.

One photo in ten is a near copy of the one before it (its vector and patch tokens slightly perturbed, the
tokens in the same places); the others are distinct (real tokens shuffled out of place). Reported: storage
per photo, what indexing's last step (candidate search and patch checks) costs, opening the library,
`groups`, a query's whole path (decode, model, search, re-ranking) and the resident memory of the
processes. `--vectors 1000000`: the vector index alone at a million vectors, its recall@10 against exact
search and one query's latency.
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

from simgui.core.matching.grouping import GroupFinder  # noqa: E402
from simgui.core.library import Library  # noqa: E402
from simgui.core.storage.store import encode_vector  # noqa: E402

COPY_EVERY = 10
SEED = 3


def real_tokens() -> np.ndarray:
    """Packed patch tokens [R, 256, 4] uint8 of the accuracy set's real photos."""
    source = WORK / "accuracy-library"
    if not (source / "library.db").exists():
        cli(source, "index", str(WORK / "accuracy-seed23" / "library"))
    library = Library(source)
    labels = library.store.live_labels(library.model_id)
    tokens = library.store.patches(labels, library.patch_shape)
    library.close()
    return np.stack([tokens[label] for label in labels])


def real_crop_vectors(count: int = 4000) -> np.ndarray:
    """The model's vectors of `count` random crops (4-70 % of the area, half of them mirrored) of the
    benchmark's real photos; cached in .bench."""
    cache = WORK / f"real-crop-vectors-{count}.npy"
    if cache.exists():
        return np.load(cache)
    from dataset import load_source, skimage_files, wallpaper_files

    from simgui.core.media.embed import EmbeddingModel
    rng = np.random.default_rng(SEED)
    sources = []
    for path in wallpaper_files() + skimage_files():
        img = load_source(path)
        scale = 700 / min(img.size)  # big enough for small crops, small enough to crop fast
        sources.append(img.resize((max(224, round(img.width * scale)), max(224, round(img.height * scale)))))
    model, found = EmbeddingModel(), []
    for start in range(0, count, 16):
        crops = []
        for _ in range(min(16, count - start)):
            img = sources[rng.integers(len(sources))]
            area, aspect = rng.uniform(0.04, 0.7), np.exp(rng.uniform(-0.5, 0.5))
            w = int(min(img.width, img.width * np.sqrt(area * aspect)))
            h = int(min(img.height, img.height * np.sqrt(area / aspect)))
            x, y = int(rng.integers(0, img.width - w + 1)), int(rng.integers(0, img.height - h + 1))
            crop = img.crop((x, y, x + w, y + h))
            crops.append(crop.transpose(Image.FLIP_LEFT_RIGHT) if rng.random() < 0.5 else crop)
        found.append(model.embed(crops).vectors)
        if (start + len(crops)) % 800 == 0:
            print(f"  embedding real crops {start + len(crops)}/{count}", flush=True)
    vectors = np.concatenate(found)
    np.save(cache, vectors)
    return vectors


class PhotoLikeVectors:
    """Unit vectors drawn from a Gaussian with the mean and covariance of real photos' vectors."""

    def __init__(self, real: np.ndarray, seed: int):
        real = real.astype(np.float64)
        self.mean = real.mean(0)
        self.shape = np.linalg.cholesky(np.cov(real.T) + 1e-9 * np.eye(real.shape[1]))
        self.rng = np.random.default_rng(seed)

    def draw(self, n: int) -> np.ndarray:
        x = self.mean + self.rng.standard_normal((n, len(self.mean))) @ self.shape.T
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def local_intrinsic_dimension(vectors: np.ndarray, k: int = 20, sample: int = 500) -> float:
    """The maximum-likelihood LID estimate (Levina-Bickel) from each sampled point's k nearest neighbours:
    the higher, the harder approximate search is."""
    distances = np.sqrt(np.maximum(2 - 2 * (vectors[:sample] @ vectors.T), 0))
    distances.sort(axis=1)
    near = distances[:, 1:k + 1]
    return float(np.mean(-1 / np.mean(np.log(near[:, :-1] / near[:, -1:] + 1e-12), axis=1)))


def tiny_jpeg(rng: np.random.Generator) -> bytes:
    pixels = rng.integers(0, 255, (6, 8, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).resize((64, 48)).save(out, "JPEG", quality=80)
    return out.getvalue()


def build(folder: Path, count: int) -> Path:
    """The photos and their library; the model is never run."""
    photos, library_dir = folder / "photos", folder / "library"
    tokens = real_tokens()
    drawn = PhotoLikeVectors(real_crop_vectors(), SEED)
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
        else:  # a photo of its own, its patches out of place
            vector = drawn.draw(1)[0]
            base_tokens = tokens[rng.integers(len(tokens))][rng.permutation(tokens.shape[1])]
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
    finish_indexing(library_dir)
    return library_dir


def finish_indexing(library_dir: Path) -> None:
    """What an index run of all these photos does after the model: the vector index, then the look-alike
    search and patch checks of every new photo (pipeline.Indexer._check_look_alikes)."""
    started = time.monotonic()
    library = Library(library_dir)
    labels, vectors, _ = library.store.vectors(library.model_id, library.dim)
    GroupFinder(library).check_new(labels, vectors)
    library.index.save()
    library.close()
    seconds = time.monotonic() - started
    print(f"indexing's last steps (vector index, look-alike search, patch checks): {seconds:.0f} s, "
          f"{seconds / len(labels) * 1000:.1f} ms a photo", flush=True)


def _insert(library: Library, rows, embeddings) -> None:
    """Straight into the tables, as the indexer would have left them."""
    db = library.store.db
    with library.store.transaction():
        db.executemany("INSERT INTO embeddings (content_hash, model, vector, patches) VALUES (?,?,?,?)",
                       [(h, library.model_id, encode_vector(v), t.tobytes()) for h, v, t in embeddings])
        db.executemany("INSERT INTO images (path, root_id, size, mtime_ns, content_hash, width, height, format, "
                       "content_pixels) VALUES (?,?,?,?,?,?,?,?,?)", rows)
        # orientation signatures (orientation.py), one a photo, so a query compares against all of them
        labels = [label for (label,) in db.execute("SELECT id FROM embeddings WHERE content_hash IN (%s)" % ",".join(
            "?" * len(embeddings)), [h for h, _, _ in embeddings])]
        signatures = np.random.default_rng(len(labels)).normal(size=(len(labels), 63)).astype(np.float32)
        library.store.save_signatures(labels, signatures / np.linalg.norm(signatures, axis=1, keepdims=True))


def timed(*command: str) -> tuple[float, float, str]:
    """(seconds, peak resident MB of the child, stdout)."""
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return time.monotonic() - started, peak, result.stdout


def vector_index_at(count: int, queries: int = 1000, k: int = 10) -> None:
    """The app's own HNSW settings with `count` photo-like vectors: recall@k against exact search, and one
    query's latency, the way the app asks (one image at a time)."""
    import tempfile

    from simgui.core.storage import index as index_module
    from simgui.core.storage.index import VectorIndex
    real = real_crop_vectors()
    drawn = PhotoLikeVectors(real, SEED)
    real = real / np.linalg.norm(real, axis=1, keepdims=True)
    print(f"local intrinsic dimension: real crops {local_intrinsic_dimension(real):.1f}, "
          f"synthetic {local_intrinsic_dimension(drawn.draw(len(real))):.1f} (higher is harder)")
    index = VectorIndex(Path(tempfile.mkdtemp()) / "vectors.hnsw", real.shape[1])
    index._rebuild(lambda labels: (np.zeros(0, np.int64), np.zeros((0, real.shape[1]), np.float32)))
    started, stored = time.monotonic(), []
    for start in range(0, count, 50_000):
        chunk = drawn.draw(min(50_000, count - start))
        index.add(np.arange(start, start + len(chunk)), chunk)
        stored.append(chunk)
        print(f"  {start + len(chunk)} vectors indexed ({time.monotonic() - started:.0f} s)", flush=True)
    built = time.monotonic() - started
    everything = np.concatenate(stored)
    del stored
    asked = drawn.draw(queries)
    exact = np.concatenate([np.argpartition(-(part @ everything.T), k, axis=1)[:, :k]
                            for part in np.array_split(asked, max(1, queries // 50))])
    print(f"{count} vectors built in {built:.0f} s; the app searches with ef {index_module.EF_SEARCH}")
    app_setting = index_module.EF_SEARCH
    for ef in sorted({64, 96, 128, app_setting, 256}):
        index_module.EF_SEARCH = ef  # what the app would find with another setting
        latencies, hits = [], 0
        for n, query in enumerate(asked):
            began = time.perf_counter()
            found, _ = index.search(query, k)
            latencies.append((time.perf_counter() - began) * 1000)
            hits += len(set(found[0].tolist()) & set(exact[n].tolist()))
        print(f"  ef {ef}{' (the app)' if ef == app_setting else ''}: recall@{k} {hits / (queries * k):.4f} against "
              f"exact search; one query median {statistics.median(latencies):.2f} ms, "
              f"p99 {np.percentile(latencies, 99):.2f} ms", flush=True)
    index_module.EF_SEARCH = app_setting


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
    kinds = {kind: sum(g["kind"] == kind for g in groups) for kind in ("exact", "near", "similar")}
    print(f"groups, first run: {seconds:.1f} s, {len(groups)} groups {kinds}, peak RSS {peak:.0f} MB")
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
