"""Video clips: what a clip is (length, size, codec, bit rate) and the frames its signature is made of.

A clip's frames are taken every MIN_STEP seconds or more (MAX_FRAMES at most), from keyframes where there are
keyframes (a keyframe needs no other frame), else decoded from the keyframe before: the other packets are read
past, never decoded, so a phone's clip (a keyframe a second) is read far faster than it plays. The frames
are scaled down by FFmpeg (swscale) to about the model's working size, turned upright by the clip's display
rotation, and checked for being blank (black fades, a uniform card), which says nothing about what a clip
shows. Time and memory per clip are bounded: a deadline, a frame-size limit, and a fixed number of frames.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from simgui.core.media.decode import DecodeError, opened_regular_file
from simgui.core.media.formats import BY_NAME, HEAD_BYTES, sniff_format

MAX_FRAMES = 32  # frames of a clip's signature: one per 2 s of a minute-long clip
MIN_STEP = 1.0  # seconds between two frames of a short clip's signature
SAMPLE_SIDE = 448  # a frame's long side once scaled: the model sees 224, framing looks for bars at this size
MAX_FRAME_PIXELS = 7680 * 4320  # 8K: larger frames are refused before a decoder is asked for them (50 MB each)
BLANK_SPREAD = 8.0  # a frame whose grey levels spread less than this (std. dev.) is blank: a fade, a black card


@dataclass
class ClipInfo:
    duration: float  # seconds
    width: int  # as shown (a phone's portrait clip, stored turned, is taller than wide)
    height: int
    codec: str  # FFmpeg's name: h264, hevc, vp9, mpeg4...
    bit_rate: int  # bits a second, the whole file's
    captured_at: str | None  # the container's creation time (ISO 8601), where the camera wrote one


@dataclass
class ClipFrames:
    info: ClipInfo
    times: list[float] = field(default_factory=list)  # seconds from the start
    pictures: list[Image.Image] = field(default_factory=list)  # upright, long side SAMPLE_SIDE or less
    blank: list[bool] = field(default_factory=list)

    @property
    def poster(self) -> Image.Image:
        """The picture that stands for the clip: its first frame that is not blank (past a black fade), else
        its first."""
        return next((p for p, blank in zip(self.pictures, self.blank) if not blank), self.pictures[0])


def _av():
    import av  # imported on first use: the app starts without FFmpeg's libraries loaded
    return av


def _creation_time(metadata: dict) -> str | None:
    found = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)", metadata.get("creation_time", ""))
    return found.group(1) if found and not found.group(1).startswith("1970") else None


def _duration(container, stream) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return (container.duration or 0) / 1_000_000


def is_blank(picture: Image.Image) -> bool:
    grey = np.asarray(picture.convert("L").resize((32, 32), Image.BILINEAR), np.float32)
    return float(grey.std()) < BLANK_SPREAD


def _upright(frame, rotation: int) -> Image.Image:
    scale = SAMPLE_SIDE / max(frame.width, frame.height)
    width, height = frame.width, frame.height
    if scale < 1:
        width, height = max(2, round(width * scale)), max(2, round(height * scale))
    picture = frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA").to_image()
    # the display matrix's turn, clockwise as the old "rotate" tag says it (a phone held upright)
    return picture.rotate(-rotation, expand=True) if rotation % 360 else picture


def read_clip(path: str, seconds: float = 30.0, max_frames: int = MAX_FRAMES) -> ClipFrames:
    """The clip's facts and up to `max_frames` frames spread evenly over it, or DecodeError saying why not (no
    video in it, damaged, too large, or over `seconds` to read)."""
    av = _av()
    deadline = time.monotonic() + seconds
    _refuse_pictures(path)
    try:
        container = av.open(path, metadata_errors="ignore", timeout=seconds)
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise DecodeError(f"not a video FFmpeg can read ({exc})") from exc
    with container:
        if not container.streams.video:
            raise DecodeError("no video in it (sound only?)")
        stream = container.streams.video[0]
        context = stream.codec_context
        if not context.width or not context.height:
            raise DecodeError("the video's frame size is unknown (damaged header)")
        if context.width * context.height > MAX_FRAME_PIXELS:
            raise DecodeError(f"frames too large ({context.width}x{context.height})")
        # ... and so is any later frame larger than the header said (each MJPEG frame has a size of its own)
        context.options = {"max_pixels": str(MAX_FRAME_PIXELS)}
        # frame threads would hold each frame back until later packets come: what is fed next depends on
        # which frames came out, so the decoder must answer each packet at once
        stream.thread_type = "SLICE"
        # frames no other frame refers to (most B-frames) are never decoded: between keyframes a wanted frame
        # then comes a frame or two late, and a re-encode's frames are read in 0.64 of the time (1.22 s
        # against 1.90 s for a minute of 1080p with a keyframe every 8 s)
        context.skip_frame = "NONREF"
        info = ClipInfo(_duration(container, stream), context.width, context.height, context.name or "unknown",
                        int(container.bit_rate or 0), _creation_time(dict(container.metadata)))
        found = ClipFrames(info)
        try:
            plan = _plan(_keyframe_times(container, stream, deadline), info.duration, max_frames)
            container.seek(0, stream=stream)
            _decode_planned(container, stream, plan, found, deadline)
        except av.FFmpegError as exc:
            if not found.pictures:
                raise DecodeError(f"damaged video ({exc})") from exc
    if not found.pictures:
        raise DecodeError("no frame of the video could be decoded")
    return found


def _refuse_pictures(path: str) -> None:
    """Only a regular file is opened (FFmpeg would wait on a FIFO for ever), and a photo named like a clip
    stays a photo's file: FFmpeg would read it as a one-frame clip, and the same bytes under a picture's name
    would be a photo of the library too."""
    with opened_regular_file(path) as f:
        kind = sniff_format(f.read(HEAD_BYTES), path)
    if kind is not None and kind != "VIDEO":
        raise DecodeError(f"a picture ({BY_NAME[kind].label}) named like a video clip")


@dataclass
class _Target:
    at: float  # the frame wanted: the first at or after this time
    key: float  # the keyframe its decoding starts from (the target itself, when a keyframe is close enough)


def _keyframe_times(container, stream, deadline: float) -> list[float]:
    """The keyframes' times, from the packets alone (nothing decoded)."""
    keys = []
    for packet in container.demux(stream):
        if time.monotonic() > deadline:
            raise DecodeError("reading took too long")
        if packet.is_keyframe and packet.pts is not None:
            keys.append(float(packet.pts * packet.time_base))
    return sorted(keys)


