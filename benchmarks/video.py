"""Duplicate clips: pair precision and recall of `near`, per edit and per trap, and the speed of reading a clip.

No real footage can be had from the package registries, so clips are rendered from real photos (Debian's
wallpapers, scikit-image's photos; tests/video_files.py): a slow camera move over each, 1280x720 at 15 fps,
a keyframe a second (as a phone records), some with a black fade-in. Each original gets the copies a library
collects: re-encodes at three bit rates (x264's own keyframe placement, up to 10 s apart), a 480p copy, trims
of 10-50 % at either end or both, a letterboxed and a watermarked copy, a copy cropped to a random box of 72-92 %
of each side, scaled back up, and one cut to 4:3 at a random place (seeds 3, 5 and 7, built earlier, have the
centre 80 % as their crop and no 4:3 cut). The traps: other takes of the same
scene (another camera path over the same photo: `similar` at most, never `near`), and clips of different
photos that share only a black or a logo intro.

    python benchmarks/video.py [--seed 3] [--sources 12] [--speed]

A pair counts as found when both files are in one `near` or `exact` group. No peer runs here: czkawka's
similar-videos needs its command-line build and ffmpeg's command-line tools, neither of which its PyPI
package ships; a keyframe-dHash baseline (what perceptual-hash peers do, per frame) stands beside ours.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from dataset import CACHE, is_blank, load_source, skimage_files, wallpaper_files  # noqa: E402
from video_files import (CameraMove, black_frames, camera_frames, cropped_to, letterboxed, logo_frames,  # noqa: E402
                         reencode, resized, watermarked, write_clip)

SIZE = (1280, 720)
FPS = 15
SKIMAGE_COLOUR = {"astronaut.png", "chelsea.png", "coffee.png", "motorcycle_left.png", "rocket.jpg", "retina.jpg",
                  "hubble_deep_field.jpg"}


def sources(count: int, rng: random.Random) -> list[Path]:
    files = [p for p in wallpaper_files() if p.stat().st_size > 200_000] + \
            [p for p in skimage_files() if p.name in SKIMAGE_COLOUR]
    rng.shuffle(files)
    return files[:count]


def random_move(rng: random.Random) -> CameraMove:
    def point() -> tuple[float, float, float]:
        return rng.uniform(0.3, 0.7), rng.uniform(0.35, 0.65), rng.uniform(0.9, 1.4)
    return CameraMove(point(), point())


def build(out: Path, seed: int, count: int) -> dict[str, str]:
    """Writes the clips; returns file name -> family ("src3" for the copies of source 3, "take:src3:1" for a
    take of its own, "intro:..." for the clips that share only an intro)."""
    rng = random.Random(seed)
    truth: dict[str, str] = {}
    stills = [still for still in (load_source(path) for path in sources(count + 4, rng)) if not is_blank(still)]
    for n, still in enumerate(stills[:count]):
        family = f"src{n}"
        seconds = rng.uniform(8, 16)
        frames = camera_frames(still, seconds, FPS, SIZE, random_move(rng))
        if rng.random() < 0.5:
            frames = _chain(black_frames(0.6, FPS, SIZE), frames)
        original = out / f"{family}_original.mp4"
        write_clip(original, frames, fps=FPS, keyframe_seconds=1.0)
        truth[original.name] = family
        zoom = rng.uniform(0.72, 0.92)
        crop = (x := rng.uniform(0, 1 - zoom), y := rng.uniform(0, 1 - zoom), x + zoom, y + zoom)
        cut = (x := rng.uniform(0, 0.25), 0.0, x + 0.75, 1.0)
        copies = {
            "bitrate_low": dict(bit_rate=250_000), "bitrate_mid": dict(bit_rate=800_000),
            "bitrate_high": dict(bit_rate=2_500_000), "res480": dict(edit=resized(480)),
            "letterbox": dict(edit=letterboxed), "watermark": dict(edit=watermarked),
            "crop": dict(edit=cropped_to(crop)), "crop_4x3": dict(edit=cropped_to(cut, keep_size=False)),
        }
        for name, options in copies.items():
            edit = options.pop("edit", lambda f, t: f)
            target = out / f"{family}_{name}.mp4"
            reencode(original, target, edit, **options)
            truth[target.name] = family
        for name, share in (("trim_start", (rng.uniform(0.1, 0.5), 0.0)), ("trim_end", (0.0, rng.uniform(0.1, 0.5))),
                            ("trim_both", (rng.uniform(0.05, 0.25), rng.uniform(0.05, 0.25)))):
            target = out / f"{family}_{name}.mp4"
            reencode(original, target, start=share[0] * seconds, end=seconds * (1 - share[1]))
            truth[target.name] = family
        take = out / f"{family}_take2.mp4"
        write_clip(take, camera_frames(still, rng.uniform(6, 12), FPS, SIZE, random_move(rng)), fps=FPS,
                   keyframe_seconds=1.0)
        truth[take.name] = f"take:{family}"
    others = stills[count:]  # photos of no family: two clips of two of them after one intro, black or a logo
    for n in range(0, len(others) - 1, 2):
        intro = ("black", lambda: black_frames(2.0, FPS, SIZE)) if n % 4 == 0 else \
            ("logo", lambda: logo_frames(3.0, FPS, SIZE, "CHANNEL"))
        for still in (others[n], others[n + 1]):
            target = out / f"intro_{intro[0]}_{n}_{len(truth)}.mp4"
            body = camera_frames(still, rng.uniform(5, 9), FPS, SIZE, random_move(rng))
            write_clip(target, _chain(intro[1](), body), fps=FPS, keyframe_seconds=1.0)
            truth[target.name] = f"intro:{target.stem}"
    return truth


def _chain(*parts):
    for part in parts:
        yield from part


def edit_of(name: str) -> str:
    stem = Path(name).stem
    if stem.startswith("intro_"):
        return "intro"
    return stem.split("_", 1)[1]


def found_pairs(groups: list[dict], kinds: tuple[str, ...]) -> set[frozenset[str]]:
    pairs = set()
    for group in groups:
        if group["kind"] in kinds:
            names = [Path(m["path"]).name for m in group["members"]]
            pairs |= {frozenset(p) for p in combinations(names, 2)}
    return pairs


def score(truth: dict[str, str], near: set[frozenset[str]]) -> dict:
    names = sorted(truth)
    true_pairs = {frozenset(p) for p in combinations(names, 2) if truth[p[0]] == truth[p[1]]}
    hits = near & true_pairs
    per_edit: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # found, all pairs with the original
    for name in names:
        edit = edit_of(name)
        if edit in ("original", "take2", "intro"):
            continue
        original = f"{truth[name]}_original.mp4"
        per_edit[edit][1] += 1
        per_edit[edit][0] += frozenset((name, original)) in near
    wrong_by_trap: dict[str, int] = defaultdict(int)
    for pair in near - true_pairs:
        a, b = sorted(pair)
        trap = "take" if "take2" in a + b else "intro" if "intro" in a + b else "other"
        wrong_by_trap[trap] += 1
    return {"pairs": len(true_pairs), "found": len(hits), "wrong": len(near - true_pairs),
            "precision": len(hits) / len(near) if near else 1.0, "recall": len(hits) / len(true_pairs),
            "per_edit": {k: v[0] / v[1] for k, v in sorted(per_edit.items())}, "wrong_by_trap": dict(wrong_by_trap)}


def simgui_groups(folder: Path) -> tuple[list[dict], float, float]:
    """The groups, the seconds indexing took and the seconds the first grouping took (every pair compared)."""
    library = Path(tempfile.mkdtemp(prefix="simgui-video-lib-"))
    try:
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "simgui.cli", "--library", str(library), "index", str(folder)],
                       check=True, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        indexed = time.monotonic()
        out = subprocess.run([sys.executable, "-m", "simgui.cli", "--library", str(library), "groups", "--json"],
                             check=True, capture_output=True, text=True).stdout
        return json.loads(out)["groups"], indexed - started, time.monotonic() - indexed
    finally:
        shutil.rmtree(library, ignore_errors=True)


def dhash_groups(folder: Path, distance: int = 10, coverage: float = 0.8) -> list[dict]:
    """The baseline: each keyframe's dHash (as perceptual-hash peers hash a picture); two clips are a pair when
    most of the shorter one's keyframes have a keyframe within `distance` bits in the other."""
    from simgui.core.media.hashes import difference_hash
    from simgui.core.media.video import read_clip

    hashes = {}
    for path in sorted(folder.glob("*.mp4")):
        clip = read_clip(str(path))
        hashes[path] = [difference_hash(p) & (2 ** 64 - 1) for p, b in zip(clip.pictures, clip.blank) if not b]
    groups = []
    for a, b in combinations(hashes, 2):
        short, long = sorted((hashes[a], hashes[b]), key=len)
        if short and sum(any(bin(x ^ y).count("1") <= distance for y in long) for x in short) >= coverage * len(short):
            groups.append({"kind": "near", "members": [{"path": str(a)}, {"path": str(b)}]})
    return groups


