"""The live library under load: a 2,000-photo burst, and a 500-photo folder rename.

    python benchmarks/watch.py [--burst 2000] [--rename 500]

1. 2,000 distinct JPEGs are copied into a watched root at once: every one must
   be indexed exactly once (one model run each), and the process must go idle
   afterwards (CPU time over the next 3 s).
2. A folder holding 500 indexed photos is renamed: the paths must follow
   within 5 s with zero model runs.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from conftest import PHOTOS  # noqa: E402  (the test photos: real, small, licence-clean)

from simgui.core.library import Library  # noqa: E402
from simgui.core.jobs import Inbox, JobQueue, queued_watcher  # noqa: E402


def make_photos(folder: Path, count: int, seed: int) -> None:
    """Distinct photos: random windows of the test photos, so every file is new content."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = [Image.open(p).convert("RGB") for p in PHOTOS]
    rng = np.random.default_rng(seed)
    for n in range(count):
        img = sources[n % len(sources)]
        w, h = img.size
        cw, ch = int(w * rng.uniform(0.5, 0.9)), int(h * rng.uniform(0.5, 0.9))
        x, y = int(rng.integers(0, w - cw)), int(rng.integers(0, h - ch))
        img.crop((x, y, x + cw, y + ch)).save(folder / f"p{n:05d}.jpg", quality=85)


def wait_until(condition, timeout: float) -> float | None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if condition():
            return time.monotonic() - start
        time.sleep(0.05)
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--burst", type=int, default=2000)
    parser.add_argument("--rename", type=int, default=500)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="simgui-watch-"))
    staged, root = work / "staged", work / "root"
    make_photos(staged / "burst", args.burst, seed=1)
    make_photos(root / "album", args.rename, seed=2)
    library = Library(work / "library")
    library.add_roots([str(root)])
    library.update()
    jobs = JobQueue(library, Inbox().post)
    watcher = queued_watcher(jobs)
    watcher.start()
    watcher.ready.wait()
    count = lambda: library.store.counts()["images"]  # noqa: E731

    start = time.monotonic()
    shutil.copytree(staged / "burst", root / "burst")
    print(f"copied {args.burst} files in {time.monotonic() - start:.1f} s", file=sys.stderr)
    done = wait_until(lambda: count() == args.rename + args.burst and watcher.idle.is_set(), timeout=600)
    print(f"burst: all {count() - args.rename} indexed after {done:.1f} s; model runs {watcher.totals.embedded} "
          f"(expected {args.burst}); watcher updates {watcher.updates}")
    cpu = time.process_time()
    time.sleep(3)
    print(f"idle afterwards: {time.process_time() - cpu:.3f} s of CPU in 3 s")

    before = watcher.totals.embedded
    os.rename(root / "album", root / "album renamed")
    moved = wait_until(lambda: len(library.store.images("path LIKE ?", (f"{root}/album renamed/%",))) == args.rename,
                       timeout=30)
    print(f"rename of a folder of {args.rename}: paths updated after {moved:.2f} s; "
          f"model runs {watcher.totals.embedded - before}")
    watcher.stop()
    jobs.close()
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