def _plan(keys: list[float], duration: float, max_frames: int) -> list[_Target]:
    """Frames every `step` seconds: a keyframe where one is within half a step (decoded alone), else the frame
    at that time, decoded from the keyframe before it. A phone's clip (a keyframe a second) is read from
    keyframes alone; a re-encode with a keyframe every 10 s still gets its frames where the original has its."""
    if not keys:
        return []
    step = max(MIN_STEP, duration / max_frames)
    targets: list[_Target] = []
    at = keys[0]
    while at < max(duration, keys[0] + 1e-3) and len(targets) < max_frames:
        nearest = min(keys, key=lambda k: abs(k - at))
        if abs(nearest - at) <= step / 2:
            if not targets or nearest > targets[-1].at:
                targets.append(_Target(nearest, nearest))
        else:
            targets.append(_Target(at, max((k for k in keys if k <= at), default=keys[0])))
        at += step
    return targets


def _decode_planned(container, stream, plan: list[_Target], found: ClipFrames, deadline: float) -> None:
    """Feeds the decoder the planned keyframes, and the packets from a keyframe to each frame wanted between
    keyframes; every other packet is read past, never decoded."""
    pending = list(plan)
    window = False  # feeding every packet: a wanted frame lies between keyframes
    # ... or a keyframe was fed and has not come out: a clip with B-frames holds it back for reordering
    # until the next packets come
    awaiting = False

    def take(frame) -> None:
        nonlocal window, awaiting
        at = float(frame.time or 0.0)
        if not pending or at < pending[0].at - 1e-3:
            return  # a frame before the one wanted: on the way to it, or held back from before
        _keep(found, frame)
        awaiting = False
        while pending and at >= pending[0].at - 1e-3:
            done = pending.pop(0)
        window = bool(pending) and pending[0].key == done.key and pending[0].at != pending[0].key

    for packet in container.demux(stream):
        if time.monotonic() > deadline:
            raise DecodeError("reading took too long")
        if not pending:
            return
        t = float(packet.pts * packet.time_base) if packet.pts is not None else None
        if packet.is_keyframe and t == pending[0].key:
            window = window or pending[0].at != t
            awaiting = True
        elif not (window or awaiting):
            continue  # read past: never decoded
        for frame in stream.decode(packet):
            take(frame)
    for frame in stream.decode(None):  # a last frame held for reordering
        if pending:
            take(frame)


def _keep(found: ClipFrames, frame) -> None:
    rotation = int(frame.rotation or 0) % 360
    if not found.pictures and rotation in (90, 270):  # shown turned: its size as shown
        found.info.width, found.info.height = found.info.height, found.info.width
    picture = _upright(frame, rotation)
    found.times.append(float(frame.time or 0.0))
    found.pictures.append(picture)
    found.blank.append(is_blank(picture))


def poster(path: str) -> Image.Image:
    """The picture that stands for a clip in a grid (ClipFrames.poster), from a short read of it."""
    return read_clip(path, seconds=10.0, max_frames=8).poster
