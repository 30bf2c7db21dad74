"""Video clips: read from real H.264 files (made from real photos, tests/video_files.py), grouped by the clip
rule, searched, and moved and brought back through the journal byte for byte."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from conftest import cli, photo, snapshot
from simgui.core.matching.clips import ClipMatches, ClipSignature, cluster_clips, compare_clips
from simgui.core.matching.rule import Kind
from simgui.core.media.decode import DecodeError
from simgui.core.media.video import read_clip
from simgui.core.storage.store import ClipFrameSet
from video_files import (CameraMove, black_frames, camera_frames, letterboxed, photo_clip, reencode, resized,
                         watermarked, write_clip)


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory) -> Path:
    """An original clip and the copies a library collects, another take of its scene, and two clips of other
    photos that share only a black intro with each other."""
    folder = tmp_path_factory.mktemp("clips")
    original = photo_clip(photo("astronaut"), folder / "astronaut.mp4", seconds=6, size=(480, 270),
                          keyframe_seconds=1.0)
    reencode(original, folder / "astronaut_480.mp4", resized(160), crf=32)  # a messenger's copy: one keyframe
    reencode(original, folder / "astronaut_trimmed.mp4", start=2.0)
    reencode(original, folder / "astronaut_letterboxed.mp4", letterboxed)
    reencode(original, folder / "astronaut_watermarked.mp4", watermarked)
    photo_clip(photo("astronaut"), folder / "astronaut_take2.mp4", seconds=6, size=(480, 270),
               move=CameraMove((0.65, 0.3, 1.3), (0.3, 0.6, 0.9)), keyframe_seconds=1.0)
    for name in ("coffee", "chelsea"):
        still = Image.open(photo(name)).convert("RGB")
        frames = [*black_frames(2.0, 25, (480, 270)), *camera_frames(still, 4.0, 25, (480, 270))]
        write_clip(folder / f"intro_{name}.mp4", iter(frames), keyframe_seconds=1.0)
    return folder


def _signature(content: str, times: list[float], vectors: np.ndarray, blank: list[bool] | None = None,
               thumbs: np.ndarray | None = None, duration: float | None = None, aspect: float = 1.0
               ) -> ClipSignature:
    frames = ClipFrameSet(np.array(times), vectors, np.array(blank or [False] * len(times)),
                          _pictures_of(vectors) if thumbs is None else thumbs, aspect)
    return ClipSignature(content, duration or times[-1] + 1, frames)


def _pictures_of(vectors: np.ndarray) -> np.ndarray:
    """A thumbnail for each made-up frame: one picture per moment (the same vector, the same picture)."""
    pictures = []
    for vector in vectors:
        cells = np.random.default_rng(list(vector.tobytes())).integers(0, 256, (4, 4), np.uint8)
        pictures.append(np.asarray(Image.fromarray(cells).resize((32, 32), Image.BILINEAR), np.uint8))
    return np.stack(pictures)


def _camera(path: list[tuple[float, float]], part: float = 0.5, crop: tuple[float, float, float] | None = None
            ) -> np.ndarray:
    """Thumbnails of a camera moving over a real photo: a window of `part` of its sides at each (left, top) of
    `path`; `crop` (left, top, size, as shares of the window): a fixed part of each window, scaled to fill."""
    grey = Image.open(photo("astronaut")).convert("L")
    side = grey.width * part
    thumbs = []
    for x, y in path:
        left, top, size = (x, y, 1.0) if crop is None else (x + crop[0] * part, y + crop[1] * part, crop[2])
        box = (left * grey.width, top * grey.height, left * grey.width + side * size, top * grey.height + side * size)
        thumbs.append(np.asarray(grey.resize((32, 32), Image.BILINEAR, box=box), np.uint8))
    return np.stack(thumbs)


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


# the clip rule, on signatures made up for it (no model) --------------------------------------------------------
def test_a_trim_is_near_at_its_time_offset_and_the_same_frames_shuffled_are_not():
    rng = np.random.default_rng(1)
    scenes = _unit(rng.normal(size=(10, 8)))
    whole = _signature("a", list(range(10)), scenes)
    trimmed = _signature("b", [t - 3 for t in range(3, 9)], scenes[3:9])
    assert compare_clips(whole, trimmed).kind is Kind.NEAR
    assert compare_clips(trimmed, whole) == compare_clips(whole, trimmed)
    shuffled = _signature("c", list(range(6)), scenes[[8, 3, 6, 4, 7, 5]])  # every frame seen, out of step
    assert compare_clips(whole, shuffled).coverage < 0.8
    assert compare_clips(whole, shuffled).kind is not Kind.NEAR


def test_clips_that_share_only_a_blank_or_a_logo_intro_are_not_near():
    rng = np.random.default_rng(2)
    logo = _unit(rng.normal(size=(1, 8)))
    a = _unit(rng.normal(size=(8, 8)))
    b = _unit(rng.normal(size=(8, 8)))
    intro = np.repeat(logo, 3, axis=0)
    first = _signature("a", list(range(11)), np.concatenate([intro, a]))
    second = _signature("b", list(range(11)), np.concatenate([intro, b]))
    assert compare_clips(first, second).kind is Kind.DIFFERENT
    black = _signature("c", [0, 1], intro[:2], blank=[True, True])
    assert compare_clips(black, _signature("d", [0, 1], intro[:2], blank=[True, True])).kind is Kind.DIFFERENT


def test_frames_seen_alike_but_framed_otherwise_are_another_take_not_the_same_footage():
    """The model sees every frame alike; the thumbnails tell: a copy shows the same picture, or one fixed part of
    it; another take's camera goes its own way, so no one part of the other clip fits it all along."""
    scenes = _unit(np.ones((8, 8)) + np.random.default_rng(3).normal(scale=0.01, size=(8, 8)))
    pan = [(0.05 + 0.05 * t, 0.2) for t in range(8)]
    original = _signature("a", list(range(8)), scenes, thumbs=_camera(pan))
    for name, thumbs in (("copy", _camera(pan)), ("zoomed to fill", _camera(pan, crop=(0.1, 0.05, 0.8)))):
        assert compare_clips(original, _signature(name, list(range(8)), scenes, thumbs=thumbs)).kind is Kind.NEAR, name
    other_take = _camera([(0.1 + 0.03 * t, 0.22 + 0.02 * t) for t in range(8)])  # slower, and drifting down
    assert compare_clips(original, _signature("take", list(range(8)), scenes, thumbs=other_take)).kind is Kind.SIMILAR