def speed(out: Path) -> None:
    """A 1-minute 1080p H.264 clip as a phone records it (30 fps, a keyframe a second), and the same footage as
    a re-encode places its keyframes (x264's default: 8.3 s apart here), each indexed alone: simgui's whole
    index run against FFmpeg decoding every frame of it (what reading it as it plays costs)."""
    for name, keyframes in (("minute_1080p.mp4", 1.0), ("minute_1080p_reencoded.mp4", None)):
        clip = out / name
        if not clip.exists():
            still = load_source(skimage_files()[0], 2400)
            write_clip(clip, camera_frames(still, 60, 30, (1920, 1080), CameraMove()), fps=30,
                       keyframe_seconds=keyframes)
        _time_clip(clip)


def _time_clip(clip: Path) -> None:
    import av

    from simgui.core.media.video import read_clip

    started = time.monotonic()
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        frames = sum(1 for _ in container.decode(stream))
    every_frame = time.monotonic() - started
    started = time.monotonic()
    read = read_clip(str(clip))
    keyframes = time.monotonic() - started
    folder = Path(tempfile.mkdtemp(prefix="simgui-video-speed-"))
    try:
        clips, library = folder / "clips", folder / "library"
        clips.mkdir()
        shutil.copy(clip, clips / clip.name)
        subprocess.run([sys.executable, "-m", "simgui.cli", "--library", str(library), "index", str(clips)],
                       check=True, capture_output=True)
        shutil.copy(clip, clips / "again.mp4")
        with open(clips / "again.mp4", "ab") as f:
            f.write(b"\0")  # new bytes: read and embedded, not taken from the first
        out_text = subprocess.run([sys.executable, "-m", "simgui.cli", "--library", str(library), "index",
                                   str(clips)], check=True, capture_output=True, text=True)
        line = [l for l in (out_text.stdout + out_text.stderr).splitlines() if "embedded" in l][-1]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\n{clip.name}: 1-minute 1080p H.264 ({frames} frames, {len(read.times)} frames kept):")
    print(f"  FFmpeg decoding every frame: {every_frame:.2f} s")
    print(f"  simgui's keyframe read:      {keyframes:.2f} s  ({every_frame / keyframes:.0f}x faster)")
    print(f"  simgui-cli index of the clip (read, hash, model, store): {line.strip()}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--sources", type=int, default=12)
    parser.add_argument("--speed", action="store_true", help="also time a 1-minute 1080p clip")
    args = parser.parse_args()
    out = CACHE / f"video-{args.seed}-{args.sources}"
    if not (out / "truth.json").exists():
        out.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        truth = build(out, args.seed, args.sources)
        (out / "truth.json").write_text(json.dumps(truth, indent=1))
        print(f"built {len(truth)} clips in {time.monotonic() - started:.0f} s", file=sys.stderr)
    truth = json.loads((out / "truth.json").read_text())
    clips = out / "clips"
    if not clips.exists():
        clips.mkdir()
        for name in truth:
            (out / name).rename(clips / name)
    groups, seconds, grouping = simgui_groups(clips)
    ours = score(truth, found_pairs(groups, ("near", "exact")))
    baseline = score(truth, found_pairs(dhash_groups(clips), ("near",)))
    similar = found_pairs(groups, ("similar",))
    takes = sum(1 for p in similar if any("take2" in n for n in p))
    print(f"{len(truth)} clips, {ours['pairs']} true pairs, seed {args.seed}; simgui indexed them in {seconds:.1f} s "
          f"and grouped them in {grouping:.1f} s")
    print(f"{'':24}{'simgui':>10}{'dHash':>10}")
    for key in ("precision", "recall"):
        print(f"{'pair ' + key:24}{ours[key]:10.3f}{baseline[key]:10.3f}")
    print(f"{'wrong pairs':24}{ours['wrong']:10d}{baseline['wrong']:10d}")
    for trap in ("take", "intro", "other"):
        print(f"{'  wrong: ' + trap:24}{ours['wrong_by_trap'].get(trap, 0):10d}{baseline['wrong_by_trap'].get(trap, 0):10d}")
    print("recall per edit (pairs with the original):")
    for edit, value in ours["per_edit"].items():
        print(f"{'  ' + edit:24}{value:10.3f}{baseline['per_edit'][edit]:10.3f}")
    print(f"other takes found as similar: {takes} pairs")
    if args.speed:
        speed(CACHE)


if __name__ == "__main__":
    main()
