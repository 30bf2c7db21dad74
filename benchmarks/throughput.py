"""Indexing speed on camera-sized JPEGs: simgui against czkawka and against the floors, in one run.

    python benchmarks/throughput.py [--count 150] [--rounds 2]

- simgui: wall time of a whole `simgui-cli index` process on a fresh library (start-up,
  model load, scan, read, hash, decode, model, SQLite, HNSW: everything a user waits for).
- czkawka: `ImageSimilarity.find_similar()` on the same folder, in-process (its hashing of
  every image, and its grouping), with its hash cache removed before each round.
- decode floor: our decode (read, hash, JPEG draft-mode decode) on the same threads, no model.
- model floor: the model alone on already-preprocessed batches.
Rounds alternate between the tools; the best round of each counts. Ratios are what to read.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
WORK = HERE.parent / ".bench"


def make_camera_jpegs(folder: Path, count: int) -> list[Path]:
    """4000x3000 JPEGs at quality 92 with sensor grain (3-5 MB, like a 12 MP camera's), cut and scaled
    from the benchmark's real photos."""
    folder.mkdir(parents=True, exist_ok=True)
    if len(list(folder.glob("*.jpg"))) < count:
        for n, frame in _camera_frames(count, 5, (4000, 3000)):
            # grain keeps an upscaled picture from compressing to a quarter of a real camera file
            frame.save(folder / f"cam{n:04d}.jpg", quality=92)
            print(f"\rmaking camera JPEGs {n + 1}/{count}", end="", file=sys.stderr)
        print(file=sys.stderr)
    return sorted(folder.glob("*.jpg"))[:count]


def _camera_frames(count: int, seed: int, size: tuple[int, int]):
    """Real photos, each a different window of its source, at a camera's size, with sensor grain."""
    from dataset import skimage_files, wallpaper_files

    sources = wallpaper_files() + skimage_files()
    rng = np.random.default_rng(seed)
    for n in range(count):
        img = Image.open(sources[n % len(sources)]).convert("RGB")
        w, h = img.size
        cw, ch = int(w * rng.uniform(0.6, 1.0)), int(h * rng.uniform(0.6, 1.0))
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        frame = np.asarray(img.crop((x, y, x + cw, y + ch)).resize(size, Image.BICUBIC), np.float32)
        frame += rng.normal(0, 5, frame.shape).astype(np.float32)
        yield n, Image.fromarray(np.clip(frame, 0, 255).astype(np.uint8))


def make_phone_heics(folder: Path, count: int) -> list[Path]:
    """12 MP HEICs (4032x3024) with the 320x240 thumbnail an iPhone writes."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    folder.mkdir(parents=True, exist_ok=True)
    for n, frame in _camera_frames(count, 11, (4032, 3024)):
        target = folder / f"IMG_{n:04d}.HEIC"
        if not target.exists():
            # x265's fastest preset: 0.9 s a file instead of 6 (the thumbnail, which is what is read, is alike)
            frame.save(target, "HEIF", quality=80, thumbnails=[320], enc_params={"preset": "ultrafast"})
            print(f"\rmaking phone HEICs {n + 1}/{count}", end="", file=sys.stderr)
    print(file=sys.stderr)
    return sorted(folder.glob("*.HEIC"))[:count]


def make_raw_dngs(folder: Path, count: int) -> list[Path]:
    """12 MP DNGs (4000x3000, 12-bit sensor data) with a full-size JPEG preview, as cameras write them."""
    sys.path.insert(0, str(HERE.parent / "tests"))
    from raw_files import write_dng

    folder.mkdir(parents=True, exist_ok=True)
    for n, frame in _camera_frames(count, 13, (4000, 3000)):
        target = folder / f"DSC_{n:04d}.dng"
        if not target.exists():
            write_dng(frame, target, preview=True)
            print(f"\rmaking DNGs {n + 1}/{count}", end="", file=sys.stderr)
    print(file=sys.stderr)
    return sorted(folder.glob("*.dng"))[:count]


def time_simgui(folder: Path) -> float:
    library = Path(tempfile.mkdtemp(prefix="simgui-bench-"))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "simgui.cli", "--library", str(library), "index", str(folder)],
                   check=True, capture_output=True)
    elapsed = time.perf_counter() - start
    shutil.rmtree(library)
    return elapsed


def czkawka_cache_dirs() -> list[Path]:
    home = Path.home()
    return [home / ".cache" / "czkawka", home / ".config" / "czkawka"]


def time_czkawka(folder: Path) -> float:
    from czkawka import ImageSimilarity

    for cache in czkawka_cache_dirs():
        shutil.rmtree(cache, ignore_errors=True)
    start = time.perf_counter()
    finder = ImageSimilarity()
    finder.set_directories([folder])
    finder.set_similarity(10)
    finder.find_similar()
    return time.perf_counter() - start


def time_decode_floor(files: list[Path]) -> float:
    from simgui.core.media.decode import decode_file
    from simgui.core.indexing.pipeline import decode_threads

    start = time.perf_counter()
    with ThreadPoolExecutor(decode_threads()) as pool:
        list(pool.map(lambda p: decode_file(str(p)), files))
    return time.perf_counter() - start


def time_model_floor(files: list[Path]) -> float:
    from simgui.core.media.decode import decode_file
    from simgui.core.media.embed import EmbeddingModel
    from simgui.core.indexing.pipeline import BATCH_SIZE

    model = EmbeddingModel(threads=os.cpu_count())  # every core: the model's own best, not indexing's share
    pixels = np.stack([model.preprocess(decode_file(str(p)).picture) for p in files[:BATCH_SIZE * 2]])
    batches = (len(files) + BATCH_SIZE - 1) // BATCH_SIZE
    start = time.perf_counter()
    for n in range(batches):
        model.run(pixels[(n % 2) * BATCH_SIZE:(n % 2 + 1) * BATCH_SIZE])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--formats", action="store_true", help="also HEIC and DNG rounds (their files made once: ~5 minutes)")
    parser.add_argument("--format-count", type=int, default=100)
    args = parser.parse_args()
    folder = WORK / "camera"
    files = make_camera_jpegs(folder, args.count)
    if len(list(folder.glob("*.jpg"))) > args.count:
        raise SystemExit(f"{folder} holds more than --count files: remove it or raise --count")
    megabytes = sum(os.path.getsize(p) for p in files) / 1e6
    print(f"{len(files)} JPEGs of 4000x3000, {megabytes:.0f} MB, {os.cpu_count()} cores")
    best: dict[str, float] = {}
    for round_ in range(args.rounds):
        for name, run in (("simgui-cli index (whole process)", lambda: time_simgui(folder)),
                          ("czkawka find_similar", lambda: time_czkawka(folder)),
                          ("decode floor (read+hash+decode)", lambda: time_decode_floor(files)),
                          ("model floor (inference only)", lambda: time_model_floor(files))):
            seconds = run()
            best[name] = min(best.get(name, seconds), seconds)
            print(f"round {round_ + 1}: {name}: {seconds:.1f} s", file=sys.stderr)
    rates = {name: len(files) / s for name, s in best.items()}
    ours = rates["simgui-cli index (whole process)"]
    floor = min(rates["decode floor (read+hash+decode)"], rates["model floor (inference only)"])
    print("\n| what | seconds | images/s | simgui / this |")
    print("|---|---|---|---|")
    for name, rate in rates.items():
        print(f"| {name} | {best[name]:.1f} | {rate:.1f} | {ours / rate:.2f} |")
    print(f"\nsimgui vs czkawka: {ours / rates['czkawka find_similar']:.2f}x; "
          f"simgui vs slower floor: {ours / floor:.0%}")
    if args.formats:
        formats_round(args.format_count)


def formats_round(count: int) -> None:
    """simgui-cli index on phone HEICs and camera DNGs (issue 13's targets: 20 and 25 images/s)."""
    print("\n| files | simgui-cli index, seconds (best of 2) | images/s | target |")
    print("|---|---|---|---|")
    for name, make, target in (("12 MP HEIC with thumbnail", make_phone_heics, 20),
                               ("12 MP DNG with full-size preview", make_raw_dngs, 25)):
        folder = WORK / ("heic" if "HEIC" in name else "dng")
        files = make(folder, count)
        seconds = min(time_simgui(folder) for _ in range(2))
        print(f"| {len(files)} {name} | {seconds:.1f} | {len(files) / seconds:.1f} | >= {target} |")


if __name__ == "__main__":
    main()