def test_a_clip_cut_to_a_portrait_shape_is_the_same_footage_as_its_landscape_original():
    """A 16:9 clip cut to 9:16 for a phone's feed keeps a third of the width and the whole height: a part of
    that shape (thumbnails are squashed square, so only the clips' aspects tell it)."""
    grey = Image.open(photo("astronaut")).convert("L")
    side = grey.width
    wide, tall = [], []
    for t in range(8):
        left, top, width, height = (0.1 + 0.03 * t) * side, 0.3 * side, 0.5 * side, 0.5 * side * 9 / 16
        wide.append(grey.resize((32, 32), Image.BILINEAR, box=(left, top, left + width, top + height)))
        middle, cut = left + width / 2, height * 9 / 16
        tall.append(grey.resize((32, 32), Image.BILINEAR, box=(middle - cut / 2, top, middle + cut / 2, top + height)))
    scenes = _unit(np.ones((8, 8)) + np.random.default_rng(5).normal(scale=0.01, size=(8, 8)))
    landscape = _signature("a", list(range(8)), scenes, thumbs=np.stack(wide), aspect=16 / 9)
    portrait = _signature("b", list(range(8)), scenes, thumbs=np.stack(tall), aspect=9 / 16)
    assert compare_clips(landscape, portrait).kind is Kind.NEAR


def test_kept_verdicts_group_a_library_after_a_merge_as_a_fresh_grouping_would():
    rng = np.random.default_rng(4)
    scenes = [_unit(rng.normal(size=(6, 8))) for _ in range(3)]
    signatures = [_signature(f"{n}{copy}", list(range(6)), scenes[n])
                  for n in range(3) for copy in "ab"]
    kept = ClipMatches()
    first = cluster_clips(signatures, kept)
    assert first[Kind.NEAR] == [[0, 1], [2, 3], [4, 5]]
    assert cluster_clips(signatures, kept) == first
    after_merge = [s for s in signatures if s.content != "1b"]  # one copy went to the trash
    assert cluster_clips(after_merge, kept) == cluster_clips(after_merge, ClipMatches())


# reading real files ---------------------------------------------------------------------------------------------
def test_a_clip_is_read_from_frames_spread_over_it(clip_folder):
    clip = read_clip(str(clip_folder / "astronaut.mp4"))
    assert (clip.info.width, clip.info.height, clip.info.codec) == (480, 270, "h264")
    assert clip.info.duration == pytest.approx(6.0, abs=0.1)
    assert clip.times[0] == 0 and clip.times[-1] >= 4.5 and np.all(np.diff(clip.times) > 0)
    assert not any(clip.blank)
    # a copy with a single keyframe still gets frames where the original has them
    copy = read_clip(str(clip_folder / "astronaut_480.mp4"))
    assert len(copy.times) == len(clip.times)
    assert np.allclose(copy.times, clip.times, atol=0.1)


def test_a_black_intro_is_read_as_blank(clip_folder):
    clip = read_clip(str(clip_folder / "intro_coffee.mp4"))
    assert clip.blank[0] and not clip.blank[-1]


@pytest.mark.parametrize("content, reason", [
    (b"this is a text file, not a video\n" * 100, "not a video"),
    (None, "no video in it"),
    (photo("coffee").read_bytes(), "a picture \\(JPEG\\) named like a video clip"),
])
def test_a_file_that_is_no_video_is_refused_with_a_reason(tmp_path, content, reason):
    path = tmp_path / "clip.mp4"
    if content is None:  # sound only: an MP4 with one AAC stream
        with av.open(str(path), "w") as out:
            stream = out.add_stream("aac", rate=44100)
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate = 44100
            for _ in range(20):
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode(None):
                out.mux(packet)
    else:
        path.write_bytes(content)
    with pytest.raises(DecodeError, match=reason):
        read_clip(str(path))


def test_a_truncated_clip_is_read_as_far_as_it_goes_or_refused(clip_folder, tmp_path):
    data = (clip_folder / "astronaut.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[:len(data) // 2])
    try:
        clip = read_clip(str(cut))
    except DecodeError as exc:
        assert str(exc)
    else:
        assert clip.pictures


# the library: groups, query, compare, file actions --------------------------------------------------------------
@pytest.fixture(scope="module")
def clip_library(clip_folder, tmp_path_factory) -> Path:
    library = tmp_path_factory.mktemp("clip-library")
    result = cli(library, "index", str(clip_folder))
    assert result.returncode == 0, result.stderr
    return library


def _groups(library: Path) -> list[dict]:
    result = cli(library, "groups", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["groups"]


def test_copies_of_a_clip_are_one_near_group_and_its_other_take_and_the_intros_are_not_in_it(clip_library):
    groups = _groups(clip_library)
    near = [{Path(m["path"]).name for m in g["members"]} for g in groups if g["kind"] == "near"]
    assert near == [{"astronaut.mp4", "astronaut_480.mp4", "astronaut_trimmed.mp4", "astronaut_letterboxed.mp4",
                     "astronaut_watermarked.mp4"}]
    keeper = next(g for g in groups if g["kind"] == "near")["keeper"]
    assert Path(keeper).name in ("astronaut.mp4", "astronaut_letterboxed.mp4", "astronaut_watermarked.mp4")
    member = next(m for g in groups for m in g["members"] if m["path"].endswith("astronaut_trimmed.mp4"))
    assert member["format"] == "VIDEO" and member["codec"] == "h264" and member["duration"] == pytest.approx(4, abs=0.2)


def test_query_and_compare_give_the_verdict_groups_gives(clip_library, clip_folder):
    result = cli(clip_library, "query", str(clip_folder / "astronaut_trimmed.mp4"), "--top", "10", "--json")
    verdicts = {Path(r["path"]).name: r["verdict"] for r in json.loads(result.stdout)[0]["results"]}
    assert verdicts["astronaut_trimmed.mp4"] == "exact" and verdicts["astronaut.mp4"] == "near"
    assert verdicts.get("astronaut_take2.mp4") != "near" and "intro_coffee.mp4" not in verdicts
    pairs = {("astronaut.mp4", "astronaut_480.mp4"): "near", ("astronaut.mp4", "astronaut_take2.mp4"): None,
             ("intro_coffee.mp4", "intro_chelsea.mp4"): "different"}
    for (a, b), expected in pairs.items():
        answer = json.loads(cli(clip_library, "compare", str(clip_folder / a), str(clip_folder / b), "--json").stdout)
        assert answer["verdict"] == expected if expected else answer["verdict"] != "near"


def test_a_photo_finds_the_clips_made_of_it(clip_library):
    result = cli(clip_library, "query", str(photo("astronaut")), "--json")
    found = {Path(r["path"]).name: r["verdict"] for r in json.loads(result.stdout)[0]["results"]}
    assert "astronaut.mp4" in found and set(found.values()) == {"similar"}


def test_merging_clips_and_undoing_brings_every_byte_back(clip_folder, tmp_path):
    folder = tmp_path / "clips"
    shutil.copytree(clip_folder, folder)
    library = tmp_path / "library"
    assert cli(library, "index", str(folder)).returncode == 0
    before = snapshot(folder)
    merged = cli(library, "merge", str(folder / "astronaut.mp4"), str(folder / "astronaut_480.mp4"),
                 str(folder / "astronaut_trimmed.mp4"), "--json")
    assert merged.returncode == 0, merged.stderr
    assert not (folder / "astronaut_480.mp4").exists() and (folder / "astronaut.mp4").read_bytes() == \
        before[str(folder / "astronaut.mp4")]  # a clip keeper is never rewritten
    assert cli(library, "delete", str(folder / "astronaut_take2.mp4")).returncode == 0
    assert cli(library, "undo").returncode == 0
    assert cli(library, "undo").returncode == 0
    assert snapshot(folder) == before


def test_a_live_photos_motion_part_is_its_photos_sidecar_not_a_clip(tmp_path, clip_folder):
    folder = tmp_path / "phone"
    folder.mkdir()
    shutil.copy(photo("coffee"), folder / "IMG_0001.JPG")
    shutil.copy(clip_folder / "intro_coffee.mp4", folder / "IMG_0001.MOV")
    shutil.copy(clip_folder / "intro_coffee.mp4", folder / "IMG_0002.MOV")  # a clip of its own
    library = tmp_path / "library"
    assert cli(library, "index", str(folder)).returncode == 0
    stats = json.loads(cli(library, "stats", "--json").stdout)
    assert stats["images"] == 2  # the photo and IMG_0002.MOV
    assert cli(library, "delete", str(folder / "IMG_0001.JPG")).returncode == 0
    assert not (folder / "IMG_0001.MOV").exists() and (folder / "IMG_0002.MOV").exists()
    assert cli(library, "undo").returncode == 0
    assert (folder / "IMG_0001.MOV").exists()


def test_a_clip_card_shows_its_length_and_codec_and_the_window_counts_clips(clip_library):
    from simgui.core.library import Library
    from simgui.gui.group_cards import card_lines, header_text
    from simgui.gui.texts import photos_text

    library = Library(clip_library)
    try:
        group = next(g for g in library.groups() if g.kind == "near")
        stats = library.stats()
        (_, files, clips, _), = library.folders()
    finally:
        library.close()
    trimmed = next(m for m in group.members if m.image.path.endswith("astronaut_trimmed.mp4"))
    lines = [text for text, _ in card_lines(trimmed)]
    assert lines[2] == "480×270 · 0:04" and lines[3].endswith("· h264")
    assert header_text(group).startswith("near · 5 clips ·")
    assert photos_text(stats["images"], stats["clips"]) == "8 clips"
    assert photos_text(files, clips) == "8 clips"  # the sidebar's count of the folder


def test_a_file_that_takes_a_checked_clips_name_while_the_action_runs_is_left_where_it_is(clip_folder, tmp_path):
    """The checks of a whole action come before its moves, and hashing a big clip takes seconds: a file put
    in the place of an already checked one meanwhile must not go to the trash in its stead (undo would not
    bring it back: it is not the file that was trashed)."""
    folder = tmp_path / "clips"
    folder.mkdir()
    shutil.copy(clip_folder / "astronaut.mp4", folder / "a_first.mp4")
    shutil.copy(clip_folder / "intro_coffee.mp4", folder / "b_big.mp4")
    with open(folder / "b_big.mp4", "r+b") as f:  # 3 GB of holes after the clip: seconds to hash, no disk used
        f.truncate((folder / "b_big.mp4").stat().st_size + (3 << 30))
    precious = tmp_path / "precious.jpg"
    shutil.copy(photo("chelsea"), precious)
    library = tmp_path / "library"
    assert cli(library, "index", str(folder)).returncode == 0
    child = subprocess.Popen([sys.executable, "-m", "simgui.cli", "--library", str(library), "delete",
                              str(folder / "a_first.mp4"), str(folder / "b_big.mp4")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    big = str(folder / "b_big.mp4")
    while child.poll() is None and big not in _open_files(child.pid):
        time.sleep(0.005)
    assert child.poll() is None, "the action ended before its big clip was being checked"
    os.rename(precious, folder / "a_first.mp4")  # another file takes the checked one's name
    out, err = child.communicate(timeout=600)
    assert (folder / "a_first.mp4").read_bytes() == photo("chelsea").read_bytes(), err
    assert "changed while the action ran" in out + err


def _open_files(pid: int) -> set[str]:
    """The paths a running process holds open; a descriptor closed while they are read is left out (reading its
    link then fails: the test once failed on that race, not on what it checks)."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return set()
    found = set()
    for fd in fds:
        try:
            found.add(os.path.realpath(os.readlink(f"/proc/{pid}/fd/{fd}")))
        except OSError:
            continue
    return found


@pytest.mark.parametrize("loss", ["DELETE FROM clip_signatures",
                                  "UPDATE meta SET value = '1' WHERE key = 'clip_signature_format'",
                                  "UPDATE clip_signatures SET thumbs = substr(thumbs, 1, length(blank) * 8)"])
def test_an_unchanged_clip_whose_signature_is_gone_is_read_again(clip_folder, tmp_path, loss):
    """Signatures made another way (an earlier version's, or rows it wrote one column off into this version's
    table: a dHash where the thumbnail goes) are dropped at the next open; dropped or lost, they leave clips
    unsigned: the next update reads them again, though their files did not change, or their groups would be
    gone for good."""
    import sqlite3

    library = tmp_path / "library"
    assert cli(library, "index", str(clip_folder)).returncode == 0
    with sqlite3.connect(library / "library.db") as db:
        db.execute(loss)
    assert not [g for g in _groups(library) if g["kind"] == "near"]
    assert cli(library, "index", str(clip_folder)).returncode == 0
    assert [g for g in _groups(library) if g["kind"] == "near"]
